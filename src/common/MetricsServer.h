#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "common/HttpEndpoints.h"

namespace chfleet {

/// A small HTTP server for a daemon's observability endpoints, on its own thread: GET /metrics and
/// GET /healthz as http::addMetricsAndHealth serves them; anything else is 404. The registry is read at every
/// scrape; the daemon only updates its metrics.
class MetricsServer {
  public:
    using Health = http::Health;
    using HealthCheck = http::HealthCheck;

    /// `address` is "host:port" or "[v6]:port"; port 0 picks a free port (see port()). Nothing is bound yet.
    /// `before_scrape` (optional) runs at every scrape before the registry is read (see addMetricsAndHealth).
    MetricsServer(std::string address, std::shared_ptr<prometheus::Registry> registry,
                  HealthCheck health = {}, std::function<void()> before_scrape = {});
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
    std::function<void()> before_scrape_;
    std::unique_ptr<httplib::Server> server_;
    std::thread thread_;
    std::atomic<bool> finished_{false};
    uint16_t port_ = 0;
};

}  // namespace chfleet
