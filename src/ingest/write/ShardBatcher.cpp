#include "ingest/write/ShardBatcher.h"

#include <fmt/format.h>

#include <algorithm>
#include <random>

#include "clickhouse/ServerError.h"
#include "common/Exception.h"
#include "common/Log.h"
#include "erase/Subject.h"
#include "ingest/write/ErasedCompanies.h"
#include "ingest/write/Ledger.h"
#include "ingest/write/ShardWriter.h"
#include "ingest/write/Spool.h"

namespace chfleet::ingest {
namespace {

std::chrono::milliseconds retryPause(int attempts) {
    return std::chrono::milliseconds(std::min<int64_t>(5000, int64_t{100} << std::min(attempts, 6)));
}

WriteFailure failureOf(const Exception& error) {
    if (const auto* server = dynamic_cast<const ServerException*>(&error)) {
        return {server->serverCode(), 500,
                fmt::format("{} (while writing to {})", server->serverMessage(), server->endpoint())};
    }
    // No server answered: ClickHouse's NETWORK_ERROR / TIMEOUT_EXCEEDED, and 503 so that clients retry.
    return {error.code() == ErrorCode::Timeout ? clickhouse::server_code::kTimeoutExceeded
                                               : clickhouse::server_code::kNetworkError,
            503, error.what()};
}

}  // namespace

ShardBatcher::ShardBatcher(BatcherOptions options, ShardWriter& writer, Ledger& ledger, Spool* spool,
                           BatchObserver observer, ErasedCompanies* erased)
    : options_(options),
      writer_(writer),
      ledger_(ledger),
      spool_(spool),
      observer_(std::move(observer)),
      erased_(erased) {
    std::random_device random;
    instance_ = fmt::format("{:08x}{:08x}", random(), random());
}

ShardBatcher::~ShardBatcher() {
    stop(std::chrono::milliseconds(0));
}

void ShardBatcher::start() {
    flusher_ = std::thread([this] { flusherLoop(); });
    for (size_t i = 0; i < options_.senders; ++i) {
        senders_.emplace_back([this] { senderLoop(); });
    }
}

void ShardBatcher::stop(std::chrono::milliseconds drain) {
    {
        std::unique_lock lock(mutex_);
        if (!flusher_.joinable() && senders_.empty()) {
            return;
        }
        while (!open_.empty()) {
            sealLocked(open_.begin());
        }
        ready_changed_.wait_for(lock, drain, [this] { return ready_.empty(); });
        stopping_ = true;
    }
    ready_changed_.notify_all();
    flusher_wake_.notify_all();
    if (flusher_.joinable()) {
        flusher_.join();
    }
    for (auto& sender : senders_) {
        sender.join();
    }
    senders_.clear();
    // What was not sent: sync-mode requests are told; async-mode rows stay in the spool for the next start.
    for (auto& batch : ready_) {
        for (auto& slice : batch.slices) {
            ledger_.release(slice.id);
            if (slice.ticket) {
                slice.ticket->sliceFailed({clickhouse::server_code::kNetworkError, 503,
                                           "the ingest server is stopping; retry the request"});
            }
        }
    }
    ready_.clear();
}

std::string ShardBatcher::nextBatchId() {
    return fmt::format("{}-{}", instance_, ++sequence_);
}

void ShardBatcher::submit(const ShardTarget& target, Slice slice) {
    size_t bytes = slice.rows.size();
    buffered_bytes_ += bytes;
    std::lock_guard lock(mutex_);
    if (slice.row_count >= options_.batch_rows || bytes >= options_.batch_bytes) {
        Batch batch{target, nextBatchId(), {}, slice.row_count, bytes, {}, {}, 0};
        batch.slices.push_back(std::move(slice));
        ready_.push_back(std::move(batch));
        ready_changed_.notify_one();
        return;
    }
    std::string key = target.key();
    auto it = open_.find(key);
    if (it == open_.end()) {
        it =
            open_
                .emplace(key, Batch{target, nextBatchId(), {}, 0, 0, std::chrono::steady_clock::now(), {}, 0})
                .first;
        flusher_wake_.notify_one();
    }
    it->second.rows += slice.row_count;
    it->second.bytes += bytes;
    it->second.slices.push_back(std::move(slice));
    if (it->second.rows >= options_.batch_rows || it->second.bytes >= options_.batch_bytes) {
        sealLocked(it);
    } else if (options_.send_open_batches_at_once) {
        ready_changed_.notify_one();  // an idle sender takes it now
    }
}

void ShardBatcher::resubmit(const ShardTarget& target, std::string batch_id, std::vector<Slice> slices) {
    Batch batch{target, std::move(batch_id), std::move(slices), 0, 0, {}, {}, 0};
    for (const auto& slice : batch.slices) {
        batch.rows += slice.row_count;
        batch.bytes += slice.rows.size();
    }
    buffered_bytes_ += batch.bytes;
    std::lock_guard lock(mutex_);
    ready_.push_front(std::move(batch));
    ready_changed_.notify_one();
}

size_t ShardBatcher::queuedBatches() const {
    std::lock_guard lock(mutex_);
    return ready_.size();
}

void ShardBatcher::sealLocked(std::map<std::string, Batch>::iterator open) {
    ready_.push_back(std::move(open->second));
    open_.erase(open);
    ready_changed_.notify_one();
}

void ShardBatcher::flusherLoop() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        auto now = std::chrono::steady_clock::now();
        auto next = now + options_.batch_wait;
        for (auto it = open_.begin(); it != open_.end();) {
            auto due = it->second.opened + options_.batch_wait;
            if (due <= now) {
                sealLocked(it++);
            } else {
                next = std::min(next, due);
                ++it;
            }
        }
        flusher_wake_.wait_until(lock, next);
    }
}

void ShardBatcher::senderLoop() {
    std::unique_lock lock(mutex_);
    while (true) {
        auto now = std::chrono::steady_clock::now();
        auto eligible = std::find_if(ready_.begin(), ready_.end(),
                                     [now](const Batch& batch) { return batch.not_before <= now; });
        if (stopping_) {
            return;
        }
        if (eligible == ready_.end() && !open_.empty() && options_.send_open_batches_at_once) {
            // A free sender takes the oldest open batch at once: rows wait only while every sender is
            // busy, and that is when batches fill up.
            auto oldest = std::min_element(open_.begin(), open_.end(), [](const auto& a, const auto& b) {
                return a.second.opened < b.second.opened;
            });
            sealLocked(oldest);
            eligible = std::prev(ready_.end());
        }
        if (eligible == ready_.end()) {
            if (ready_.empty()) {
                ready_changed_.wait(lock);
            } else {
                auto soonest =
                    std::min_element(ready_.begin(), ready_.end(), [](const Batch& a, const Batch& b) {
                        return a.not_before < b.not_before;
                    })->not_before;
                ready_changed_.wait_until(lock, soonest);
            }
            continue;
        }
        Batch batch = std::move(*eligible);
        ready_.erase(eligible);
        lock.unlock();
        send(batch);
        lock.lock();
        ready_changed_.notify_all();
    }
}

void ShardBatcher::dropErasedRows(Batch& batch) {
    size_t known = erased_->size();
    auto key_index = regionKeyIndex(*batch.target.table, batch.target.columns);
    for (auto& slice : batch.slices) {
        if (slice.erased_checked >= known || !key_index) {
            continue;
        }
        size_t bytes_before = slice.rows.size();
        auto dropped = erased_->dropErasedRows(slice.rows, *key_index);
        slice.erased_checked = known;
        size_t rows = 0;
        for (const auto& [subject, count] : dropped) {
            rows += count;
            log::get("ingest")->warn(
                "batch {}: dropped {} row(s) of an erased company (subject {}) for {}, accepted before the "
                "erasure and not yet written",
                batch.id, count, erase::shortSubject(subject), batch.target.key());
        }
        if (rows == 0) {
            continue;
        }
        size_t bytes = bytes_before - slice.rows.size();
        slice.row_count -= rows;
        batch.rows -= rows;
        batch.bytes -= bytes;
        buffered_bytes_ -= bytes;
        if (observer_.erased_dropped) {
            observer_.erased_dropped(batch.target, rows);
        }
    }
}

void ShardBatcher::committed(Batch& batch, const std::vector<std::string>& ids) {
    ledger_.commit(batch.id, ids);
    // The batch is counted before any waiting request is released: a client that reads /metrics after its
    // INSERT was acknowledged sees its rows.
    if (observer_.written && batch.rows > 0) {
        observer_.written(batch.target, batch.rows, batch.bytes);
    }
    for (auto& slice : batch.slices) {
        if (slice.ticket) {
            slice.ticket->sliceCommitted();
        }
        if (spool_ != nullptr && slice.spool_segment != 0) {
            spool_->release(slice.spool_segment);
        }
    }
    buffered_bytes_ -= batch.bytes;
}

void ShardBatcher::send(Batch& batch) {
    std::vector<std::string> ids;
    std::vector<std::string_view> rows;  // joined once, by the writer's framing
    ids.reserve(batch.slices.size());
    rows.reserve(batch.slices.size());
    try {
        if (erased_ != nullptr) {
            dropErasedRows(batch);
        }
        for (const auto& slice : batch.slices) {
            ids.push_back(slice.id);
            if (!slice.rows.empty()) {
                rows.push_back(slice.rows);
            }
        }
        if (batch.attempts == 0) {
            ledger_.begin(batch.id, ids);
        }
        if (batch.rows == 0) {
            committed(batch, ids);  // nothing left to write: every row was of erased companies
            return;
        }
        writer_.write(batch.target, rows, batch.id);
    } catch (const Exception& error) {
        if (observer_.failed) {
            observer_.failed(batch.target, error.what());
        }
        if (options_.retry_until_written) {
            if (batch.attempts == 0 || batch.attempts % 20 == 0) {
                log::get("ingest")->warn(
                    "batch {} ({} rows for {}) not written: {}; kept in the spool and "
                    "retried until its shard takes it",
                    batch.id, batch.rows, batch.target.key(), error.what());
            }
            ++batch.attempts;
            batch.not_before = std::chrono::steady_clock::now() + retryPause(batch.attempts);
            std::lock_guard lock(mutex_);
            ready_.push_back(std::move(batch));
            return;
        }
        WriteFailure failure = failureOf(error);
        for (auto& slice : batch.slices) {
            ledger_.release(slice.id);
            if (slice.ticket) {
                slice.ticket->sliceFailed(failure);
            }
        }
        buffered_bytes_ -= batch.bytes;
        return;
    }
    committed(batch, ids);
}

}  // namespace chfleet::ingest
