#include "sync/SyncEngine.h"

#include <atomic>
#include <chrono>
#include <ctime>
#include <future>
#include <mutex>
#include <optional>
#include <string_view>

#include "clickhouse/Capabilities.h"
#include "clickhouse/CityHash.h"
#include "clickhouse/HttpConnection.h"
#include "clickhouse/Quoting.h"
#include "clickhouse/Result.h"
#include "common/Exception.h"
#include "common/Log.h"
#include "retention/Horizon.h"
#include "retention/RetentionPolicy.h"
#include "sync/PartitionInventory.h"
#include "sync/PartitionRepair.h"
#include "sync/SyncSettings.h"
#include "topology/NodeConnection.h"

namespace chfleet::sync {

using clickhouse::qualifiedName;
using clickhouse::quoteIdentifier;
using clickhouse::quoteString;

namespace {

/// Attempts of a repair whose staging table vanished under it (isStagingTableRace), the first one included.
constexpr int kStagingRaceAttempts = 3;

auto logger() {
    return log::get("sync");
}

struct ShardState {
    const topology::Node* node = nullptr;  ///< the replica that answered
    ShardInventory inventory;
    std::string problem;  ///< why no replica answered; empty when one did
};

struct RegionState {
    const topology::Region* region = nullptr;
    std::vector<ShardState> shards;  ///< index = shard - 1
};

struct SiteState {
    const topology::Site* site = nullptr;
    std::vector<RegionState> regions;
    std::atomic<uint64_t> queries{0};
    std::string problem;  ///< why the site is unhealthy; empty when healthy
};

/// The fleet table a local table belongs to: `<name>_local`, or the inner table of a view
/// `.inner.<name>_local`.
const topology::Table* logicalTable(const topology::Fleet& fleet, const std::string& database,
                                    const std::string& table) {
    if (database != fleet.schema.database) {
        return nullptr;
    }
    std::string name = table.rfind(".inner.", 0) == 0 ? table.substr(7) : table;
    constexpr std::string_view kSuffix = "_local";
    if (name.size() <= kSuffix.size() ||
        name.compare(name.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0) {
        return nullptr;
    }
    return fleet.schema.table(name.substr(0, name.size() - kSuffix.size()));
}

/// Reads every shard's inventory through its first replica that answers, all shards of the site at once.
void readSite(const SyncOptions& options, SiteState& state) {
    std::vector<std::future<void>> reads;
    state.regions.resize(state.site->regions.size());
    for (size_t r = 0; r < state.site->regions.size(); ++r) {
        const auto& region = state.site->regions[r];
        auto& region_state = state.regions[r];
        region_state.region = &region;
        region_state.shards.resize(region.shards);
        for (int shard = 1; shard <= region.shards; ++shard) {
            reads.push_back(std::async(std::launch::async, [&options, &state, &region, &region_state, shard] {
                auto& shard_state = region_state.shards[shard - 1];
                std::string last_error;
                for (int replica = 1; replica <= region.replicas && shard_state.node == nullptr; ++replica) {
                    const auto* node = region.node(shard, replica);
                    try {
                        shard_state.inventory = readShardInventory(
                            [&] { return connectCounting(options, *node, state.queries); });
                        shard_state.node = node;
                    } catch (const Exception& e) {
                        last_error = e.what();
                    }
                }
                if (shard_state.node == nullptr) {
                    shard_state.problem = fmt::format("site {}: no replica of {} shard {} answers ({})",
                                                      state.site->name, region.name, shard, last_error);
                }
            }));
        }
    }
    for (auto& read : reads) {
        read.get();
    }
    for (const auto& region_state : state.regions) {
        for (const auto& shard_state : region_state.shards) {
            if (!shard_state.problem.empty() && state.problem.empty()) {
                state.problem = shard_state.problem;
            }
        }
    }
}

/// sums[shard - 1][partition id][destination shard on the other site]
using PartitionSums = std::vector<std::map<std::string, std::map<int, Checksum>>>;

/// One partition of a table in one region, as both sites' inventories describe it.
struct PartitionSummary {
    /// Every shard's parts on both sites: their bytes while the inventories are gathered (addToFingerprint),
    /// then the digest kept in the state file (partitionFingerprint).
    std::string fingerprint;
    uint64_t totals[2] = {0, 0};  ///< rows per side
    uint64_t newest_data = 0;
    uint64_t last_write = 0;
    std::string printable;
};

/// Appends one shard's view of a partition to the bytes its fingerprint is the digest of.
void addToFingerprint(std::string& bytes, uint64_t side, uint64_t shard, const PartitionInfo& partition) {
    for (uint64_t word : {side, shard, partition.rows, partition.fingerprint}) {
        bytes.append(reinterpret_cast<const char*>(&word), sizeof(word));
    }
}

/// The text kept in the state file for a partition found equal: 16 hex digits of cityHash64 over every
/// shard's (side, shard, rows, part names' hash). Short, so that a state of tens of thousands of partitions
/// is read and written in a few milliseconds.
std::string partitionFingerprint(const std::string& bytes) {
    return fmt::format("{:016x}", clickhouse::cityHash64(bytes));
}

/// A table of one region whose partitions need a content checksum this cycle, and what the checksums found.
struct PendingTable {
    std::string key;  ///< db.table
    std::string sharding_key;
    std::vector<std::string> partition_ids;              ///< the partitions to checksum
    std::map<std::string, PartitionSummary> partitions;  ///< every partition either site has, by id
    PartitionSums sums[2];                               ///< per side
    std::string failure;  ///< why its checksums could not be read; empty on success
};

/// Settings that let one statement carry the checksums of thousands of tables: the server's defaults (256 KiB
/// of text, 50,000 syntax tree elements) are sized for hand-written queries.
clickhouse::Settings largeStatementSettings(const std::string& statement) {
    std::string elements = std::to_string(std::max<size_t>(50000, statement.size()));
    return {{"max_query_size", std::to_string(std::max<size_t>(262144, statement.size() + 4096))},
            {"max_ast_elements", elements},
            {"max_expanded_ast_elements", elements}};
}

/// The part of the checksum statement for one table: its listed partitions' count and row hash sum, grouped
/// by partition and by `destination` (the other site's shard expression).
std::string sumsSelect(const PendingTable& table, const TableColumns& columns,
                       const std::string& destination) {
    std::string table_name;
    std::string database = splitDatabase(table.key, &table_name);
    std::string id_list;
    for (const auto& id : table.partition_ids) {
        id_list += (id_list.empty() ? "" : ", ") + quoteString(id);
    }
    return "SELECT " + quoteString(table.key) + " AS _chfleet_t, _partition_id AS _chfleet_p, toUInt64(" +
           destination + ") AS _chfleet_d, count() AS _chfleet_c, sum(" + columns.hash +
           ") AS _chfleet_h FROM " + qualifiedName(database, table_name) + " WHERE _partition_id IN (" +
           id_list + ") GROUP BY _chfleet_p, _chfleet_d";
}

/// Reads, on every shard of one site's region, the checksums of every pending table the shard has, into
/// `sums[side]` of each table. Two statements per shard whatever the number of tables: the columns of all
/// tables, then one UNION ALL of every table's sums. Should that statement fail on the server (a table
/// dropped meanwhile, a column type that cannot be hashed), each table is read on its own so that the one at
/// fault is named and the others are still compared. The statement reads every row of those partitions: it
/// has no total time limit, only the stall timeout.
void readRegionSums(const SyncOptions& options, SiteState& site, const RegionState& region,
                    const topology::Region& other_region, int side, std::vector<PendingTable>& pending) {
    for (auto& table : pending) {
        table.sums[side].assign(region.shards.size(), {});
    }
    std::map<std::string, std::string> destinations;  // sharding key -> the other site's shard expression
    for (size_t s = 0; s < region.shards.size(); ++s) {
        const auto& shard = region.shards[s];
        std::vector<PendingTable*> here;
        for (auto& table : pending) {
            if (table.failure.empty() && shard.inventory.tables.count(table.key) > 0) {
                here.push_back(&table);
            }
        }
        if (here.empty()) {
            continue;
        }
        std::unique_ptr<clickhouse::Connection> connection;
        std::map<std::string, TableColumns> columns;
        try {
            connection = connectCounting(options, *shard.node, site.queries, true);
            columns = readAllColumns(*connection);
        } catch (const Exception& e) {
            for (auto* table : here) {
                table->failure = "checksum of " + table->key + " on " + shard.node->name + ": " + e.what();
            }
            continue;
        }
        std::map<std::string, std::pair<PendingTable*, std::string>> selects;  // by key: table, its SELECT
        for (auto* table : here) {
            auto found = columns.find(table->key);
            if (found == columns.end()) {
                table->failure = "checksum of " + table->key + " on " + shard.node->name +
                                 ": the table has no columns there (dropped meanwhile?)";
                continue;
            }
            auto [destination, added] = destinations.try_emplace(table->sharding_key);
            if (added) {
                destination->second = shardExpression(other_region, table->sharding_key);
            }
            selects.emplace(table->key,
                            std::pair{table, sumsSelect(*table, found->second, destination->second)});
        }
        if (selects.empty()) {
            continue;
        }
        auto collect = [&](const clickhouse::Result& rows) {
            for (size_t row = 0; row < rows.rowCount(); ++row) {
                auto found = selects.find(rows.getString(row, "_chfleet_t"));
                if (found == selects.end()) {
                    continue;
                }
                found->second.first->sums[side][s][rows.getString(row, "_chfleet_p")]
                                         [static_cast<int>(rows.getUInt64(row, "_chfleet_d"))] =
                    Checksum{rows.getUInt64(row, "_chfleet_c"), rows.getUInt64(row, "_chfleet_h")};
            }
        };
        std::string statement;
        for (const auto& [key, select] : selects) {
            statement += (statement.empty() ? "" : " UNION ALL ") + select.second;
        }
        try {
            collect(clickhouse::query(*connection, statement, largeStatementSettings(statement)));
            continue;
        } catch (const ServerException& e) {
            logger()->warn("checksums on {} failed as one statement, reading table by table: {}",
                           shard.node->name, e.what());
        } catch (const Exception& e) {
            for (auto& [key, select] : selects) {
                select.first->failure = "checksum of " + key + " on " + shard.node->name + ": " + e.what();
            }
            continue;
        }
        for (auto& [key, select] : selects) {
            try {
                collect(clickhouse::query(*connection, select.second));
            } catch (const Exception& e) {
                select.first->failure = "checksum of " + key + " on " + shard.node->name + ": " + e.what();
            }
        }
    }
}

}  // namespace

uint64_t CycleReport::partitionsRepaired() const {
    uint64_t count = 0;
    for (const auto& repair : repairs) {
        count += repair.done && !repair.skipped ? 1 : 0;
    }
    return count;
}

uint64_t CycleReport::rowsAdded() const {
    uint64_t rows = 0;
    for (const auto& repair : repairs) {
        rows += repair.done ? repair.rows_added : 0;
    }
    return rows;
}

uint64_t CycleReport::rowsRemoved() const {
    uint64_t rows = 0;
    for (const auto& repair : repairs) {
        rows += repair.done ? repair.rows_removed : 0;
    }
    return rows;
}

std::string shardExpression(const topology::Region& region, const std::string& sharding_key) {
    if (region.shards == 1) {
        return "1";
    }
    int total = 0;
    for (int shard = 1; shard <= region.shards; ++shard) {
        total += region.weight(shard);
    }
    std::string slot = "((" + sharding_key + ") % " + std::to_string(total) + ")";
    std::string expression = "multiIf(";
    int bound = 0;
    for (int shard = 1; shard < region.shards; ++shard) {
        bound += region.weight(shard);
        expression += slot + " < " + std::to_string(bound) + ", " + std::to_string(shard) + ", ";
    }
    return expression + std::to_string(region.shards) + ")";
}

std::string stagingEngine(const std::string& engine_full) {
    constexpr std::string_view kReplicated = "Replicated";
    if (engine_full.rfind(kReplicated, 0) != 0) {
        return engine_full;
    }
    auto open = engine_full.find('(');
    if (open == std::string::npos) {
        return engine_full.substr(kReplicated.size());
    }
    // Split the engine's arguments at top-level commas, minding quotes and parentheses; drop the keeper path
    // and the replica name.
    std::vector<std::string> arguments;
    std::string current;
    int depth = 0;
    char quote = 0;
    size_t close = std::string::npos;
    for (size_t i = open + 1; i < engine_full.size(); ++i) {
        char c = engine_full[i];
        if (quote != 0) {
            current += c;
            if (c == '\\' && i + 1 < engine_full.size()) {
                current += engine_full[++i];
            } else if (c == quote) {
                quote = 0;
            }
            continue;
        }
        if (c == '\'' || c == '`' || c == '"') {
            quote = c;
        } else if (c == '(') {
            ++depth;
        } else if (c == ')' && depth-- == 0) {
            close = i;
            break;
        } else if (c == ',' && depth == 0) {
            arguments.push_back(current);
            current.clear();
            continue;
        }
        current += c;
    }
    if (!current.empty()) {
        arguments.push_back(current);
    }
    std::string kept;
    for (size_t i = 2; i < arguments.size(); ++i) {
        auto start = arguments[i].find_first_not_of(' ');
        kept += (kept.empty() ? "" : ", ") + arguments[i].substr(start == std::string::npos ? 0 : start);
    }
    std::string name = engine_full.substr(kReplicated.size(), open - kReplicated.size());
    std::string rest = close == std::string::npos ? "" : engine_full.substr(close + 1);
    return name + (kept.empty() ? "" : "(" + kept + ")") + rest;
}

SyncEngine::SyncEngine(const topology::Fleet& fleet, SyncOptions options, VerifiedSource previously_verified)
    : fleet_(fleet), options_(std::move(options)), previously_verified_(std::move(previously_verified)) {
    if (!options_.endpoint_for) {
        options_.endpoint_for = [this](const topology::Node& node) {
            return topology::endpointFor(fleet_, node);
        };
    }
    if (!options_.remote_credentials) {
        options_.remote_credentials = [this](const topology::Site&) {
            return topology::endpointFor(fleet_, fleet_.sites.front().regions.front().nodes.front())
                .credentials;
        };
    }
    if (fleet_.sites.size() != 2) {
        throw Exception(ErrorCode::InvalidConfig, "{}: sync works between two sites; the fleet has {}",
                        fleet_.source_path, fleet_.sites.size());
    }
}

std::string SyncEngine::actionFor(const std::string& site, uint64_t rows_there, uint64_t last_write,
                                  uint64_t now) const {
    if (!options_.repair) {
        return "not repaired: check only";
    }
    if (!options_.active_site) {
        return "not repaired: the active site is undetermined";
    }
    if (options_.policy == SyncPolicy::Mirror && site == *options_.active_site) {
        return "none: mirror copies the active site to the passive one";
    }
    if (options_.policy == SyncPolicy::Union && rows_there == 0) {
        return "none: nothing to add here; the other site receives these rows";
    }
    if (options_.only_repair_site && *options_.only_repair_site != site) {
        return "not repaired: the instance at " + site + " repairs it";
    }
    if (options_.settle_seconds > 0 && last_write + static_cast<uint64_t>(options_.settle_seconds) > now) {
        return fmt::format("deferred: written to in the last {} s", options_.settle_seconds);
    }
    return "repair";
}

CycleReport SyncEngine::runCycle() {
    CycleReport report;
    report.active_site = options_.active_site;
    auto stopped = [this] { return options_.should_stop && options_.should_stop(); };

    // 1. Inventory of both sites (in parallel).
    SiteState sites[2];
    sites[0].site = &fleet_.sites[0];
    sites[1].site = &fleet_.sites[1];
    auto cycle_start = std::chrono::steady_clock::now();
    auto milliseconds_since = [](std::chrono::steady_clock::time_point start) {
        return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start)
            .count();
    };
    {
        auto first = std::async(std::launch::async, [&] { readSite(options_, sites[0]); });
        readSite(options_, sites[1]);
        first.get();
    }
    logger()->debug("inventory of both sites read in {} ms", milliseconds_since(cycle_start));
    auto record_queries = [&] {
        for (auto& site : sites) {
            report.queries_per_site[site.site->name] = site.queries.load();
        }
    };
    for (auto& site : sites) {
        for (const auto& region : site.regions) {
            for (const auto& shard : region.shards) {
                report.shards_reached += shard.node != nullptr ? 1 : 0;
            }
        }
        if (!site.problem.empty()) {
            report.healthy = false;
            report.unhealthy_reason += (report.unhealthy_reason.empty() ? "" : "; ") + site.problem;
        }
    }
    if (!report.healthy) {
        logger()->warn("no repair this cycle: {}", report.unhealthy_reason);
        record_queries();
        return report;
    }
    bool may_repair = options_.repair && options_.active_site.has_value();
    if (options_.repair && !options_.active_site) {
        report.warnings.push_back("the active site is undetermined: differences are reported, not repaired");
    }

    std::vector<RepairJob> jobs;
    std::set<std::string> checked;
    auto now = static_cast<uint64_t>(std::time(nullptr));
    // A partition still verified moves its entry (node and all) from this map to report.verified: no key is
    // built or copied for the tens of thousands of partitions of a steady cycle.
    auto previous = previously_verified_();
    logger()->debug("previous fingerprints ({}) at hand after {} ms", previous.size(),
                    milliseconds_since(cycle_start));
    for (size_t r = 0; r < sites[0].regions.size() && !stopped(); ++r) {
        RegionState* regions[2] = {&sites[0].regions[r], nullptr};
        for (auto& candidate : sites[1].regions) {
            if (candidate.region->name == regions[0]->region->name) {
                regions[1] = &candidate;
            }
        }
        if (regions[1] == nullptr) {
            report.warnings.push_back("region " + regions[0]->region->name + " exists on site " +
                                      sites[0].site->name + " only");
            continue;
        }
        // Tables per side: present on any shard.
        std::set<std::string> tables[2];
        std::map<std::string, const topology::Node*> found_on[2];  // a replica that has the table
        for (int side = 0; side < 2; ++side) {
            for (auto& shard : regions[side]->shards) {
                for (auto& [key, table] : shard.inventory.tables) {
                    std::string name;
                    std::string database = splitDatabase(key, &name);
                    if (name.rfind(kStagingPrefix, 0) == 0) {
                        if (!options_.repair) {
                            continue;  // a check writes nothing; the next repairing cycle drops it
                        }
                        // Left by a repair that was interrupted: nothing refers to it. Unless a statement
                        // running on the server names it: a repair of another chfleet (a second daemon
                        // with a state file of its own) is using it. The name is matched in two pieces so
                        // that this query does not find itself.
                        try {
                            auto connection = connectCounting(options_, *shard.node, sites[side].queries);
                            std::string suffix = name.substr(kStagingPrefix.size());
                            if (clickhouse::scalar(
                                    *connection,
                                    "SELECT count() FROM system.processes WHERE position(query, "
                                    "concat(" +
                                        quoteString(std::string(kStagingPrefix)) + ", " +
                                        quoteString(suffix) + ")) > 0") != "0") {
                                continue;
                            }
                            clickhouse::execute(*connection,
                                                "DROP TABLE IF EXISTS " + qualifiedName(database, name));
                            logger()->info("dropped leftover staging table {} on {}", key, shard.node->name);
                        } catch (const Exception& e) {
                            report.warnings.push_back("leftover staging table " + key + " on " +
                                                      shard.node->name + ": " + e.what());
                        }
                        continue;
                    }
                    if (matchesExcludePattern(database, name, options_.exclude_patterns)) {
                        continue;
                    }
                    tables[side].insert(key);
                    found_on[side].emplace(key, shard.node);
                }
            }
        }
        for (int side = 0; side < 2; ++side) {
            for (const auto& key : tables[side]) {
                if (tables[1 - side].count(key) > 0) {
                    continue;
                }
                const auto& missing_site = sites[1 - side].site->name;
                report.new_tables.push_back(missing_site + ": " + key);
                if (!options_.auto_create_tables || !may_repair ||
                    (options_.only_repair_site && *options_.only_repair_site != missing_site)) {
                    continue;
                }
                // The definition is read only here: the inventory leaves out every table's CREATE text.
                std::string create;
                std::string table_name;
                std::string table_database = splitDatabase(key, &table_name);
                const auto* source = found_on[side][key];
                try {
                    auto connection = connectCounting(options_, *source, sites[side].queries);
                    create = clickhouse::scalar(
                        *connection, "SELECT create_table_query FROM system.tables WHERE database = " +
                                         quoteString(table_database) +
                                         " AND name = " + quoteString(table_name));
                } catch (const Exception& e) {
                    report.errors.push_back("reading the definition of " + key + " on " + source->name +
                                            ": " + e.what());
                    continue;
                }
                if (create.rfind("CREATE TABLE ", 0) == 0) {
                    create = "CREATE TABLE IF NOT EXISTS " + create.substr(13);
                }
                for (const auto& node : regions[1 - side]->region->nodes) {
                    try {
                        std::string database = key.substr(0, key.find('.'));
                        auto connection = connectCounting(options_, node, sites[1 - side].queries);
                        clickhouse::execute(*connection,
                                            "CREATE DATABASE IF NOT EXISTS " + quoteIdentifier(database));
                        clickhouse::execute(*connection, create);
                    } catch (const Exception& e) {
                        report.errors.push_back("creating " + key + " on " + node.name + ": " + e.what());
                    }
                }
                report.tables_created.push_back(missing_site + ": " + key);
            }
        }

        // 2. Compare the tables both sides have, partition by partition: first what the inventories settle,
        // then the content checksums of the rest, read for all tables at once (one statement per shard).
        std::vector<PendingTable> pending;
        for (const auto& key : tables[0]) {
            if (tables[1].count(key) == 0 || stopped()) {
                continue;
            }
            checked.insert(key);
            std::string table_name;
            std::string database = splitDatabase(key, &table_name);
            const auto* logical = logicalTable(fleet_, database, table_name);
            std::string sharding_key = logical != nullptr ? logical->sharding_key : "";
            bool routable =
                !sharding_key.empty() || (regions[0]->region->shards == 1 && regions[1]->region->shards == 1);
            if (!routable) {
                report.warnings.push_back(
                    key + " in " + regions[0]->region->name +
                    ": no sharding key in the fleet file, and a site has several shards; "
                    "not compared");
                continue;
            }
            const retention::Retention* policy = logical != nullptr ? retention::policyOf(*logical) : nullptr;
            int retention_days = policy != nullptr ? policy->daysFor(regions[0]->region->name) : 0;
            // Partition metadata per side and shard.
            PendingTable table;
            table.key = key;
            table.sharding_key = sharding_key;
            for (int side = 0; side < 2; ++side) {
                for (size_t s = 0; s < regions[side]->shards.size(); ++s) {
                    auto it = regions[side]->shards[s].inventory.tables.find(key);
                    if (it == regions[side]->shards[s].inventory.tables.end()) {
                        continue;
                    }
                    for (const auto& [id, partition] : it->second.partitions) {
                        auto& summary = table.partitions[id];
                        summary.totals[side] += partition.rows;
                        addToFingerprint(summary.fingerprint, side, s, partition);
                        summary.newest_data = std::max(summary.newest_data, partition.max_time);
                        summary.last_write = std::max(summary.last_write, partition.modified);
                        summary.printable = partition.partition;
                    }
                }
            }
            // The previous entries of this table and region ("db.table|region|<partition id>") are
            // contiguous and in partition id order, like table.partitions: one walk through both.
            std::string key_prefix = key + "|" + regions[0]->region->name + "|";
            auto entry = previous.lower_bound(key_prefix);
            auto verified_hint = report.verified.end();
            auto entry_id = [&] {
                return entry != previous.end() && entry->first.starts_with(key_prefix)
                           ? std::optional(std::string_view(entry->first).substr(key_prefix.size()))
                           : std::nullopt;
            };
            for (auto& [id, summary] : table.partitions) {
                summary.fingerprint = partitionFingerprint(summary.fingerprint);
                if (summary.newest_data > 0 &&
                    retention::isPastHorizon(summary.newest_data, retention_days, now)) {
                    continue;  // past retention (the horizon `retention run` drops at): never copied back
                }
                auto previous_id = entry_id();
                while (previous_id && *previous_id < id) {
                    ++entry;
                    previous_id = entry_id();
                }
                if (summary.totals[0] == summary.totals[1] && previous_id && *previous_id == id &&
                    entry->second == summary.fingerprint) {
                    // In key order within the table: each entry goes just before the hint.
                    verified_hint =
                        std::next(report.verified.insert(verified_hint, previous.extract(entry++)));
                    continue;
                }
                table.partition_ids.push_back(id);
            }
            if (!table.partition_ids.empty()) {
                pending.push_back(std::move(table));
            }
        }
        if (pending.empty()) {
            continue;
        }
        // Checksums per shard, grouped by the shard each row belongs to on the other site; both sites at
        // once.
        {
            auto first = std::async(std::launch::async, [&] {
                readRegionSums(options_, sites[0], *regions[0], *regions[1]->region, 0, pending);
            });
            readRegionSums(options_, sites[1], *regions[1], *regions[0]->region, 1, pending);
            first.get();
        }
        for (auto& table : pending) {
            const auto& key = table.key;
            if (!table.failure.empty()) {
                report.errors.push_back(table.failure);
                continue;
            }
            for (const auto& id : table.partition_ids) {
                bool equal = true;
                for (int side = 0; side < 2; ++side) {
                    const auto& region = *regions[side]->region;
                    for (int shard = 1; shard <= region.shards; ++shard) {
                        Checksum here, there;
                        for (const auto& [destination, sum] : table.sums[side][shard - 1][id]) {
                            here += sum;
                        }
                        for (const auto& other_shard : table.sums[1 - side]) {
                            auto p = other_shard.find(id);
                            if (p != other_shard.end()) {
                                auto d = p->second.find(shard);
                                if (d != p->second.end()) {
                                    there += d->second;
                                }
                            }
                        }
                        if (here == there) {
                            continue;
                        }
                        equal = false;
                        PartitionDifference difference{key,
                                                       region.name,
                                                       sites[side].site->name,
                                                       shard,
                                                       id,
                                                       table.partitions[id].printable,
                                                       here.count,
                                                       there.count,
                                                       here.count == there.count
                                                           ? "content differs (same row count)"
                                                       : here.count < there.count ? "rows missing here"
                                                                                  : "rows only here",
                                                       ""};
                        report.tables_with_gaps.insert(key);
                        difference.action =
                            actionFor(difference.site, there.count, table.partitions[id].last_write, now);
                        report.differences.push_back(difference);
                        if (difference.action != "repair") {
                            continue;
                        }
                        const auto& target_shard = regions[side]->shards[shard - 1];
                        const TableInfo* target_info = nullptr;
                        auto target_it = target_shard.inventory.tables.find(key);
                        if (target_it == target_shard.inventory.tables.end()) {
                            report.errors.push_back(key + " is missing on " + target_shard.node->name +
                                                    " while other shards of its region have it");
                            continue;
                        }
                        target_info = &target_it->second;
                        RepairJob job;
                        job.difference = difference;
                        job.node = target_shard.node;
                        job.region = &region;
                        job.other_site = sites[1 - side].site;
                        job.other_region = regions[1 - side]->region;
                        job.sharding_key = table.sharding_key;
                        job.replicated = target_info->engine.rfind("Replicated", 0) == 0;
                        job.expected_mirror = there;
                        job.queries = &sites[side].queries;
                        jobs.push_back(job);
                    }
                }
                if (equal) {
                    report.verified[key + "|" + regions[0]->region->name + "|" + id] =
                        table.partitions[id].fingerprint;
                }
            }
        }
    }
    report.tables_checked = checked.size();
    logger()->debug("inventory and checksums compared after {} ms; {} repairs to run",
                    milliseconds_since(cycle_start), jobs.size());

    // 3. Repairs, up to parallel_repairs at a time.
    std::mutex results_mutex;
    size_t next = 0;
    auto worker = [&] {
        for (;;) {
            RepairJob job;
            {
                std::lock_guard lock(results_mutex);
                if (next >= jobs.size() || stopped()) {
                    return;
                }
                job = jobs[next++];
            }
            auto result = repairPartition(options_, job);
            for (int attempt = 2; attempt <= kStagingRaceAttempts && result.staging_race && !stopped();
                 ++attempt) {
                logger()->warn(
                    "repair of {} partition {} on {} shard {} lost a staging table to a "
                    "concurrent drop ({}); nothing was changed, attempt {} of {}",
                    job.difference.table, job.difference.partition_id, job.difference.site,
                    job.difference.shard, result.error, attempt, kStagingRaceAttempts);
                result = repairPartition(options_, job);
            }
            if (result.error.empty()) {
                logger()->info("repaired {} partition {} on {} shard {} ({}): {} rows added, {} removed{}",
                               result.difference.table, result.difference.partition_id,
                               result.difference.site, result.difference.shard,
                               syncPolicyName(options_.policy), result.rows_added, result.rows_removed,
                               result.skipped ? " (nothing to change)" : "");
            } else {
                logger()->error("repair of {} partition {} on {} shard {} failed: {}",
                                result.difference.table, result.difference.partition_id,
                                result.difference.site, result.difference.shard, result.error);
            }
            std::lock_guard lock(results_mutex);
            if (!result.error.empty()) {
                report.errors.push_back(result.error);
            }
            report.repairs.push_back(std::move(result));
        }
    };
    std::vector<std::future<void>> workers;
    for (int i = 0; i < std::max(1, options_.parallel_repairs); ++i) {
        workers.push_back(std::async(std::launch::async, worker));
    }
    for (auto& w : workers) {
        w.get();
    }
    record_queries();
    return report;
}

}  // namespace chfleet::sync
