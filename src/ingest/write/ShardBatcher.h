#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ingest/write/Slice.h"

namespace chfleet::ingest {

class ErasedCompanies;
class Ledger;
class ShardWriter;
class Spool;

struct BatcherOptions {
    size_t batch_rows = 100000;                 ///< a batch is sent once it holds this many rows
    size_t batch_bytes = 16 << 20;              ///< ... or this many bytes
    std::chrono::milliseconds batch_wait{200};  ///< ... or once its first slice waited this long
    size_t senders = 8;                         ///< batches in flight at once
    bool retry_until_written = false;           ///< async mode: a failed batch is retried until it lands
    /// Sync mode: a free sender takes an open batch at once, since its clients are waiting. Async mode
    /// (false): batches fill up to batch_rows, batch_bytes or batch_wait, as the clients have their answer
    /// already, and fewer, larger parts cost ClickHouse far less (parts, ZooKeeper commits, merges).
    bool send_open_batches_at_once = true;
};

/// What the batcher tells the outside about each batch (metrics).
struct BatchObserver {
    std::function<void(const ShardTarget&, size_t rows, size_t bytes)> written;
    std::function<void(const ShardTarget&, const std::string& error)> failed;
    /// Rows of erased companies dropped from a batch before it was sent.
    std::function<void(const ShardTarget&, size_t rows)> erased_dropped;
};

/// Coalesces slices of many requests per target (table, region, shard, columns) into batches and sends
/// them with a pool of sender threads through the ShardWriter.
///
/// In sync mode a sender that is free takes the oldest open batch at once, so at low load rows go out
/// without waiting; while every sender is busy, batches fill up. A batch is sealed when it reaches batch_rows
/// or batch_bytes, or batch_wait after its first slice (in async mode, only then). A slice as large as a
/// batch is sent alone. Before a batch is sent the ledger records which slices it holds; once the shard
/// confirmed it, the slices are committed (their requests are told, their spool segments released). In sync
/// mode a failed batch fails its requests (each client retries; deduplication keeps a retry from writing
/// twice what did land). In async mode it is kept and retried with a growing pause (at most 5 s) until its
/// shard takes it, so a shard or region that was down is drained when it returns.
///
/// Erased companies: before each attempt, a batch whose slices were checked against fewer erased subjects
/// than are now known is scanned, and the rows of erased companies are removed (ErasedCompanies). A batch
/// left without rows is committed without being sent. A batch whose earlier attempt may have landed
/// unanswered (a timeout) and is then filtered is no longer byte-identical to that attempt, so on servers
/// without insert_deduplication_token (18.16) the other rows of such a batch may be written twice: the
/// erased company's rows are never written again, which is the guarantee that wins.
class ShardBatcher {
  public:
    /// `erased`: the erased companies whose rows are dropped before sending (null: none).
    ShardBatcher(BatcherOptions options, ShardWriter& writer, Ledger& ledger, Spool* spool,
                 BatchObserver observer, ErasedCompanies* erased = nullptr);
    ~ShardBatcher();
    ShardBatcher(const ShardBatcher&) = delete;
    ShardBatcher& operator=(const ShardBatcher&) = delete;

    void start();
    /// Seals the open batches, lets the senders finish what is queued for up to `drain`, then stops them.
    void stop(std::chrono::milliseconds drain);

    void submit(const ShardTarget& target, Slice slice);
    /// A batch begun before a restart, sent again exactly as it was (same slices, same order, same id).
    void resubmit(const ShardTarget& target, std::string batch_id, std::vector<Slice> slices);

    /// Bytes of rows held in batches not yet written.
    size_t bufferedBytes() const { return buffered_bytes_.load(); }
    /// Batches sealed and waiting for a sender (or for their retry pause to end).
    size_t queuedBatches() const;

  private:
    struct Batch {
        ShardTarget target;
        std::string id;
        std::vector<Slice> slices;
        size_t rows = 0;
        size_t bytes = 0;
        std::chrono::steady_clock::time_point opened;
        std::chrono::steady_clock::time_point not_before;
        int attempts = 0;
    };

    void sealLocked(std::map<std::string, Batch>::iterator open);
    std::string nextBatchId();
    void flusherLoop();
    void senderLoop();
    void send(Batch& batch);
    /// Removes the rows of companies erased since the batch's slices were checked.
    void dropErasedRows(Batch& batch);
    /// The batch is on its shard (or had nothing left to send): its slices are committed.
    void committed(Batch& batch, const std::vector<std::string>& ids);

    BatcherOptions options_;
    ShardWriter& writer_;
    Ledger& ledger_;
    Spool* spool_;
    BatchObserver observer_;
    ErasedCompanies* erased_;

    mutable std::mutex mutex_;
    std::condition_variable ready_changed_;
    std::condition_variable flusher_wake_;
    std::map<std::string, Batch> open_;
    std::deque<Batch> ready_;
    bool stopping_ = false;
    std::atomic<size_t> buffered_bytes_{0};
    std::string instance_;
    uint64_t sequence_ = 0;
    std::thread flusher_;
    std::vector<std::thread> senders_;
};

}  // namespace chfleet::ingest
