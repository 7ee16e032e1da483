#include "sync/PartitionInventory.h"

#include "clickhouse/Result.h"

namespace chfleet::sync {

namespace {
constexpr const char* kSkippedDatabases = "('system', 'INFORMATION_SCHEMA', 'information_schema')";
}

ShardInventory readShardInventory(clickhouse::Connection& connection) {
    ShardInventory inventory;
    auto tables = clickhouse::query(
        connection, std::string("SELECT database, name, engine, engine_full, create_table_query "
                                "FROM system.tables WHERE engine LIKE '%MergeTree%' AND database "
                                "NOT IN ") +
                        kSkippedDatabases);
    for (size_t row = 0; row < tables.rowCount(); ++row) {
        auto& table =
            inventory.tables[tables.getString(row, "database") + "." + tables.getString(row, "name")];
        table.engine = tables.getString(row, "engine");
        table.engine_full = tables.getString(row, "engine_full");
        table.create_query = tables.getString(row, "create_table_query");
    }
    auto parts = clickhouse::query(
        connection,
        std::string("SELECT database, table, partition_id, any(partition) AS partition, sum(rows) AS rows, "
                    "sum(cityHash64(name)) AS fingerprint, "
                    "toUInt64(max(modification_time)) AS modified, "
                    "greatest(toUInt64(max(max_time)), toUInt64(toDateTime(max(max_date)))) AS max_time "
                    "FROM system.parts WHERE active AND database NOT IN ") +
            kSkippedDatabases + " GROUP BY database, table, partition_id");
    for (size_t row = 0; row < parts.rowCount(); ++row) {
        auto it =
            inventory.tables.find(parts.getString(row, "database") + "." + parts.getString(row, "table"));
        if (it == inventory.tables.end()) {
            continue;  // created or dropped between the two queries: next cycle sees it
        }
        PartitionInfo info;
        info.partition = parts.getString(row, "partition");
        info.rows = parts.getUInt64(row, "rows");
        info.fingerprint = parts.getUInt64(row, "fingerprint");
        info.modified = parts.getUInt64(row, "modified");
        info.max_time = parts.getUInt64(row, "max_time");
        it->second.partitions[parts.getString(row, "partition_id")] = info;
    }
    return inventory;
}

}  // namespace chfleet::sync
