#include "ingest/write/ShardWriter.h"

#include <set>
#include <thread>

#include "clickhouse/Capabilities.h"
#include "clickhouse/HttpConnection.h"
#include "clickhouse/Quoting.h"
#include "clickhouse/RetryPolicy.h"
#include "clickhouse/WholeBody.h"
#include "common/Log.h"
#include "topology/NodeConnection.h"

namespace chfleet::ingest {
namespace {

constexpr auto kAvoidFor = std::chrono::seconds(3);
constexpr size_t kIdlePerNode = 16;

}  // namespace

ShardWriter::ShardWriter(const topology::Fleet& fleet, std::chrono::milliseconds timeout,
                         std::chrono::milliseconds hedge_after)
    : fleet_(fleet), timeout_(timeout), hedge_after_(hedge_after) {}

ShardWriter::~ShardWriter() {
    std::unique_lock lock(mutex_);
    attempts_done_.wait(lock, [this] { return attempts_running_ == 0; });
}

std::unique_ptr<clickhouse::Connection> ShardWriter::take(const topology::Node& node) {
    {
        std::lock_guard lock(mutex_);
        auto& idle = nodes_[node.name].idle;
        if (!idle.empty()) {
            auto connection = std::move(idle.back());
            idle.pop_back();
            return connection;
        }
    }
    auto endpoint = topology::endpointFor(fleet_, node);
    endpoint.total_timeout = timeout_;
    return std::make_unique<clickhouse::HttpConnection>(std::move(endpoint));
}

void ShardWriter::giveBack(const topology::Node& node, std::unique_ptr<clickhouse::Connection> connection) {
    std::lock_guard lock(mutex_);
    auto& idle = nodes_[node.name].idle;
    if (idle.size() < kIdlePerNode) {
        idle.push_back(std::move(connection));
    }
}

void ShardWriter::writeTo(const topology::Node& node, const ShardTarget& target, std::string_view body,
                          const std::string& batch_id) {
    auto connection = take(node);
    std::optional<bool> has_token;
    {
        std::lock_guard lock(mutex_);
        has_token = nodes_[node.name].has_dedup_token;
    }
    if (!has_token) {
        // Asked once per node: newer servers take an explicit deduplication token for the batch.
        has_token = clickhouse::detectCapabilities(*connection).insert_deduplication_token;
        std::lock_guard lock(mutex_);
        nodes_[node.name].has_dedup_token = has_token;
    }
    clickhouse::Settings settings;
    if (*has_token && !batch_id.empty()) {
        settings.emplace_back("insert_deduplication_token", batch_id);
    }
    settings.emplace_back(clickhouse::kDecompressParameter, "1");
    std::string sql = "INSERT INTO " +
                      clickhouse::qualifiedName(fleet_.schema.database, target.table->localName()) +
                      (target.columns.empty() ? "" : " " + target.columns) + " FORMAT TabSeparated";
    connection->execute(sql, body, settings);
    giveBack(node, std::move(connection));
}

/// One batch being written: its block and the state its attempts share.
struct ShardWriter::Batch {
    ShardTarget target;
    std::string body;
    std::string batch_id;
    std::mutex mutex;
    std::condition_variable changed;
    size_t running = 0;
    bool committed = false;
    bool refused = false;  ///< a replica refused the rows themselves: another would refuse them too
    std::exception_ptr last_failure;
    std::set<std::string> slow_nodes;  ///< nodes whose attempt ran past its hedge delay (counted as slow)
};

std::chrono::milliseconds ShardWriter::hedgeDelay(const topology::Node& node) const {
    std::lock_guard lock(mutex_);
    auto it = nodes_.find(node.name);
    double recent = it == nodes_.end() ? 0 : it->second.recent_seconds;
    auto scaled = std::chrono::milliseconds(static_cast<int64_t>(recent * 4000));
    return std::max(hedge_after_, scaled);
}

void ShardWriter::launch(const std::shared_ptr<Batch>& batch, const topology::Node& node) {
    ++batch->running;
    {
        std::lock_guard lock(mutex_);
        ++attempts_running_;
    }
    std::thread([this, batch, &node] {
        auto started = std::chrono::steady_clock::now();
        bool committed = false;
        bool refused = false;
        std::exception_ptr failure;
        try {
            writeTo(node, batch->target, batch->body, batch->batch_id);
            committed = true;
        } catch (const Exception& error) {
            failure = std::current_exception();
            refused = !clickhouse::isRetryable(error);
            if (!refused) {
                log::get("ingest")->warn("{} (shard {} of {}) did not take a batch: {}", node.name,
                                         batch->target.shard, batch->target.region->name, error.what());
            }
        } catch (...) {
            failure = std::current_exception();
            refused = true;
        }
        bool was_slow = false;
        {
            std::lock_guard lock(batch->mutex);
            was_slow = batch->slow_nodes.erase(node.name) > 0;
            batch->committed = batch->committed || committed;
            batch->refused = batch->refused || refused;
            if (failure) {
                batch->last_failure = failure;
            }
            --batch->running;
            batch->changed.notify_all();
        }
        std::lock_guard lock(mutex_);
        auto& state = nodes_[node.name];
        double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        if (committed) {
            state.avoid_until = {};
            state.recent_seconds =
                state.recent_seconds == 0 ? seconds : 0.8 * state.recent_seconds + 0.2 * seconds;
        } else if (!refused) {
            state.avoid_until = std::chrono::steady_clock::now() + kAvoidFor;
            state.idle.clear();
        }
        if (was_slow) {
            --state.slow_attempts;
        }
        --attempts_running_;
        attempts_done_.notify_all();
    }).detach();
}

void ShardWriter::write(const ShardTarget& target, std::span<const std::string_view> rows,
                        const std::string& batch_id) {
    const auto& region = *target.region;
    std::vector<const topology::Node*> healthy;
    std::vector<const topology::Node*> avoided;
    auto now = std::chrono::steady_clock::now();
    {
        std::lock_guard lock(mutex_);
        for (int replica = 1; replica <= region.replicas; ++replica) {
            const auto* node = region.node(target.shard, replica);
            if (node == nullptr) {
                continue;
            }
            const auto& state = nodes_[node->name];
            (state.avoid_until > now || state.slow_attempts > 0 ? avoided : healthy).push_back(node);
        }
    }
    healthy.insert(healthy.end(), avoided.begin(), avoided.end());
    if (healthy.empty()) {
        throw Exception(ErrorCode::InvalidConfig, "region {} has no node for shard {}", region.name,
                        target.shard);
    }
    // One block of the compression format: a batch cut short by a dropped connection or a timeout is refused
    // whole instead of committed in part (WholeBody.h), so the retry on this or another replica cannot add
    // duplicates, nor a row whose last value was cut.
    auto batch = std::make_shared<Batch>();
    batch->target = target;
    batch->body = clickhouse::wholeBody(rows);
    batch->batch_id = batch_id;
    std::unique_lock lock(batch->mutex);
    size_t next = 0;
    const topology::Node* latest = healthy[next++];
    launch(batch, *latest);
    auto hedge_at = std::chrono::steady_clock::now() + hedgeDelay(*latest);
    while (!batch->committed) {
        if (batch->refused) {
            std::rethrow_exception(batch->last_failure);
        }
        if (batch->running == 0) {
            // Every attempt so far failed without an answer about the rows: the next replica.
            if (next >= healthy.size()) {
                std::rethrow_exception(batch->last_failure);
            }
            latest = healthy[next++];
            launch(batch, *latest);
            hedge_at = std::chrono::steady_clock::now() + hedgeDelay(*latest);
            continue;
        }
        if (next >= healthy.size()) {
            batch->changed.wait(lock);
        } else if (batch->changed.wait_until(lock, hedge_at) == std::cv_status::timeout &&
                   !batch->committed && batch->running > 0) {
            if (batch->slow_nodes.insert(latest->name).second) {
                std::lock_guard nodes_lock(mutex_);
                ++nodes_[latest->name].slow_attempts;
            }
            log::get("ingest")->warn(
                "{} (shard {} of {}) has not answered a batch in {} ms; writing the same block to {} as well",
                latest->name, target.shard, region.name,
                std::chrono::duration_cast<std::chrono::milliseconds>(hedgeDelay(*latest)).count(),
                healthy[next]->name);
            latest = healthy[next++];
            launch(batch, *latest);
            hedge_at = std::chrono::steady_clock::now() + hedgeDelay(*latest);
        }
    }
}

bool ShardWriter::anyReplicaHealthy(const topology::Region& region, int shard) const {
    auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(mutex_);
    for (int replica = 1; replica <= region.replicas; ++replica) {
        const auto* node = region.node(shard, replica);
        auto it = node == nullptr ? nodes_.end() : nodes_.find(node->name);
        if (node != nullptr &&
            (it == nodes_.end() || (it->second.avoid_until <= now && it->second.slow_attempts == 0))) {
            return true;
        }
    }
    return false;
}

}  // namespace chfleet::ingest
