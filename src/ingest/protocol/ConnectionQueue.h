#pragma once

#include <httplib.h>

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>

namespace chfleet::ingest {

/// The HTTP server's task queue: what one client can hold. Each connection has a thread of its own, up to
/// `max_connections` at once, so connections that send half a request and stop hold their own threads only
/// (each until the server's read timeout ends it) and never delay the others. A connection beyond the cap is
/// handed to a few overflow threads on which refuseThisConnection() is true: the server answers its request
/// 503 at once (IngestServer's pre-routing handler) and closes it, so a flood is refused rather than queued.
class ConnectionQueue : public httplib::TaskQueue {
  public:
    ConnectionQueue(size_t max_connections, std::function<void()> on_refused);
    ~ConnectionQueue() override;

    void enqueue(std::function<void()> fn) override;
    void shutdown() override;

    /// True on the thread serving a connection over the cap.
    static bool refuseThisConnection();
    size_t openConnections() const { return open_.load(); }

  private:
    size_t max_connections_;
    std::function<void()> on_refused_;
    std::atomic<size_t> open_{0};
    std::unique_ptr<httplib::ThreadPool> connections_;
    std::unique_ptr<httplib::ThreadPool> overflow_;
};

}  // namespace chfleet::ingest
