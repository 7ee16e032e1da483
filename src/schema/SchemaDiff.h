#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "clickhouse/Connection.h"
#include "schema/SchemaPlan.h"
#include "topology/Fleet.h"

namespace chfleet::schema {

/// One difference: on `node`, `table` differs from `against` ("file", "replica <node>", "site <site>
/// (<node>)").
struct DriftFinding {
    std::string node;
    std::string site;
    std::string table;  ///< empty when the node itself could not be read
    std::string against;
    std::string what;  ///< e.g. "column value missing", "type of column x differs", "unreachable"
    std::string expected;
    std::string actual;
};

/// The tables of the fleet's database on one node (materialized views with their inner table's keys).
using NodeSnapshot = std::map<std::string, TableShape>;

/// Reads a node's tables and columns in two queries.
NodeSnapshot readSnapshot(clickhouse::Connection& connection, const std::string& database);

/// The differences between an expected and an actual shape of one table; `with_distribution` also compares
/// the Distributed engine's cluster and sharding key (not across sites, whose clusters have other names).
std::vector<DriftFinding> compareShapes(const TableShape& expected, const TableShape& actual,
                                        bool with_distribution);

/// Compares every node with the fleet file, every replica with the first replica of its shard, and each
/// region of every other site with the same region of the first site. Unreachable nodes are findings too.
std::vector<DriftFinding> diffSchema(const topology::Fleet& fleet);

}  // namespace chfleet::schema
