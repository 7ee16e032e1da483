#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "clickhouse/Connection.h"
#include "ingest/write/Slice.h"
#include "topology/Fleet.h"

namespace chfleet::ingest {

/// Writes batches into a shard's local Replicated table on one of its replicas: the first in the fleet
/// file's order, as `load_balancing = in_order` does, so one replica inserts and the other fetches
/// (replicas taking turns each insert and fetch, which cost the fleet 13-32% more CPU per row). A replica
/// that cannot be reached or is read-only (keeper lost) is avoided for a few seconds and the next one is
/// tried, so a shard keeps taking rows while one replica is down.
///
/// Hedging: a replica that neither answers nor fails (a stopped process, a network path that drops packets
/// of the established connection) would hold a batch for the whole write timeout. So each attempt runs on a
/// thread of its own, and when it has not answered after the hedge delay (the configured floor, or 4 times
/// the replica's recent write time when that is longer) the next replica of the shard is sent the same block
/// beside it; the first replica that commits it answers the batch. This is safe because both attempts send
/// byte-identical blocks to one Replicated table: ClickHouse's block deduplication (on by default for
/// inserts into Replicated tables) keeps the first commit and drops the other. A replica past its hedge
/// delay is tried after the others until its attempt ends. Attempts still running when write() returns end
/// on their own (at the write timeout at the latest); the destructor waits for them.
/// Connections are kept alive and reused, a small pool per node.
class ShardWriter {
  public:
    ShardWriter(const topology::Fleet& fleet, std::chrono::milliseconds timeout,
                std::chrono::milliseconds hedge_after = std::chrono::milliseconds(2000));
    ~ShardWriter();

    /// Inserts `rows` (TabSeparated, the batch's slices in order) into the target's local table, sent as one
    /// block that the server takes whole or not at all (clickhouse/WholeBody.h). `batch_id` becomes the
    /// insert_deduplication_token on servers that have that setting. Throws the last replica's failure when
    /// none took the rows: ServerException for a refusal, Exception(ConnectionFailed/Timeout) otherwise.
    void write(const ShardTarget& target, std::span<const std::string_view> rows,
               const std::string& batch_id);

    /// True when some replica of the shard is not marked unhealthy (for /healthz and the drain loop).
    bool anyReplicaHealthy(const topology::Region& region, int shard) const;

  private:
    struct NodeState {
        std::vector<std::unique_ptr<clickhouse::Connection>> idle;
        std::chrono::steady_clock::time_point avoid_until{};
        std::optional<bool> has_dedup_token;
        size_t slow_attempts = 0;   ///< attempts on this node running past their hedge delay
        double recent_seconds = 0;  ///< moving average of its successful writes' durations
    };
    struct Batch;

    std::unique_ptr<clickhouse::Connection> take(const topology::Node& node);
    void giveBack(const topology::Node& node, std::unique_ptr<clickhouse::Connection> connection);
    /// `body`: the rows framed as one block (clickhouse::wholeBody).
    void writeTo(const topology::Node& node, const ShardTarget& target, std::string_view body,
                 const std::string& batch_id);

    /// Starts an attempt of `batch` on `node`, on a thread of its own.
    void launch(const std::shared_ptr<Batch>& batch, const topology::Node& node);
    std::chrono::milliseconds hedgeDelay(const topology::Node& node) const;

    const topology::Fleet& fleet_;
    std::chrono::milliseconds timeout_;
    std::chrono::milliseconds hedge_after_;
    mutable std::mutex mutex_;
    std::map<std::string, NodeState> nodes_;
    std::condition_variable attempts_done_;
    size_t attempts_running_ = 0;  ///< guarded by mutex_
};

}  // namespace chfleet::ingest
