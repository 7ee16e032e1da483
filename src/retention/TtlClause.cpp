#include "retention/TtlClause.h"

#include <algorithm>

#include "clickhouse/Quoting.h"
#include "retention/RetentionPolicy.h"
#include "topology/FleetFile.h"

namespace chfleet::retention {

std::string ttlClause(const topology::Table& table, const std::string& region) {
    const Retention* policy = policyOf(table);
    if (policy == nullptr) {
        return {};
    }
    return " TTL " + clickhouse::quoteIdentifier(policy->column) + " + INTERVAL " +
           std::to_string(policy->daysFor(region)) + " DAY";
}

bool partsExpireWhole(const topology::Table& table) {
    const Retention* policy = policyOf(table);
    if (policy == nullptr) {
        return false;
    }
    auto columns = topology::columnReferences(table.partition_by);
    return std::find(columns.begin(), columns.end(), policy->column) != columns.end();
}

}  // namespace chfleet::retention
