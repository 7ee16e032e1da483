#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace httplib {
class Server;
}

namespace prometheus {
class Registry;
}

/// What every HTTP endpoint of chfleet shares: reading the address it listens on, and its observability
/// endpoints (/metrics, /healthz). Used by the sync daemon's MetricsServer and by ingest's server, which
/// serves them beside its query endpoint.
namespace chfleet::http {

/// An address to listen on.
struct ListenAddress {
    std::string host;  ///< as given, without the brackets of an IPv6 address
    int port = 0;      ///< 0: any free port
};

/// Reads "host:port" or "[v6]:port" (port 0 to 65535). Throws Exception(BadArguments) "<what> '<address>' is
/// not host:port, e.g. <example>" for anything else (no port, no host, a port out of range or not a number).
ListenAddress parseListenAddress(std::string_view address, std::string_view what, std::string_view example);

/// The answer of a health check.
struct Health {
    bool healthy = true;
    std::string text;  ///< one line or a few, for a person or a probe's log
};
using HealthCheck = std::function<Health()>;

/// Adds to `server`:
/// - GET /metrics: `registry` in the Prometheus text format (`text/plain; version=0.0.4`), read at every
///   scrape; `before_scrape` (when given) runs first, to update gauges that are only read on demand;
/// - GET /healthz: 200 when healthy, else 503, with the text of `health` and a line feed (200 "ok" without a
///   callback).
void addMetricsAndHealth(httplib::Server& server, std::shared_ptr<prometheus::Registry> registry,
                         HealthCheck health = {}, std::function<void()> before_scrape = {});

}  // namespace chfleet::http
