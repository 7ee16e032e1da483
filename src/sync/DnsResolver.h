#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

namespace chfleet::sync {

/// Why a DNS lookup gave no address. Not an exception: "cannot resolve" is an expected outcome that the
/// caller turns into a decision (no repair this cycle) and a message.
struct DnsFailure {
    enum class Kind {
        NotFound,       ///< NXDOMAIN: the name does not exist
        NoData,         ///< the name exists but has no A record
        Refused,        ///< the server answered REFUSED
        ServerFailure,  ///< SERVFAIL or NOTIMP
        Timeout,        ///< no answer in time
        Unreachable,    ///< the server's port refused the packets (ICMP port unreachable)
        BadInput,       ///< the name or the server address is malformed
        Other,          ///< anything else c-ares reports
    };
    Kind kind = Kind::Other;
    std::string message;  ///< for an administrator, e.g. "NXDOMAIN: failover.example.com does not exist"
};

/// The IPv4 addresses (dotted) of an A lookup, in the order the server gave them, or why there are none.
using DnsAnswer = tl::expected<std::vector<std::string>, DnsFailure>;

/// Resolves A records with c-ares, against one chosen DNS server (UDP, "ip" or "ip:port", like CH-Sync's
/// DNS_SERVER) or, without a server, with the system's configuration (/etc/hosts, then the servers of
/// /etc/resolv.conf). Every lookup has its own c-ares channel, so one resolver may be used from several
/// threads.
class DnsResolver {
  public:
    /// `server`: "" (system configuration), "10.0.0.53", "10.0.0.53:5353" or "[fd00::53]:53".
    /// `timeout`: the most one lookup takes, all `tries` (1 to 5) included.
    explicit DnsResolver(std::string server = {}, std::chrono::milliseconds timeout = std::chrono::seconds(3),
                         unsigned tries = 2);

    /// The A records of `name` (an exact name: no search domains are appended when a server is given).
    DnsAnswer resolveA(std::string_view name) const;

    /// "DNS server 10.0.0.53:53" or "the system resolver", for messages.
    std::string describeServer() const;

  private:
    std::string server_;
    std::chrono::milliseconds timeout_;
    unsigned tries_;
};

/// "nxdomain", "timeout", ...: a stable short name of a failure kind, for logs and metric labels.
std::string_view dnsFailureKindName(DnsFailure::Kind kind);

}  // namespace chfleet::sync
