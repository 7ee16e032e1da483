#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "clickhouse/Connection.h"

namespace chfleet::sync {

/// One partition of one table on one shard, as system.parts describes it.
struct PartitionInfo {
    std::string partition;  ///< as system.parts prints it (for messages)
    uint64_t rows = 0;
    uint64_t fingerprint = 0;  ///< sum of cityHash64 of the active part names: changes whenever the parts do
    uint64_t modified = 0;     ///< latest part modification, unix seconds
    uint64_t max_time = 0;     ///< newest date/time the partition's rows carry (0: not dated), unix seconds
};

/// A MergeTree-family table on one shard.
struct TableInfo {
    std::string engine;  ///< without its arguments (a repair reads engine_full when it needs it)
    std::map<std::string, PartitionInfo> partitions;  ///< by partition_id
};

/// Everything sync needs to know about one shard, from two queries (tables, then parts), whatever the number
/// of tables: the constant cost of a clean cycle.
struct ShardInventory {
    std::map<std::string, TableInfo> tables;  ///< by "db.table"
};

/// Reads a shard's inventory through one of its replicas, the two queries at once on two connections that
/// `connect` opens to it. Databases `system` and the information schemas are never read.
ShardInventory readShardInventory(const std::function<std::unique_ptr<clickhouse::Connection>()>& connect);

}  // namespace chfleet::sync
