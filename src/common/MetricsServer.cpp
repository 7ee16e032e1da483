#include "common/MetricsServer.h"

#include <httplib.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "common/Exception.h"
#include "common/Log.h"

namespace chfleet {

namespace {

/// The address to serve on. It comes from the sync settings (CHSYNC_METRICS_LISTEN or --metrics-listen), so
/// a malformed one is a configuration error.
http::ListenAddress parseAddress(const std::string& address) {
    try {
        return http::parseListenAddress(address, "metrics address", "127.0.0.1:9464");
    } catch (const Exception& error) {
        throw Exception(ErrorCode::InvalidConfig, std::string(error.what()));
    }
}

}  // namespace

MetricsServer::MetricsServer(std::string address, std::shared_ptr<prometheus::Registry> registry,
                             HealthCheck health, std::function<void()> before_scrape)
    : address_(std::move(address)),
      registry_(std::move(registry)),
      health_(std::move(health)),
      before_scrape_(std::move(before_scrape)) {}

MetricsServer::~MetricsServer() {
    stop();
}

void MetricsServer::start() {
    if (server_) {
        return;
    }
    auto listen = parseAddress(address_);
    auto server = std::make_unique<httplib::Server>();
    // Scrapes are rare and short: two workers, and idle keep-alive connections released quickly so that
    // stop() does not wait for them.
    server->new_task_queue = [] { return new httplib::ThreadPool(2); };
    server->set_keep_alive_timeout(1);
    // httplib's default adds SO_REUSEPORT, with which a second daemon would silently share the port; only
    // SO_REUSEADDR (rebinding right after a restart) is wanted.
    server->set_socket_options([](socket_t socket) {
        int yes = 1;
        ::setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    });
    http::addMetricsAndHealth(*server, registry_, health_, before_scrape_);

    errno = 0;
    int bound = listen.port == 0 ? server->bind_to_any_port(listen.host)
                                 : (server->bind_to_port(listen.host, listen.port) ? listen.port : -1);
    if (bound <= 0) {
        int error = errno;
        throw Exception(ErrorCode::IoError,
                        "cannot serve metrics on {}: {}; choose another address or stop the "
                        "process that uses it",
                        address_,
                        error == EADDRINUSE ? std::string("address already in use")
                        : error != 0        ? std::string(std::strerror(error))
                                            : std::string("the address cannot be bound"));
    }
    port_ = static_cast<uint16_t>(bound);
    server_ = std::move(server);
    finished_ = false;
    thread_ = std::thread([this] {
        server_->listen_after_bind();
        finished_ = true;
    });
    // httplib's stop() only works once the loop runs, so start() returns when it does.
    while (!server_->is_running() && !finished_) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    log::get("metrics")->info("serving /metrics and /healthz on {}:{}", listen.host, port_);
}

void MetricsServer::stop() {
    if (!server_) {
        return;
    }
    server_->stop();
    if (thread_.joinable()) {
        thread_.join();
    }
    server_.reset();
    log::get("metrics")->info("stopped serving metrics on port {}", port_);
    port_ = 0;
}

}  // namespace chfleet
