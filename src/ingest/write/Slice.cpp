#include "ingest/write/Slice.h"

#include <fmt/format.h>

#include "clickhouse/ServerError.h"

namespace chfleet::ingest {

std::string ShardTarget::key() const {
    return fmt::format("{}/{}/{}/{}", table->name, region->name, shard, columns);
}

void RequestTicket::sliceCommitted() {
    std::lock_guard lock(mutex_);
    if (outstanding_ > 0 && --outstanding_ == 0) {
        done_.notify_all();
    }
}

void RequestTicket::sliceFailed(const WriteFailure& failure) {
    std::lock_guard lock(mutex_);
    if (!failure_) {
        failure_ = failure;
    }
    if (outstanding_ > 0 && --outstanding_ == 0) {
        done_.notify_all();
    }
}

std::optional<WriteFailure> RequestTicket::wait(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    if (!done_.wait_for(lock, timeout, [this] { return outstanding_ == 0; })) {
        return WriteFailure{clickhouse::server_code::kTimeoutExceeded, 504,
                            "Timeout exceeded: the shards did not confirm the rows in time; retrying the "
                            "same request is safe (it is deduplicated)"};
    }
    return failure_;
}

}  // namespace chfleet::ingest
