#pragma once

#include <string>

#include "topology/Fleet.h"

// The TTL a table's retention becomes on servers that have TTL (19.6+). The interval is the policy of the
// node's region, so an EU node's table says 730 days where a US node's says 2555: each region's servers
// enforce their own horizon, with no region column inside one expression.
namespace chfleet::retention {

/// " TTL `column` + INTERVAL n DAY" for a table of a node in `region`; "" when the table has no retention.
std::string ttlClause(const topology::Table& table, const std::string& region);

/// True when the table's partitions follow its retention column (the partition key uses it), so that a
/// whole part expires at once and `ttl_only_drop_parts = 1` drops parts instead of rewriting them.
bool partsExpireWhole(const topology::Table& table);

}  // namespace chfleet::retention
