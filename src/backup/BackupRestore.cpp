// chfleet backup restore: staging tables per target shard, checked file by file and row by row, erasures
// applied, re-sharded when the shard count differs, then swapped in (the guarantees: backup/BackupEngine.h).
#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <thread>

#include "backup/BackupEngine.h"
#include "backup/EngineImpl.h"
#include "backup/Progress.h"
#include "clickhouse/Quoting.h"
#include "clickhouse/Result.h"
#include "common/Exception.h"
#include "common/Files.h"
#include "common/WorkerPool.h"
#include "erase/EraseSection.h"
#include "erase/ErasureLedger.h"
#include "ingest/route/RegionMap.h"
#include "sync/PartitionRepair.h"
#include "sync/SyncEngine.h"
#include "topology/NodeConnection.h"

namespace chfleet::backup {

namespace fs = std::filesystem;
using clickhouse::qualifiedName;
using clickhouse::quoteString;

namespace {

/// One table of one target shard being restored: the parts that go there and the staging table they go
/// through.
struct Stage {
    const topology::Region* region = nullptr;
    int shard = 0;
    const topology::Node* node = nullptr;
    std::string table;  ///< logical
    std::string local;
    const ShardEntry* source = nullptr;  ///< for the DDL
    Repository* repository = nullptr;
    std::vector<const PartEntry*> parts;
    std::map<std::string, uint64_t> expected_rows;  ///< per partition
    std::string staging;
    std::string detached;
    bool replicated = false;
    bool reshard = false;  ///< staged here for every shard of the region; rows re-sharded before the swap
    bool cross_region = false;  ///< from another region's backup: only the target region's companies stay
};

std::string ddlFor(const ShardEntry& shard, const std::string& object) {
    auto it = shard.objects.find(object);
    return it == shard.objects.end() ? "" : it->second;
}

}  // namespace

namespace {

/// The rows of one partition in a staging table, as the server counts them (compared with the manifest's).
std::string stagedRows(clickhouse::Connection& connection, const std::string& staging,
                       const std::string& partition) {
    return clickhouse::scalar(
        connection, "SELECT count() FROM " + staging + " WHERE _partition_id = " + quoteString(partition));
}

/// The staging tables of every shard of a region, filled from `collector` (staged on the region's first shard
/// with the rows of every source shard) by the table's sharding key, and counted.
std::vector<Stage> reshardStage(const topology::Fleet& fleet, const Stage& collector,
                                const std::string& database) {
    const auto* table = fleet.schema.table(collector.table);
    if (table == nullptr || table->sharding_key.empty()) {
        throw Exception(
            ErrorCode::Failed,
            "{} has no sharding key in the fleet file: its rows cannot be re-sharded onto {} shards; "
            "nothing was made visible",
            collector.table, collector.region->shards);
    }
    auto shard_of = sync::shardExpression(*collector.region, table->sharding_key);
    auto collecting = topology::connectTo(fleet, *collector.node);
    auto endpoint = topology::endpointFor(fleet, *collector.node);
    // The fleet's credentials appear in this statement (as in sync's remote()); chfleet never logs
    // statements.
    auto source =
        "remote(" + quoteString(collector.node->host + ":" + std::to_string(collector.node->tcp_port)) +
        ", " + quoteString(database) + ", " + quoteString(collector.staging) + ", " +
        quoteString(endpoint.credentials.user) + ", " + quoteString(endpoint.credentials.password) + ")";
    std::vector<Stage> out;
    for (int shard = 1; shard <= collector.region->shards; ++shard) {
        Stage target = collector;
        target.shard = shard;
        target.node = healthyReplica(fleet, *collector.region, shard);
        target.reshard = false;
        target.staging = collector.staging + "_" + std::to_string(shard);
        target.expected_rows.clear();
        auto belongs = "(" + shard_of + ") = " + std::to_string(shard);
        auto counts = clickhouse::query(*collecting, "SELECT _partition_id AS p, count() AS c FROM " +
                                                         qualifiedName(database, collector.staging) +
                                                         " WHERE " + belongs + " GROUP BY _partition_id");
        for (size_t row = 0; row < counts.rowCount(); ++row) {
            target.expected_rows[counts.getString(row, "p")] = counts.getUInt64(row, "c");
        }
        auto connection = topology::connectTo(fleet, *target.node);
        auto info = clickhouse::query(
            *connection, "SELECT engine, engine_full FROM system.tables WHERE database = " +
                             quoteString(database) + " AND name = " + quoteString(collector.local));
        target.replicated = info.getString(0, "engine").starts_with("Replicated");
        auto staging = qualifiedName(database, target.staging);
        clickhouse::execute(*connection, "DROP TABLE IF EXISTS " + staging);
        clickhouse::execute(*connection,
                            "CREATE TABLE " + staging + " AS " + qualifiedName(database, collector.local) +
                                " ENGINE = " + sync::stagingEngine(info.getString(0, "engine_full")));
        clickhouse::execute(*connection,
                            "INSERT INTO " + staging + " SELECT * FROM " + source + " WHERE " + belongs);
        for (const auto& [partition, rows] : target.expected_rows) {
            auto staged = stagedRows(*connection, staging, partition);
            if (staged != std::to_string(rows)) {
                throw Exception(
                    ErrorCode::Failed,
                    "{}: partition {} of {} re-sharded {} rows onto shard {}, expected {}; nothing was "
                    "made visible",
                    target.node->name, partition, collector.local, staged, shard, rows);
            }
        }
        out.push_back(std::move(target));
    }
    return out;
}

/// Keeps in a stage's staging table only the rows of companies that the target region's copy of the company
/// -> region mapping assigns to that region (their newest mapping row), and counts them again per partition
/// (partitions left empty are not restored). Returns how many rows were left out. A table without a region
/// key cannot be split by company and stops the restore, nothing visible changed.
uint64_t keepMappedCompanies(const topology::Fleet& fleet, Stage& stage, const std::string& database) {
    const auto* table = fleet.schema.table(stage.table);
    if (table == nullptr || table->region_key.empty()) {
        throw Exception(
            ErrorCode::Failed,
            "{} has no region_key in the fleet file: its rows cannot be told apart by company, so "
            "it cannot be restored into another region; nothing was made visible",
            stage.table);
    }
    const auto& mapping = ingest::mappingTable(fleet);
    ingest::MappingSource source{
        stage.node->site, stage.region->name, mapping.regionalName(*stage.region), {}};
    auto mapped = "SELECT company FROM (" + ingest::mappingQuery(fleet, source) +
                  ") WHERE mapped_region IN (" + quoteString(stage.region->name) + ", " +
                  quoteString(stage.region->alias) + ")";
    auto connection = topology::connectTo(fleet, *stage.node);
    auto staging = qualifiedName(database, stage.staging);
    auto kept_name = stage.staging + "_kept";
    auto kept = qualifiedName(database, kept_name);
    uint64_t before = std::stoull(clickhouse::scalar(*connection, "SELECT count() FROM " + staging));
    clickhouse::execute(*connection, "DROP TABLE IF EXISTS " + kept);
    clickhouse::execute(*connection, "CREATE TABLE " + kept + " AS " + staging);
    clickhouse::execute(*connection, "INSERT INTO " + kept + " SELECT * FROM " + staging + " WHERE " +
                                         clickhouse::quoteIdentifier(table->region_key) + " IN (" + mapped +
                                         ")");
    clickhouse::execute(*connection, "DROP TABLE " + staging);
    clickhouse::execute(*connection, "RENAME TABLE " + kept + " TO " + staging);
    stage.expected_rows.clear();
    uint64_t after = 0;
    auto counts = clickhouse::query(
        *connection, "SELECT _partition_id AS p, count() AS c FROM " + staging + " GROUP BY _partition_id");
    for (size_t row = 0; row < counts.rowCount(); ++row) {
        stage.expected_rows[counts.getString(row, "p")] = counts.getUInt64(row, "c");
        after += counts.getUInt64(row, "c");
    }
    logger()->info("{}: {} of {} staged rows of {} belong to companies mapped to {}", stage.node->name, after,
                   before, stage.local, stage.region->name);
    return before - after;
}

/// Drops the staging tables of a restore that stops before its swap (what fails here is logged: the next
/// restore drops leftovers anyway).
void dropStaging(const topology::Fleet& fleet, const std::vector<Stage>& stages,
                 const std::string& database) {
    for (const auto& stage : stages) {
        try {
            auto connection = topology::connectTo(fleet, *stage.node);
            clickhouse::execute(*connection,
                                "DROP TABLE IF EXISTS " + qualifiedName(database, stage.staging));
        } catch (const Exception& error) {
            logger()->warn("{}: staging table {} left for the next restore to drop: {}", stage.node->name,
                           stage.staging, error.what());
        }
    }
}

}  // namespace

RestoreReport BackupEngine::restore(const std::string& name, const RestoreOptions& options) {
    checkBackupName(name);
    if (!options.partition.empty()) {
        checkPartitionId(options.partition);
    }
    auto& impl = *impl_;
    if (!options.table.empty()) {
        impl.selectTables({options.table});
    }
    auto started = std::chrono::steady_clock::now();
    auto manifests =
        completeManifests(list(), name, [&](const std::string& r) -> Repository& { return repository(r); });
    if (!options.region.empty()) {
        std::erase_if(manifests, [&](const auto& entry) { return entry.first.region != options.region; });
        if (manifests.empty()) {
            throw Exception(ErrorCode::BadArguments, "backup '{}' holds no region {}", name, options.region);
        }
    }
    if (!options.to_region.empty() && manifests.size() != 1) {
        throw Exception(ErrorCode::BadArguments,
                        "backup '{}' holds {} regions: name the one to restore into {} with --region", name,
                        manifests.size(), options.to_region);
    }
    const auto& database = impl.fleet.schema.database;
    RestoreReport report;
    std::vector<Stage> stages;
    std::map<std::pair<std::string, std::string>, size_t> stage_of;  // node, local
    bool same_site = true;
    for (const auto& [manifest, repo] : manifests) {
        const auto& site = impl.siteNamed(options.to_site.empty() ? manifest.site : options.to_site);
        same_site = same_site && site.name == manifest.site;
        const auto* region = site.region(options.to_region.empty() ? manifest.region : options.to_region);
        if (region != nullptr && region->name != manifest.region && !options.allow_cross_region) {
            throw Exception(ErrorCode::BadArguments,
                            "backup '{}' holds region {}: restoring it into {} moves its data to another "
                            "region (residency); refused without --allow-cross-region, which restores only "
                            "the rows of companies mapped to {}",
                            name, manifest.region, region->name, region->name);
        }
        if (region == nullptr) {
            throw Exception(
                ErrorCode::BadArguments,
                "site {} has no region {}: a region's backup is restored only into the same region "
                "(residency)",
                site.name, manifest.region);
        }
        int source_shards = static_cast<int>(manifest.shards.size());
        // Another shard count: every source shard is staged on the target's first shard, then re-sharded.
        bool reshard = region->shards != source_shards && region->shards != 1;
        std::map<int, const topology::Node*> target_nodes;
        for (const auto& shard : manifest.shards) {
            int target_shard = region->shards == source_shards ? shard.shard : 1;
            if (target_nodes.count(target_shard) == 0) {
                target_nodes[target_shard] = healthyReplica(impl.fleet, *region, target_shard);
            }
            const auto* node = target_nodes[target_shard];
            for (const auto& table : shard.tables) {
                if (!options.table.empty() && table.table != options.table) {
                    continue;
                }
                auto key = std::make_pair(node->name, table.local);
                if (stage_of.count(key) == 0) {
                    stage_of[key] = stages.size();
                    Stage stage;
                    stage.region = region;
                    stage.shard = target_shard;
                    stage.node = node;
                    stage.table = table.table;
                    stage.local = table.local;
                    stage.source = &shard;
                    stage.repository = repo;
                    stage.reshard = reshard;
                    stage.cross_region = region->name != manifest.region;
                    stage.staging = fmt::format(
                        "{}{:016x}", kRestorePrefix,
                        sync::fnv1a(name + "|" + table.local + "|" + std::to_string(target_shard)));
                    stages.push_back(stage);
                }
                auto& stage = stages[stage_of[key]];
                for (const auto& part : table.parts) {
                    if (!options.partition.empty() && part.partition_id != options.partition) {
                        continue;
                    }
                    stage.parts.push_back(&part);
                    stage.expected_rows[part.partition_id] += part.rows;
                    ++report.parts;
                    report.rows += part.rows;
                    for (const auto& file : part.files) {
                        report.bytes += file.size;
                    }
                }
            }
        }
    }
    if (stages.empty()) {
        throw Exception(ErrorCode::BadArguments, "backup '{}' holds no table '{}'", name, options.table);
    }
    if (!options.partition.empty() && report.parts == 0) {
        throw Exception(ErrorCode::BadArguments, "backup '{}' holds no partition '{}'{}", name,
                        options.partition, options.table.empty() ? "" : " of table " + options.table);
    }
    // 1. The tables exist on every replica of each target shard (created from the backup's DDL on the site it
    //    was taken from; another site's schema comes from chfleet schema apply).
    for (auto& stage : stages) {
        for (int replica = 1; replica <= stage.region->replicas; ++replica) {
            const auto* node = stage.region->node(stage.shard, replica);
            auto connection = topology::connectTo(impl.fleet, *node);
            bool exists = clickhouse::scalar(
                              *connection,
                              "SELECT count() FROM system.tables WHERE database = " + quoteString(database) +
                                  " AND name = " + quoteString(stage.local)) != "0";
            if (exists) {
                continue;
            }
            std::string object = stage.local.starts_with(".inner.") ? stage.local.substr(7) : stage.local;
            std::string ddl = ddlFor(*stage.source, object);
            if (!same_site || ddl.empty()) {
                throw Exception(ErrorCode::Failed,
                                "{} has no table {}.{}: run chfleet schema apply -f {} first", node->name,
                                database, stage.local, impl.fleet.source_path);
            }
            report.plan.push_back(fmt::format("{}: create {} from the backup's DDL", node->name, object));
            if (!options.dry_run) {
                clickhouse::execute(*connection, ddl);
            }
        }
    }
    // 2. Every part into a staging table of its target shard, each file checked against its SHA-256.
    if (!options.dry_run) {
        std::set<const topology::Node*> staging_nodes;
        for (const auto& stage : stages) {
            staging_nodes.insert(stage.node);
        }
        for (const auto* node : staging_nodes) {  // what a killed restore left
            auto connection = topology::connectTo(impl.fleet, *node);
            auto leftovers = clickhouse::query(
                *connection, "SELECT name FROM system.tables WHERE database = " + quoteString(database) +
                                 " AND startsWith(name, " + quoteString(std::string(kRestorePrefix)) + ")");
            for (size_t row = 0; row < leftovers.rowCount(); ++row) {
                clickhouse::execute(
                    *connection,
                    "DROP TABLE IF EXISTS " + qualifiedName(database, leftovers.getString(row, "name")));
            }
        }
        for (auto& stage : stages) {
            auto connection = topology::connectTo(impl.fleet, *stage.node);
            auto target = qualifiedName(database, stage.local);
            auto info = clickhouse::query(
                *connection, "SELECT engine, engine_full FROM system.tables WHERE database = " +
                                 quoteString(database) + " AND name = " + quoteString(stage.local));
            stage.replicated = info.getString(0, "engine").starts_with("Replicated");
            auto staging = qualifiedName(database, stage.staging);
            clickhouse::execute(*connection, "CREATE TABLE " + staging + " AS " + target + " ENGINE = " +
                                                 sync::stagingEngine(info.getString(0, "engine_full")));
            auto data_path = clickhouse::scalar(
                *connection, "SELECT " + dataPathColumn(*connection) +
                                 " FROM system.tables WHERE database = " + quoteString(database) +
                                 " AND name = " + quoteString(stage.staging));
            stage.detached = data_path + (data_path.ends_with('/') ? "" : "/") + "detached/";
        }
        struct Fetch {
            Repository* repository;
            const FileEntry* file;
            std::string path;
        };
        std::vector<Fetch> fetches;
        for (auto& stage : stages) {
            uint64_t number = 0;
            for (const auto* part : stage.parts) {
                // Parts of several source shards may share names: each gets a block number of its own here
                // (ATTACH PARTITION numbers them anew anyway); the level is kept.
                auto fields = part->name.substr(part->partition_id.size() + 1);
                auto level_start = fields.find('_', fields.find('_') + 1) + 1;
                auto level = fields.substr(level_start, fields.find('_', level_start) - level_start);
                ++number;
                auto dir = stage.detached +
                           fmt::format("{}_{}_{}_{}", part->partition_id, number, number, level) + "/";
                files::makeDirectories(dir);
                for (const auto& file : part->files) {
                    files::makeDirectories(fs::path(dir + file.name).parent_path().string());
                    fetches.push_back({stage.repository, &file, dir + file.name});
                }
            }
        }
        {
            Progress progress("restore " + name, report.bytes, fetches.size(), options.progress);
            WorkerPool pool(static_cast<size_t>(impl.parallel));
            std::vector<std::future<void>> done;
            for (const auto& fetch : fetches) {
                done.push_back(pool.run([&progress, fetch] {
                    auto key = blobKey(fetch.file->sha256);
                    if (!fetch.repository->exists(key)) {
                        throw Exception(ErrorCode::Failed, "{}: object {} is missing; nothing was restored",
                                        fetch.repository->describe(), key);
                    }
                    fetch.repository->getFile(key, fetch.path);
                    auto [sha, size] = hashFile(fetch.path);
                    if (sha != fetch.file->sha256 || size != fetch.file->size) {
                        throw Exception(
                            ErrorCode::Failed,
                            "{}: object {} is corrupt (SHA-256 {}, {} bytes; the manifest says {} "
                            "bytes); nothing was restored",
                            fetch.repository->describe(), key, sha, size, fetch.file->size);
                    }
                    progress.fileDone(size);
                }));
            }
            std::exception_ptr first_error;
            for (auto& future : done) {
                try {
                    future.get();
                } catch (...) {
                    if (!first_error) {
                        first_error = std::current_exception();
                    }
                }
            }
            if (first_error) {
                dropStaging(impl.fleet, stages, database);
                std::rethrow_exception(first_error);
            }
        }
    }
    std::vector<Stage> collectors;
    // Per stage: the partitions --rm drops (the target has them, the backup does not).
    std::vector<std::vector<std::string>> to_drop;
    int partitions_occupied = 0;
    try {
        for (size_t i = 0; !options.dry_run && i < stages.size(); ++i) {
            const auto& stage = stages[i];
            auto connection = topology::connectTo(impl.fleet, *stage.node);
            auto staging = qualifiedName(database, stage.staging);
            for (const auto& [partition, rows] : stage.expected_rows) {
                clickhouse::execute(
                    *connection, "ALTER TABLE " + staging + " ATTACH PARTITION ID " + quoteString(partition));
                auto staged = stagedRows(*connection, staging, partition);
                if (staged != std::to_string(rows)) {
                    throw Exception(
                        ErrorCode::Failed,
                        "{}: partition {} of {} staged {} rows, the backup holds {}; nothing of it was "
                        "made visible",
                        stage.node->name, partition, stage.local, staged, rows);
                }
            }
        }
        // 3. Another region's backup: the staged rows of companies the target region's copy of the mapping
        //    does not assign to it are left out before anything is visible. The kept rows are copied into a
        //    second staging table that then takes the first one's name, and counted per partition.
        for (auto& stage : stages) {
            if (!options.dry_run && stage.cross_region) {
                report.rows_left_out += keepMappedCompanies(impl.fleet, stage, database);
            }
        }
        // 4. Every erasure of the ledger (as it stands now, whenever the backup was taken) is applied to the
        // staged
        //    rows, and has finished, before any of them can become visible: a restore never brings back an
        //    erased company.
        if (!options.dry_run && options.apply_erasures) {
            erase::ErasureLedger ledger(impl.fleet);
            std::string unreadable;
            bool readable = false;
            for (const auto& copy : ledger.readCopies()) {
                readable = readable || copy.readable;
                unreadable += copy.readable ? "" : "; " + copy.name + ": " + copy.error;
            }
            if (!readable) {
                throw Exception(
                    ErrorCode::Failed,
                    "no copy of the erasure ledger could be read{}: the restore could bring back an erased "
                    "company; nothing was made visible",
                    unreadable);
            }
            auto subjects = erase::erasedSubjects(ledger.entries());
            auto deadline = std::chrono::steady_clock::now() +
                            std::chrono::seconds(erase::eraseConfig(impl.fleet).mutation_timeout_seconds);
            for (auto& stage : stages) {
                const auto* table = impl.fleet.schema.table(stage.table);
                auto condition =
                    table == nullptr ? "" : erase::erasedRowsCondition(impl.fleet, *table, subjects);
                if (condition.empty()) {
                    continue;
                }
                auto connection = topology::connectTo(impl.fleet, *stage.node);
                auto staging = qualifiedName(database, stage.staging);
                auto count = [&] {
                    return std::stoull(clickhouse::scalar(
                        *connection, "SELECT count() FROM " + staging + " WHERE " + condition));
                };
                uint64_t erased = count();
                if (erased == 0) {
                    continue;
                }
                clickhouse::execute(*connection, "ALTER TABLE " + staging + " DELETE WHERE " + condition);
                while (count() != 0) {
                    if (std::chrono::steady_clock::now() > deadline) {
                        throw Exception(
                            ErrorCode::Timeout,
                            "{}: the erasure of {} rows in the staging table of {} did not finish in time; "
                            "nothing was made visible",
                            stage.node->name, erased, stage.local);
                    }
                    std::this_thread::sleep_for(std::chrono::milliseconds(200));
                }
                report.rows_erased += erased;
            }
        }
        // 5. A region restored into another shard count: each target shard's rows, by the table's sharding
        // key
        //    (as its Distributed table places them), copied from the collecting staging table into a staging
        //    table of that shard and counted. The collecting tables are dropped at the end.
        if (!options.dry_run) {
            std::vector<Stage> resharded;
            for (auto& stage : stages) {
                if (!stage.reshard) {
                    resharded.push_back(stage);
                    continue;
                }
                auto targets = reshardStage(impl.fleet, stage, database);
                resharded.insert(resharded.end(), targets.begin(), targets.end());
                collectors.push_back(stage);
            }
            stages = std::move(resharded);
        }
        // 6. Partitions that already hold rows are replaced only with --rm; checked for all before any
        // changes.
        std::vector<std::string> occupied;
        to_drop.assign(stages.size(), {});
        for (size_t i = 0; i < stages.size(); ++i) {
            auto& stage = stages[i];
            auto connection = topology::connectTo(impl.fleet, *stage.node);
            auto present = clickhouse::query(*connection, "SELECT _partition_id AS p, count() AS c FROM " +
                                                              qualifiedName(database, stage.local) +
                                                              " GROUP BY _partition_id");
            for (size_t row = 0; row < present.rowCount(); ++row) {
                const auto& partition = present.getString(row, "p");
                if (stage.expected_rows.count(partition) > 0) {
                    occupied.push_back(fmt::format("{} {} partition {} ({} rows)", stage.node->name,
                                                   stage.local, partition, present.getString(row, "c")));
                } else if (options.replace && options.partition.empty() && !stage.cross_region) {
                    to_drop[i].push_back(partition);
                }
            }
            report.plan.push_back(
                fmt::format("{}: {} ← {} parts, {} partitions{}", stage.node->name, stage.local,
                            stage.parts.size(), stage.expected_rows.size(),
                            to_drop[i].empty()
                                ? ""
                                : fmt::format(", drop {} partitions the backup lacks", to_drop[i].size())));
        }
        partitions_occupied = static_cast<int>(occupied.size());
        if (!occupied.empty() && !options.replace) {
            throw Exception(ErrorCode::Failed,
                            "{} partitions to restore already hold rows ({}{}); nothing was changed: give "
                            "--rm to replace "
                            "them",
                            occupied.size(), occupied.front(), occupied.size() > 1 ? ", ..." : "");
        }
    } catch (...) {
        if (!options.dry_run) {
            dropStaging(impl.fleet, stages, database);
            dropStaging(impl.fleet, collectors, database);
        }
        throw;
    }
    if (options.dry_run) {
        report.partitions_replaced = partitions_occupied;
        return report;
    }
    // 7. Swapped in, one partition at a time (REPLACE PARTITION is atomic and replicated: the shard's other
    //    replicas fetch the parts, no ZooKeeper path is touched).
    for (size_t i = 0; i < stages.size(); ++i) {
        auto& stage = stages[i];
        auto connection = topology::connectTo(impl.fleet, *stage.node);
        auto target = qualifiedName(database, stage.local);
        auto staging = qualifiedName(database, stage.staging);
        for (const auto& [partition, rows] : stage.expected_rows) {
            clickhouse::execute(*connection, "ALTER TABLE " + target + " REPLACE PARTITION ID " +
                                                 quoteString(partition) + " FROM " + staging);
            ++report.partitions_replaced;
        }
        for (const auto& partition : to_drop[i]) {
            clickhouse::execute(*connection,
                                "ALTER TABLE " + target + " DROP PARTITION ID " + quoteString(partition));
        }
        clickhouse::execute(*connection, "DROP TABLE IF EXISTS " + staging);
    }
    for (const auto& collector : collectors) {
        auto connection = topology::connectTo(impl.fleet, *collector.node);
        clickhouse::execute(*connection,
                            "DROP TABLE IF EXISTS " + qualifiedName(database, collector.staging));
    }
    for (const auto& stage : stages) {
        if (!stage.replicated) {
            continue;
        }
        for (int replica = 1; replica <= stage.region->replicas; ++replica) {
            const auto* node = stage.region->node(stage.shard, replica);
            if (node != stage.node) {
                auto connection = topology::connectTo(impl.fleet, *node);
                clickhouse::execute(*connection,
                                    "SYSTEM SYNC REPLICA " + qualifiedName(database, stage.local));
            }
        }
    }
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    logger()->info("restore {}: {} parts, {} rows, {} partitions replaced, {:.1f} s", name, report.parts,
                   report.rows, report.partitions_replaced, report.seconds);
    return report;
}

}  // namespace chfleet::backup
