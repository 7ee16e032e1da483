#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "clickhouse/Connection.h"
#include "retention/Horizon.h"
#include "topology/Fleet.h"

// What one node holds of the tables with a retention, partition by partition, and what the policy says of
// each partition. Read with one query per node whatever the number of partitions (system.parts joined to
// system.tables); a second, scanning query only for tables whose partition metadata cannot be trusted.
namespace chfleet::retention {

/// A table with a retention as it is stored on a node.
struct RetainedTable {
    const topology::Table* table = nullptr;
    std::string stored_name;  ///< the local table, or a view's inner table (.inner.<view>_local)
    std::string column;
    ValueKind kind = ValueKind::Unsupported;
    int days = 0;  ///< the policy of the node's region
};

/// The tables of the fleet that have a retention, as stored on a node of `region`.
std::vector<RetainedTable> retainedTables(const topology::Fleet& fleet, const std::string& region);

/// One partition of one table on one node (or merged over the replicas of a shard). Times in unix
/// seconds as Horizon.h reads them.
struct PartitionFacts {
    std::string partition;  ///< as system.parts prints it
    uint64_t rows = 0;
    bool dated = false;  ///< oldest/newest are known
    uint64_t oldest = 0;
    uint64_t newest = 0;
};

/// What the policy says of a partition.
enum class Verdict {
    Keep,        ///< every row inside the policy
    Expired,     ///< every row past the horizon: the partition may be dropped
    Straddling,  ///< some rows past the horizon, some inside: kept (trimmed only on request)
    Unknown,     ///< the ages of its rows cannot be told: kept and reported
};

std::string_view verdictName(Verdict verdict);

Verdict verdictOf(const PartitionFacts& facts, int days, uint64_t now);

/// A table on one node: its partitions by partition_id, and why their ages are unknown when they are.
struct NodeTable {
    std::map<std::string, PartitionFacts> partitions;
    std::string unknown_reason;  ///< non-empty: no partition of this table may be dropped
    bool has_ttl = false;        ///< the server's CREATE has a TTL clause
};

/// Everything retention knows about one node.
struct NodeFacts {
    std::map<std::string, NodeTable> tables;  ///< by logical table name
    int queries = 0;                          ///< statements this reading sent
};

/// The planning query of a node: every active part of the given tables grouped by table and partition,
/// with the min/max the server keeps for the partition key's Date and DateTime columns, and each table's
/// partition key and TTL as the server has them.
std::string planningSql(const std::string& database, const std::vector<RetainedTable>& tables);

/// Reads a node: one planning query, plus one scan (grouped by _partition_id) for the tables whose
/// partition metadata does not give the retention column's range.
NodeFacts readNodeFacts(clickhouse::Connection& connection, const std::string& database,
                        const std::vector<RetainedTable>& tables);

}  // namespace chfleet::retention
