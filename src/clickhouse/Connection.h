#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/Exception.h"

namespace chfleet::clickhouse {

/// A ClickHouse account. The password is sent only in the X-ClickHouse-Key header; it never appears in URLs,
/// logs, error messages or process arguments.
struct Credentials {
    std::string user = "default";
    std::string password;
};

/// Where and how to reach one server's HTTP interface.
struct HttpEndpoint {
    std::string host = "127.0.0.1";
    uint16_t port = 8123;
    bool secure = false;     ///< https
    std::string ca_file;     ///< CA bundle for https; empty: the system's
    bool verify_tls = true;  ///< peer and host verification for https (on by default)
    Credentials credentials;
    std::chrono::milliseconds connect_timeout{3000};
    /// Cap of one statement in all; 0: no cap (a long repair), the stall timeout still applies.
    std::chrono::milliseconds total_timeout{300000};
    /// A server that sends nothing on the statement's connection and does not answer /ping on a new one for
    /// this long is reported as not answering (a frozen host, a partition after connecting), however long
    /// the statement may run while the server stays responsive. 0: off. Default 30 s; the fleet file's
    /// network.stall_timeout_seconds, then --stall-timeout / CHFLEET_STALL_TIMEOUT_MS override it.
    std::chrono::milliseconds stall_timeout = stallTimeoutOverride().value_or(kDefaultStallTimeout);

    static constexpr std::chrono::milliseconds kDefaultStallTimeout{30000};

    /// "host:port" (no credentials), for messages.
    std::string describe() const;

    /// The stall timeout the command line (--stall-timeout) or the environment (CHFLEET_STALL_TIMEOUT_MS, a
    /// number of milliseconds; 0 turns stall detection off) asks for, when either does; it wins over the
    /// fleet file.
    static std::optional<std::chrono::milliseconds> stallTimeoutOverride();
};

/// Thrown when a server stopped answering in the middle of a statement (HttpEndpoint::stall_timeout). It is
/// never retried: the node counts as unreachable at once, so a frozen host costs one stall timeout, not one
/// per retry.
class ServerStalled : public Exception {
  public:
    using Exception::Exception;
};

/// ClickHouse settings sent with one query (as URL parameters on HTTP), e.g. {"insert_distributed_sync",
/// "1"}.
using Settings = std::vector<std::pair<std::string, std::string>>;

/// A way to send SQL to a ClickHouse server: the HTTP interface of a real server, or the engine embedded in
/// this process (chDB). One Connection is used by one thread at a time.
class Connection {
  public:
    virtual ~Connection() = default;

    /// Runs one statement and returns the raw body of the answer. `data` is sent after the statement (the
    /// rows of an INSERT ... FORMAT fmt). Throws ServerException when the server reports an error (also one
    /// that arrives inside a 200 answer after streaming began) and Exception(ConnectionFailed or Timeout)
    /// when it cannot be reached or does not answer in time.
    virtual std::string execute(std::string_view sql, std::string_view data = {},
                                const Settings& settings = {}) = 0;

    /// "host:port" or "embedded", for messages.
    virtual std::string describe() const = 0;
};

}  // namespace chfleet::clickhouse
