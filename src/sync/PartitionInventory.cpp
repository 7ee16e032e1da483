#include "sync/PartitionInventory.h"

#include <exception>
#include <future>
#include <optional>

#include "clickhouse/Result.h"

namespace chfleet::sync {

namespace {
constexpr const char* kSkippedDatabases = "('system', 'INFORMATION_SCHEMA', 'information_schema')";
}

ShardInventory readShardInventory(const std::function<std::unique_ptr<clickhouse::Connection>()>& connect) {
    // The two reads run at once, each on its own connection: the cycle waits for the longer one only (the
    // parts).
    auto tables_connection = connect();
    auto tables_read = std::async(std::launch::async, [&] {
        return clickhouse::query(
            *tables_connection, std::string("SELECT database, name, engine, engine_full "
                                            "FROM system.tables WHERE engine LIKE '%MergeTree%' AND database "
                                            "NOT IN ") +
                                    kSkippedDatabases);
    });
    std::optional<clickhouse::Result> parts;
    std::exception_ptr parts_error;
    try {
        auto parts_connection = connect();
        parts = clickhouse::query(
            *parts_connection,
            std::string(
                "SELECT database, table, partition_id, any(partition) AS partition, sum(rows) AS rows, "
                "sum(cityHash64(name)) AS fingerprint, "
                "toUInt64(max(modification_time)) AS modified, "
                "greatest(toUInt64(max(max_time)), toUInt64(toDateTime(max(max_date)))) AS max_time "
                "FROM system.parts WHERE active AND database NOT IN ") +
                kSkippedDatabases + " GROUP BY database, table, partition_id");
    } catch (...) {
        parts_error = std::current_exception();
    }
    auto tables = tables_read.get();  // waits for the other read whatever happened to this one
    if (parts_error) {
        std::rethrow_exception(parts_error);
    }

    ShardInventory inventory;
    for (size_t row = 0; row < tables.rowCount(); ++row) {
        auto& table =
            inventory.tables[tables.getString(row, "database") + "." + tables.getString(row, "name")];
        table.engine = tables.getString(row, "engine");
        table.engine_full = tables.getString(row, "engine_full");
    }
    for (size_t row = 0; row < parts->rowCount(); ++row) {
        auto it =
            inventory.tables.find(parts->getString(row, "database") + "." + parts->getString(row, "table"));
        if (it == inventory.tables.end()) {
            continue;  // created or dropped between the two reads: the next cycle sees it
        }
        PartitionInfo info;
        info.partition = parts->getString(row, "partition");
        info.rows = parts->getUInt64(row, "rows");
        info.fingerprint = parts->getUInt64(row, "fingerprint");
        info.modified = parts->getUInt64(row, "modified");
        info.max_time = parts->getUInt64(row, "max_time");
        it->second.partitions.emplace_hint(it->second.partitions.end(), parts->getString(row, "partition_id"),
                                           std::move(info));
    }
    return inventory;
}

}  // namespace chfleet::sync
