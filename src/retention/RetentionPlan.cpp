#include "retention/RetentionPlan.h"

#include <algorithm>

#include "clickhouse/Quoting.h"
#include "clickhouse/Result.h"
#include "retention/RetentionPolicy.h"
#include "topology/FleetFile.h"

namespace chfleet::retention {

using clickhouse::quoteString;

std::vector<RetainedTable> retainedTables(const topology::Fleet& fleet, const std::string& region) {
    std::vector<RetainedTable> tables;
    for (const auto& table : fleet.schema.tables) {
        const Retention* policy = policyOf(table);
        if (policy == nullptr) {
            continue;
        }
        RetainedTable retained;
        retained.table = &table;
        retained.stored_name = table.kind == topology::TableKind::MaterializedView
                                   ? ".inner." + table.localName()
                                   : table.localName();
        retained.column = policy->column;
        const topology::Column* column = table.column(policy->column);
        retained.kind = column != nullptr ? valueKindOf(column->type) : ValueKind::Unsupported;
        retained.days = policy->daysFor(region);
        tables.push_back(std::move(retained));
    }
    return tables;
}

std::string_view verdictName(Verdict verdict) {
    switch (verdict) {
        case Verdict::Keep:
            return "keep";
        case Verdict::Expired:
            return "expired";
        case Verdict::Straddling:
            return "straddling";
        case Verdict::Unknown:
            return "unknown";
    }
    return "unknown";
}

Verdict verdictOf(const PartitionFacts& facts, int days, uint64_t now) {
    if (!facts.dated) {
        return Verdict::Unknown;
    }
    if (isPastHorizon(facts.newest, days, now)) {
        return Verdict::Expired;
    }
    return isPastHorizon(facts.oldest, days, now) ? Verdict::Straddling : Verdict::Keep;
}

std::string planningSql(const std::string& database, const std::vector<RetainedTable>& tables) {
    std::string names;
    for (const auto& table : tables) {
        names += (names.empty() ? "" : ", ") + quoteString(table.stored_name);
    }
    // system.parts keeps, per part, the min/max of the partition key's Date column (min_date, max_date) or
    // DateTime column (min_time, max_time): zero when the key has none, or has more than one.
    return "SELECT t, partition_id, partition, rows, min_date, max_date, min_time, max_time, partition_key, "
           "has_ttl FROM (SELECT table AS t, partition_id, any(partition) AS partition, sum(rows) AS rows, "
           "toUInt64(min(min_date)) AS min_date, toUInt64(max(max_date)) AS max_date, "
           "toUInt64(min(min_time)) AS min_time, toUInt64(max(max_time)) AS max_time "
           "FROM system.parts WHERE active AND database = " +
           quoteString(database) + " AND table IN (" + names +
           ") GROUP BY t, partition_id) AS parts ANY LEFT JOIN (SELECT name AS t, partition_key, "
           "toUInt8(position(create_table_query, ' TTL ') > 0) AS has_ttl FROM system.tables WHERE "
           "database = " +
           quoteString(database) + ") AS tables USING t";
}

namespace {

/// Why the partition key's metadata cannot give the retention column's range, or "" when it can; sets
/// `scan` when a scan of the column can.
std::string metadataProblem(const RetainedTable& table, const std::string& partition_key, bool& scan) {
    scan = false;
    if (table.kind == ValueKind::Unsupported) {
        const auto* column = table.table->column(table.column);
        return "column " + table.column + " is " + (column != nullptr ? column->type : "missing") +
               ", not Date or DateTime";
    }
    if (partition_key.empty()) {
        return "the server reports no partition key";
    }
    auto references = topology::columnReferences(partition_key);
    if (std::find(references.begin(), references.end(), table.column) == references.end()) {
        return "the partition key (" + partition_key + ") does not use " + table.column +
               ": partitions do not follow its age";
    }
    for (const auto& name : references) {
        const auto* other = table.table->column(name);
        if (name != table.column && other != nullptr && valueKindOf(other->type) != ValueKind::Unsupported) {
            scan = true;  // the server keeps the min/max of only one date column of the key
        }
    }
    return {};
}

}  // namespace

NodeFacts readNodeFacts(clickhouse::Connection& connection, const std::string& database,
                        const std::vector<RetainedTable>& tables) {
    NodeFacts facts;
    if (tables.empty()) {
        return facts;
    }
    auto parts = clickhouse::query(connection, planningSql(database, tables));
    facts.queries = 1;
    std::vector<const RetainedTable*> to_scan;
    for (const auto& table : tables) {
        NodeTable& node_table = facts.tables[table.table->name];
        bool scan = false;
        bool seen = false;
        for (size_t row = 0; row < parts.rowCount(); ++row) {
            if (parts.getString(row, "t") != table.stored_name) {
                continue;
            }
            if (!seen) {
                seen = true;
                node_table.has_ttl = parts.getUInt64(row, "has_ttl") > 0;
                node_table.unknown_reason =
                    metadataProblem(table, parts.getString(row, "partition_key"), scan);
            }
            PartitionFacts partition;
            partition.partition = parts.getString(row, "partition");
            partition.rows = parts.getUInt64(row, "rows");
            bool date = table.kind == ValueKind::Date;
            uint64_t low = parts.getUInt64(row, date ? "min_date" : "min_time");
            uint64_t high = parts.getUInt64(row, date ? "max_date" : "max_time");
            if (node_table.unknown_reason.empty() && !scan) {
                if (low == 0 || high == 0) {
                    scan = true;  // no metadata for this column: read the column itself
                } else {
                    partition.dated = true;
                    partition.oldest = valueSeconds(table.kind, low);
                    partition.newest = valueSeconds(table.kind, high);
                }
            }
            node_table.partitions[parts.getString(row, "partition_id")] = partition;
        }
        if (scan && node_table.unknown_reason.empty()) {
            to_scan.push_back(&table);
        }
    }
    if (to_scan.empty()) {
        return facts;
    }
    std::string sql;
    for (const auto* table : to_scan) {
        std::string value = storedValueSql(table->column);
        sql += (sql.empty() ? "" : " UNION ALL ") + std::string("SELECT ") + quoteString(table->stored_name) +
               " AS t, _partition_id AS partition_id, toUInt64(min(" + value + ")) AS oldest, toUInt64(max(" +
               value + ")) AS newest FROM " + clickhouse::qualifiedName(database, table->stored_name) +
               " GROUP BY _partition_id";
    }
    auto scanned = clickhouse::query(connection, sql);
    facts.queries = 2;
    for (const auto* table : to_scan) {
        NodeTable& node_table = facts.tables[table->table->name];
        for (auto& [id, partition] : node_table.partitions) {
            partition.dated = false;
        }
        for (size_t row = 0; row < scanned.rowCount(); ++row) {
            if (scanned.getString(row, "t") != table->stored_name) {
                continue;
            }
            auto it = node_table.partitions.find(scanned.getString(row, "partition_id"));
            if (it == node_table.partitions.end()) {
                continue;  // written after the planning query: next run sees it
            }
            it->second.dated = true;
            it->second.oldest = valueSeconds(table->kind, scanned.getUInt64(row, "oldest"));
            it->second.newest = valueSeconds(table->kind, scanned.getUInt64(row, "newest"));
        }
    }
    return facts;
}

}  // namespace chfleet::retention
