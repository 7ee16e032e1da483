#include "sync/PartitionRepair.h"

#include <fmt/format.h>

#include <random>

#include "clickhouse/Capabilities.h"
#include "clickhouse/HttpConnection.h"
#include "clickhouse/Quoting.h"
#include "clickhouse/Result.h"
#include "clickhouse/ServerError.h"
#include "common/Exception.h"
#include "common/Log.h"

namespace chfleet::sync {

using clickhouse::qualifiedName;
using clickhouse::quoteIdentifier;
using clickhouse::quoteString;

namespace {

/// Counts the statements sent to one site, for the cost figures.
class CountingConnection final : public clickhouse::Connection {
  public:
    CountingConnection(std::unique_ptr<clickhouse::Connection> inner, std::atomic<uint64_t>& counter)
        : inner_(std::move(inner)), counter_(counter) {}
    std::string execute(std::string_view sql, std::string_view data,
                        const clickhouse::Settings& settings) override {
        ++counter_;
        return inner_->execute(sql, data, settings);
    }
    std::string describe() const override { return inner_->describe(); }

  private:
    std::unique_ptr<clickhouse::Connection> inner_;
    std::atomic<uint64_t>& counter_;
};

}  // namespace

std::unique_ptr<clickhouse::Connection> connectCounting(const SyncOptions& options,
                                                        const topology::Node& node,
                                                        std::atomic<uint64_t>& queries, bool unbounded) {
    auto endpoint = options.endpoint_for(node);
    endpoint.connect_timeout = std::chrono::milliseconds(options.connect_timeout_ms);
    if (unbounded) {
        endpoint.total_timeout = std::chrono::milliseconds(0);
    }
    return std::make_unique<CountingConnection>(std::make_unique<clickhouse::HttpConnection>(endpoint),
                                                queries);
}

uint64_t fnv1a(std::string_view text) {
    uint64_t hash = 1469598103934665603ull;
    for (unsigned char c : text) {
        hash = (hash ^ c) * 1099511628211ull;
    }
    return hash;
}

std::string splitDatabase(const std::string& key, std::string* table) {
    auto dot = key.find('.');
    *table = key.substr(dot + 1);
    return key.substr(0, dot);
}

/// How a repair reaches the other site's rows of a region, from a server of this site: through the cluster
/// the server's own config defines (credentials stay in server config) or, failing that, remote() with the
/// fleet credentials (they then appear in the statement; chfleet never logs statements).
std::string sourceTable(const SyncOptions& options, clickhouse::Connection& connection,
                        const topology::Site& other_site, const topology::Region& other_region,
                        const std::string& database, const std::string& table) {
    auto defined = clickhouse::scalar(connection, "SELECT count() FROM system.clusters WHERE cluster = " +
                                                      quoteString(other_region.cluster));
    if (defined != "0") {
        return "cluster(" + quoteString(other_region.cluster) + ", " + quoteString(database) + ", " +
               quoteString(table) + ")";
    }
    std::string addresses;
    for (int shard = 1; shard <= other_region.shards; ++shard) {
        addresses += shard == 1 ? "" : ",";
        for (int replica = 1; replica <= other_region.replicas; ++replica) {
            const auto* node = other_region.node(shard, replica);
            addresses += (replica == 1 ? "" : "|") + node->host + ":" + std::to_string(node->tcp_port);
        }
    }
    auto credentials = options.remote_credentials(other_site);
    return "remote(" + quoteString(addresses) + ", " + quoteString(database) + ", " + quoteString(table) +
           ", " + quoteString(credentials.user) + ", " + quoteString(credentials.password) + ")";
}

namespace {

/// Adds one column (in table order) to a table's column list and row hash under construction.
void addColumn(TableColumns& out, const std::string& name, const std::string& type) {
    auto quoted = quoteIdentifier(name);
    // 18.16's cityHash64 refuses UUID and Decimal arguments (Code 43): those are hashed as text.
    bool as_text = type.find("UUID") != std::string::npos || type.find("Decimal") != std::string::npos;
    std::string hashed = as_text ? "toString(" + quoted + ")" : quoted;
    if (out.list.empty()) {
        out.list = quoted;
        out.hash = "cityHash64(" + hashed;
    } else {
        out.list += ", " + quoted;
        out.hash += ", " + hashed;
    }
}

constexpr const char* kOrdinaryColumns = "default_kind NOT IN ('MATERIALIZED', 'ALIAS')";

}  // namespace

TableColumns readColumns(clickhouse::Connection& connection, const std::string& database,
                         const std::string& table) {
    auto columns = clickhouse::query(
        connection, "SELECT name, type FROM system.columns WHERE database = " + quoteString(database) +
                        " AND table = " + quoteString(table) + " AND " + kOrdinaryColumns);
    TableColumns out;
    for (size_t row = 0; row < columns.rowCount(); ++row) {
        addColumn(out, columns.getString(row, "name"), columns.getString(row, "type"));
    }
    if (out.list.empty()) {
        throw Exception(ErrorCode::BadResponse, "{}.{} has no columns on {}", database, table,
                        connection.describe());
    }
    out.hash += ")";
    return out;
}

std::map<std::string, TableColumns> readAllColumns(clickhouse::Connection& connection) {
    auto columns = clickhouse::query(
        connection,
        std::string("SELECT database, table, name, type FROM system.columns WHERE database NOT IN "
                    "('system', 'INFORMATION_SCHEMA', 'information_schema') AND ") +
            kOrdinaryColumns);
    std::map<std::string, TableColumns> out;
    for (size_t row = 0; row < columns.rowCount(); ++row) {
        addColumn(out[columns.getString(row, "database") + "." + columns.getString(row, "table")],
                  columns.getString(row, "name"), columns.getString(row, "type"));
    }
    for (auto& [key, table] : out) {
        table.hash += ")";
    }
    return out;
}

Checksum readChecksum(clickhouse::Connection& connection, const std::string& select) {
    auto result = clickhouse::query(connection, select);
    return {result.getUInt64(0, "_chfleet_c"), result.getUInt64(0, "_chfleet_h")};
}

bool isStagingTableRace(const std::exception& error) {
    const auto* server = dynamic_cast<const ServerException*>(&error);
    return server != nullptr && server->serverCode() == clickhouse::server_code::kUnknownTable &&
           std::string_view(server->what()).find(kStagingPrefix) != std::string_view::npos;
}

std::string stagingName(const std::string& repair) {
    // A name of its own for every attempt: two repairs never share a staging table, whether they run in one
    // cycle, in two processes (two daemons with different state files) or one after the other while a
    // replica still replays the first one's ATTACH, which names its source table.
    static const uint64_t process_nonce = std::random_device{}() ^ (uint64_t{std::random_device{}()} << 32);
    static std::atomic<uint64_t> attempts{0};
    return fmt::format("{}{:016x}", kStagingPrefix,
                       fnv1a(fmt::format("{}|{:x}|{}", repair, process_nonce, attempts.fetch_add(1))));
}

RepairResult repairPartition(const SyncOptions& options, const RepairJob& job) {
    RepairResult result;
    result.difference = job.difference;
    const auto& diff = job.difference;
    std::string table_name;
    std::string database = splitDatabase(diff.table, &table_name);
    std::string target = qualifiedName(database, table_name);
    std::string staging_name = stagingName(diff.site + "|" + job.region->name + "|" + diff.table + "|" +
                                           diff.partition_id + "|" + std::to_string(diff.shard));
    std::string staging = qualifiedName(database, staging_name);
    auto connection = connectCounting(options, *job.node, *job.queries, true);
    try {
        auto capabilities = clickhouse::detectCapabilities(*connection);
        clickhouse::Settings settings{
            {"connect_timeout_with_failover_ms", std::to_string(options.connect_timeout_ms)}};
        if (capabilities.max_insert_threads) {
            settings.emplace_back("max_insert_threads", std::to_string(options.max_insert_threads));
        }
        if (job.replicated) {
            // The shard's other replicas may hold rows this one has not fetched yet; the delta must not count
            // them as missing.
            clickhouse::execute(*connection, "SYSTEM SYNC REPLICA " + target);
        }
        std::string source =
            sourceTable(options, *connection, *job.other_site, *job.other_region, database, table_name);
        std::string belongs_here = "_partition_id = " + quoteString(diff.partition_id) + " AND (" +
                                   shardExpression(*job.region, job.sharding_key) +
                                   ") = " + std::to_string(diff.shard);
        std::string here = "_partition_id = " + quoteString(diff.partition_id);
        // The engine's full text is read here only: the inventory leaves it out (formatting it for every
        // table costs the servers more than the rest of the tables read).
        std::string engine_full = clickhouse::scalar(
            *connection, "SELECT engine_full FROM system.tables WHERE database = " + quoteString(database) +
                             " AND name = " + quoteString(table_name));
        clickhouse::execute(*connection, "DROP TABLE IF EXISTS " + staging);
        clickhouse::execute(*connection, "CREATE TABLE " + staging + " AS " + target +
                                             " ENGINE = " + stagingEngine(engine_full));
        auto table_columns = readColumns(*connection, database, table_name);
        const std::string& columns = table_columns.list;
        const std::string& row_hash = table_columns.hash;
        Checksum expected;
        // Mirror copies the other site's rows; so does union when this shard has none of the partition (the
        // common case of a missing partition), without the cost of grouping by every column.
        bool target_empty =
            diff.rows_here == 0 &&
            clickhouse::scalar(*connection, "SELECT count() FROM " + target + " WHERE " + here) == "0";
        if (options.policy == SyncPolicy::Mirror || target_empty) {
            clickhouse::execute(*connection,
                                "INSERT INTO " + staging + " SELECT " + columns + " FROM " + source +
                                    " WHERE " + belongs_here,
                                settings);
            expected = job.expected_mirror;
        } else {
            // The multiset difference "other site minus this shard": each row as many more times as the other
            // site has it. Attached on its own, it adds exactly what is missing and removes nothing.
            std::string delta =
                "SELECT " + columns +
                ", toUInt64(greatest(toInt64(sum(_chfleet_there)) - "
                "toInt64(sum(_chfleet_here)), 0)) AS _chfleet_n FROM (SELECT " +
                columns + ", count() AS _chfleet_there, toUInt64(0) AS _chfleet_here FROM " + source +
                " WHERE " + belongs_here + " GROUP BY " + columns + " UNION ALL SELECT " + columns +
                ", toUInt64(0) AS _chfleet_there, count() AS _chfleet_here FROM " + target + " WHERE " +
                here + " GROUP BY " + columns + ") GROUP BY " + columns + " HAVING _chfleet_n > 0";
            clickhouse::execute(*connection,
                                "INSERT INTO " + staging + " SELECT " + columns + " FROM (" + delta +
                                    ") ARRAY JOIN range(_chfleet_n) AS _chfleet_copy",
                                settings);
            expected = readChecksum(*connection, "SELECT sum(_chfleet_n) AS _chfleet_c, sum(" + row_hash +
                                                     " * _chfleet_n) AS _chfleet_h FROM (" + delta + ")");
        }
        Checksum staged = readChecksum(
            *connection, "SELECT count() AS _chfleet_c, sum(" + row_hash + ") AS _chfleet_h FROM " + staging);
        if (!(staged == expected)) {
            throw Exception(
                ErrorCode::Failed,
                "staging of {} partition {} holds {} rows (checksum {}), the source {} ({}): the source "
                "changed while it was copied; the table is untouched, the next cycle retries",
                diff.table, diff.partition_id, staged.count, staged.hash, expected.count, expected.hash);
        }
        if (options.policy == SyncPolicy::Mirror) {
            auto changes = clickhouse::query(
                *connection,
                "SELECT sum(greatest(toInt64(_chfleet_s) - toInt64(_chfleet_t), 0)) AS added, "
                "sum(greatest(toInt64(_chfleet_t) - toInt64(_chfleet_s), 0)) AS removed FROM (SELECT "
                "_chfleet_h, "
                "sum(_chfleet_in_s) AS _chfleet_s, sum(_chfleet_in_t) AS _chfleet_t FROM (SELECT " +
                    row_hash + " AS _chfleet_h, 1 AS _chfleet_in_s, 0 AS _chfleet_in_t FROM " + staging +
                    " UNION ALL SELECT " + row_hash +
                    " AS _chfleet_h, 0 AS _chfleet_in_s, 1 AS _chfleet_in_t FROM " + target + " WHERE " +
                    here + ") GROUP BY _chfleet_h)");
            result.rows_added = static_cast<uint64_t>(changes.getInt64(0, "added"));
            result.rows_removed = static_cast<uint64_t>(changes.getInt64(0, "removed"));
            if (result.rows_added == 0 && result.rows_removed == 0) {
                result.skipped = true;
            } else {
                clickhouse::execute(*connection, "ALTER TABLE " + target + " REPLACE PARTITION ID " +
                                                     quoteString(diff.partition_id) + " FROM " + staging);
            }
        } else {
            result.rows_added = staged.count;
            if (staged.count == 0) {
                result.skipped = true;  // this shard already holds every row the other site has
            } else {
                clickhouse::execute(*connection, "ALTER TABLE " + target + " ATTACH PARTITION ID " +
                                                     quoteString(diff.partition_id) + " FROM " + staging);
            }
        }
        clickhouse::execute(*connection, "DROP TABLE IF EXISTS " + staging);
        result.done = true;
    } catch (const Exception& e) {
        result.error = e.what();
        result.staging_race = isStagingTableRace(e);
        try {
            clickhouse::execute(*connection, "DROP TABLE IF EXISTS " + staging);
        } catch (const Exception& cleanup) {
            log::get("sync")->warn("could not drop staging table {} on {} (the next cycle drops it): {}",
                                   staging, job.node->name, cleanup.what());
        }
    }
    return result;
}

}  // namespace chfleet::sync
