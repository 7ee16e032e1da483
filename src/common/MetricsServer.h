#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

namespace httplib {
class Server;
}

namespace prometheus {
class Registry;
}

namespace chfleet {

/// A small HTTP server for a daemon's observability endpoints, on its own thread:
/// - GET /metrics: the registry in the Prometheus text format (`text/plain; version=0.0.4`);
/// - GET /healthz: 200 or 503 with the text of the health callback (200 "ok" without one);
/// anything else is 404. The registry is read at every scrape; the daemon only updates its metrics.
class MetricsServer {
  public:
    /// The answer of a health check.
    struct Health {
        bool healthy = true;
        std::string text;  ///< one line or a few, for a person or a probe's log
    };
    using HealthCheck = std::function<Health()>;

    /// `address` is "host:port" or "[v6]:port"; port 0 picks a free port (see port()). Nothing is bound yet.
    MetricsServer(std::string address, std::shared_ptr<prometheus::Registry> registry,
                  HealthCheck health = {});
    ~MetricsServer();
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;

    /// Binds and starts serving on a thread of its own. Throws Exception(InvalidConfig) for a malformed
    /// address and Exception(IoError) when it cannot be bound (e.g. address already in use), naming the
    /// address.
    void start();

    /// Stops serving and joins the thread. Safe to call twice, and without start().
    void stop();

    /// The bound port (the chosen one when started with port 0); 0 before start().
    uint16_t port() const { return port_; }

  private:
    std::string address_;
    std::shared_ptr<prometheus::Registry> registry_;
    HealthCheck health_;
    std::unique_ptr<httplib::Server> server_;
    std::thread thread_;
    std::atomic<bool> finished_{false};
    uint16_t port_ = 0;
};

}  // namespace chfleet
