#include "sync/PartitionInventory.h"

#include <charconv>
#include <exception>
#include <future>

#include "clickhouse/Quoting.h"
#include "clickhouse/Result.h"
#include "common/Exception.h"

namespace chfleet::sync {

namespace {

constexpr const char* kSkippedDatabases = "('system', 'INFORMATION_SCHEMA', 'information_schema')";
constexpr size_t kPartsColumns = 8;

/// One TabSeparated line into its fields; false when the count is not kPartsColumns.
bool splitFields(std::string_view line, std::string_view (&fields)[kPartsColumns]) {
    size_t count = 0;
    for (size_t start = 0;;) {
        size_t tab = line.find('\t', start);
        if (count == kPartsColumns) {
            return false;
        }
        fields[count++] = line.substr(start, tab == std::string_view::npos ? tab : tab - start);
        if (tab == std::string_view::npos) {
            return count == kPartsColumns;
        }
        start = tab + 1;
    }
}

std::string fieldText(std::string_view field) {
    return field.find('\\') == std::string_view::npos ? std::string(field)
                                                      : clickhouse::unescapeTsvField(field);
}

uint64_t number(std::string_view field) {
    uint64_t value = 0;
    auto [end, error] = std::from_chars(field.data(), field.data() + field.size(), value);
    if (error != std::errc() || end != field.data() + field.size()) {
        throw Exception(ErrorCode::BadResponse, "system.parts answered '{}' where a number belongs",
                        std::string(field));
    }
    return value;
}

}  // namespace

ShardInventory readShardInventory(const std::function<std::unique_ptr<clickhouse::Connection>()>& connect) {
    // The two reads run at once, each on its own connection: the cycle waits for the longer one only (the
    // parts).
    auto tables_connection = connect();
    auto tables_read = std::async(std::launch::async, [&] {
        return clickhouse::query(
            *tables_connection, std::string("SELECT database, name, engine "
                                            "FROM system.tables WHERE engine LIKE '%MergeTree%' AND database "
                                            "NOT IN ") +
                                    kSkippedDatabases);
    });
    std::string parts;
    std::exception_ptr parts_error;
    try {
        auto parts_connection = connect();
        parts = parts_connection->execute(
            std::string(
                "SELECT database, table, partition_id, any(partition) AS partition, sum(rows) AS rows, "
                "sum(cityHash64(name)) AS fingerprint, "
                "toUInt64(max(modification_time)) AS modified, "
                "greatest(toUInt64(max(max_time)), toUInt64(toDateTime(max(max_date)))) AS max_time "
                "FROM system.parts WHERE active AND database NOT IN ") +
            kSkippedDatabases + " GROUP BY database, table, partition_id FORMAT TabSeparated");
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
    }
    // Tens of thousands of rows on a large fleet: read in place, one line at a time, without a Result.
    for (std::string_view rest = parts; !rest.empty();) {
        size_t end = rest.find('\n');
        std::string_view line = rest.substr(0, end);
        rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
        std::string_view fields[kPartsColumns];
        if (!splitFields(line, fields)) {
            throw Exception(ErrorCode::BadResponse, "system.parts answered a malformed row: {}",
                            std::string(line.substr(0, 200)));
        }
        auto it = inventory.tables.find(fieldText(fields[0]) + "." + fieldText(fields[1]));
        if (it == inventory.tables.end()) {
            continue;  // created or dropped between the two reads: the next cycle sees it
        }
        PartitionInfo info;
        info.partition = fieldText(fields[3]);
        info.rows = number(fields[4]);
        info.fingerprint = number(fields[5]);
        info.modified = number(fields[6]);
        info.max_time = number(fields[7]);
        it->second.partitions.emplace(fieldText(fields[2]), std::move(info));
    }
    return inventory;
}

}  // namespace chfleet::sync
