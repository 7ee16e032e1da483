#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "topology/Fleet.h"

// The `network:` section of the fleet file: which address each server listens on, which clients, beside
// the fleet's own servers, may log in as the fleet user, and how long chfleet waits on a silent server. Read
// here (topology owns it: config rendering uses it) and registered with the fleet-file loader like any
// section (topology/FleetSection.h).
namespace chfleet::topology {

/// The `network:` section.
struct NetworkPolicy {
    static constexpr std::string_view kExtensionKey = "network";
    static constexpr std::string_view kListenAll = "all";
    static constexpr std::string_view kListenNodeHost = "host";

    /// "all" (default: every interface of the node), "host" (the node's own `host` address) or an address.
    std::string listen_host = std::string(kListenAll);
    /// Addresses, networks (CIDR) or host names that may log in as the fleet user beside the fleet's servers
    /// and loopback: where chfleet itself runs (ingest, sync, the operator's machine).
    std::vector<std::string> allow;
    /// How long a server may stay silent in the middle of a statement before chfleet counts it as not
    /// answering (clickhouse::HttpEndpoint::stall_timeout); 0 turns the watch off. --stall-timeout wins.
    int stall_timeout_seconds = 30;

    bool operator==(const NetworkPolicy&) const = default;
};

/// The fleet's network section (defaults when the file has none).
const NetworkPolicy& networkPolicy(const Fleet& fleet);

/// True for 127.0.0.0/8, ::1 and "localhost".
bool isLoopbackHost(std::string_view host);

/// The address `node`'s server listens on. A node whose host is a loopback address listens on that address
/// alone whatever the section says (local sandboxes share the machine with other fleets); otherwise "all"
/// renders 0.0.0.0 (:: for a node written as an IPv6 address), "host" the node's host.
std::string listenHost(const Fleet& fleet, const Node& node);

/// One entry of the fleet user's <networks>: <ip> for an address or network, <host> for a host name.
struct ClientNetwork {
    std::string element;  ///< "ip" or "host"
    std::string value;

    bool operator==(const ClientNetwork&) const = default;
};

/// Who may log in as the fleet user: loopback, every node's host, then `allow`; each once, in that order.
std::vector<ClientNetwork> clientNetworks(const Fleet& fleet);

}  // namespace chfleet::topology
