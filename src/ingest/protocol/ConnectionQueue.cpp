#include "ingest/protocol/ConnectionQueue.h"

namespace chfleet::ingest {
namespace {

/// Threads that answer connections over the cap (each answer is one short 503).
constexpr size_t kOverflowThreads = 4;

thread_local bool refusing = false;

}  // namespace

ConnectionQueue::ConnectionQueue(size_t max_connections, std::function<void()> on_refused)
    : max_connections_(max_connections),
      on_refused_(std::move(on_refused)),
      connections_(std::make_unique<httplib::ThreadPool>(max_connections)),
      overflow_(std::make_unique<httplib::ThreadPool>(kOverflowThreads)) {}

ConnectionQueue::~ConnectionQueue() = default;

void ConnectionQueue::enqueue(std::function<void()> fn) {
    if (open_.fetch_add(1) < max_connections_) {
        connections_->enqueue([this, fn = std::move(fn)] {
            fn();
            --open_;
        });
        return;
    }
    --open_;
    on_refused_();
    overflow_->enqueue([fn = std::move(fn)] {
        refusing = true;
        fn();
        refusing = false;
    });
}

void ConnectionQueue::shutdown() {
    connections_->shutdown();
    overflow_->shutdown();
}

bool ConnectionQueue::refuseThisConnection() {
    return refusing;
}

}  // namespace chfleet::ingest
