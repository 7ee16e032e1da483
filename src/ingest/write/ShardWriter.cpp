#include "ingest/write/ShardWriter.h"

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

ShardWriter::ShardWriter(const topology::Fleet& fleet, std::chrono::milliseconds timeout)
    : fleet_(fleet), timeout_(timeout) {}

ShardWriter::~ShardWriter() = default;

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
            (nodes_[node->name].avoid_until > now ? avoided : healthy).push_back(node);
        }
    }
    healthy.insert(healthy.end(), avoided.begin(), avoided.end());
    // One block of the compression format: a batch cut short by a dropped connection or a timeout is refused
    // whole instead of committed in part (WholeBody.h), so the retry on this or another replica cannot add
    // duplicates, nor a row whose last value was cut.
    const std::string body = clickhouse::wholeBody(rows);
    std::exception_ptr last_failure;
    for (const auto* node : healthy) {
        try {
            writeTo(*node, target, body, batch_id);
            std::lock_guard lock(mutex_);
            nodes_[node->name].avoid_until = {};
            return;
        } catch (const Exception& error) {
            if (!clickhouse::isRetryable(error)) {
                throw;  // the rows themselves were refused: another replica would refuse them too
            }
            log::get("ingest")->warn("{} (shard {} of {}) did not take a batch: {}; trying another replica",
                                     node->name, target.shard, region.name, error.what());
            std::lock_guard lock(mutex_);
            auto& state = nodes_[node->name];
            state.avoid_until = std::chrono::steady_clock::now() + kAvoidFor;
            state.idle.clear();
            last_failure = std::current_exception();
        }
    }
    if (last_failure) {
        std::rethrow_exception(last_failure);
    }
    throw Exception(ErrorCode::InvalidConfig, "region {} has no node for shard {}", region.name,
                    target.shard);
}

bool ShardWriter::anyReplicaHealthy(const topology::Region& region, int shard) const {
    auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(mutex_);
    for (int replica = 1; replica <= region.replicas; ++replica) {
        const auto* node = region.node(shard, replica);
        auto it = node == nullptr ? nodes_.end() : nodes_.find(node->name);
        if (node != nullptr && (it == nodes_.end() || it->second.avoid_until <= now)) {
            return true;
        }
    }
    return false;
}

}  // namespace chfleet::ingest
