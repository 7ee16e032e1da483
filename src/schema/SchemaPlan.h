#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "topology/Fleet.h"

namespace chfleet::schema {

enum class ObjectKind { LocalTable, MaterializedView, RegionalDistributed, GlobalDistributed };

struct ColumnShape {
    std::string name;
    std::string type;

    bool operator==(const ColumnShape&) const = default;
};

/// What a table looks like on a server, as far as drift is concerned: the columns and types, the engine and
/// its keys. Expressions are kept normalised (see normalizeExpression) so the file and the server compare.
struct TableShape {
    std::string name;
    std::string engine;         ///< engine name: ReplicatedMergeTree, MaterializedView, Distributed, ...
    std::string partition_key;  ///< for materialized views, the keys of the inner table
    std::string sorting_key;
    std::string distribution;  ///< Distributed only: "cluster,database,table[,sharding_key]"
    std::vector<ColumnShape> columns;
};

/// One object chfleet creates on every node of a site, with its CREATE statement and its expected shape.
struct PlannedObject {
    ObjectKind kind = ObjectKind::LocalTable;
    std::string table;  ///< the logical table of the fleet file it belongs to
    std::string create_sql;
    TableShape shape;
};

/// Everything the schema puts on each node of `site`, in creation order: local Replicated tables, then the
/// materialized views (which need their source), then per region `<t>_<alias>_distributed` sharded by the
/// table's sharding key, then `<t>_distributed` over the site's global cluster with NO sharding key, so that
/// an insert through it fails instead of putting one region's rows on another region's shards.
std::vector<PlannedObject> planForSite(const topology::Fleet& fleet, const topology::Site& site);

/// What a node's server adds to the plan: on servers with TTL (19.6+), the local tables and views of tables
/// with a retention get the TTL of the node's region (retention/TtlClause.h), and `ttl_only_drop_parts = 1`
/// where the server has that setting and the partitions follow the retention column.
struct NodeTraits {
    std::string region;
    bool ttl = false;
    bool ttl_only_drop_parts = false;
};

/// planForSite for one node: the same objects, with the TTL its server and region call for.
std::vector<PlannedObject> planForNode(const topology::Fleet& fleet, const topology::Site& site,
                                       const NodeTraits& traits);

/// CREATE DATABASE IF NOT EXISTS for the fleet's database.
std::string createDatabaseSql(const topology::Fleet& fleet);

/// The keeper path of a table's replicas: /clickhouse/tables/{region}/{shard}/<table> (macros expanded by the
/// server).
std::string replicaPath(const topology::Table& table);

/// An expression as ClickHouse prints it in system.tables, reduced for comparison: white space, quotes and
/// backticks removed, and one pair of parentheses around the whole expression dropped.
std::string normalizeExpression(std::string_view expression);

/// A column type reduced for comparison: normalizeExpression, and the Decimal32/64/128(S) aliases written as
/// the Decimal(P, S) ClickHouse reports.
std::string normalizeType(std::string_view type);

/// The Distributed engine's arguments as normalised in TableShape::distribution, from engine_full.
std::string distributionFromEngineFull(std::string_view engine_full);

}  // namespace chfleet::schema
