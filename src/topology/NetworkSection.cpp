#include "topology/NetworkSection.h"

#include <arpa/inet.h>

#include <algorithm>

#include "topology/FleetSection.h"

namespace chfleet::topology {

namespace {

bool isIpv4(const std::string& text) {
    in_addr address{};
    return inet_pton(AF_INET, text.c_str(), &address) == 1;
}

bool isIpv6(const std::string& text) {
    in6_addr address{};
    return inet_pton(AF_INET6, text.c_str(), &address) == 1;
}

/// An address, or an address with a prefix length (10.0.0.0/8, fd00::/8).
bool isNetwork(const std::string& text) {
    size_t slash = text.find('/');
    std::string address = text.substr(0, slash);
    if (slash == std::string::npos) {
        return isIpv4(address) || isIpv6(address);
    }
    std::string prefix = text.substr(slash + 1);
    if (prefix.empty() || prefix.size() > 3 || !std::all_of(prefix.begin(), prefix.end(), ::isdigit)) {
        return false;
    }
    int bits = std::stoi(prefix);
    return (isIpv4(address) && bits <= 32) || (isIpv6(address) && bits <= 128);
}

ClientNetwork clientNetwork(const std::string& entry) {
    return isNetwork(entry) ? ClientNetwork{"ip", entry} : ClientNetwork{"host", entry};
}

class NetworkSectionReader : public SectionReader {
  public:
    void read(const YAML::Node& node, const std::string& path, FleetReading& reading) override {
        auto map = reading.mapping(node, path, {"listen_host", "allow", "stall_timeout_seconds"});
        if (!map) {
            return;
        }
        NetworkPolicy policy;
        if (auto listen = map->name("listen_host", false, isHostName, kHostRule)) {
            if (*listen != NetworkPolicy::kListenAll && *listen != NetworkPolicy::kListenNodeHost &&
                !isIpv4(*listen) && !isIpv6(*listen)) {
                reading.problems().add(map->lineAt("listen_host"), map->path("listen_host"),
                                       fmt::format("'{}' is not 'all', 'host' or an IP address", *listen));
            } else {
                policy.listen_host = *listen;
            }
        }
        if (const YAML::Node* allow = map->sequence("allow", false, true)) {
            for (size_t i = 0; i < allow->size(); ++i) {
                const YAML::Node& item = (*allow)[i];
                std::string item_path = itemPath(map->path("allow"), i);
                std::string value = item.IsScalar() ? item.Scalar() : "";
                bool network = value.find('/') != std::string::npos;
                if (network ? !isNetwork(value) : !isHostName(value)) {
                    reading.problems().add(lineOf(item), item_path,
                                           "expected an IP address, a network (10.0.0.0/8) or a host name");
                    continue;
                }
                policy.allow.push_back(value);
            }
        }
        if (auto stall = map->integer("stall_timeout_seconds", false, 0, 86400)) {
            policy.stall_timeout_seconds = static_cast<int>(*stall);
        }
        reading.fleet().sections.set(std::move(policy));
    }
};

[[maybe_unused]] const bool kSectionRegistered =
    registerFleetSection({"network", 50, [] { return std::make_unique<NetworkSectionReader>(); },
                          [](const Fleet& fleet, YAML::Emitter& out) {
                              const NetworkPolicy& policy = networkPolicy(fleet);
                              if (policy == NetworkPolicy{}) {
                                  return;
                              }
                              out << YAML::Key << "network" << YAML::Value << YAML::BeginMap;
                              out << YAML::Key << "listen_host" << YAML::Value << policy.listen_host;
                              if (!policy.allow.empty()) {
                                  out << YAML::Key << "allow" << YAML::Value << YAML::Flow << policy.allow;
                              }
                              out << YAML::Key << "stall_timeout_seconds" << YAML::Value
                                  << policy.stall_timeout_seconds;
                              out << YAML::EndMap;
                          }});

}  // namespace

const NetworkPolicy& networkPolicy(const Fleet& fleet) {
    static const NetworkPolicy kDefault;
    const auto* policy = fleet.sections.find<NetworkPolicy>();
    return policy != nullptr ? *policy : kDefault;
}

bool isLoopbackHost(std::string_view host) {
    return host == "localhost" || host == "::1" || (host.starts_with("127.") && isIpv4(std::string(host)));
}

std::string listenHost(const Fleet& fleet, const Node& node) {
    const std::string& configured = networkPolicy(fleet).listen_host;
    if (isLoopbackHost(node.host) || configured == NetworkPolicy::kListenNodeHost) {
        return node.host == "localhost" ? "127.0.0.1" : node.host;
    }
    if (configured != NetworkPolicy::kListenAll) {
        return configured;
    }
    return isIpv6(node.host) ? "::" : "0.0.0.0";
}

std::vector<ClientNetwork> clientNetworks(const Fleet& fleet) {
    std::vector<ClientNetwork> networks = {{"ip", "127.0.0.1"}, {"ip", "::1"}};
    auto add = [&](const std::string& entry) {
        ClientNetwork network = clientNetwork(entry == "localhost" ? "127.0.0.1" : entry);
        if (std::find(networks.begin(), networks.end(), network) == networks.end()) {
            networks.push_back(std::move(network));
        }
    };
    for (const Node* node : fleet.nodes()) {
        add(node->host);
    }
    for (const auto& entry : networkPolicy(fleet).allow) {
        add(entry);
    }
    return networks;
}

}  // namespace chfleet::topology
