// chfleet backup verify --restore-test: the whole backup restored into a scratch fleet of real local
// processes (sandbox/Sandbox.h), then compared with the manifest per region, table and partition.
#include <fmt/format.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "backup/BackupEngine.h"
#include "backup/EngineImpl.h"
#include "clickhouse/Quoting.h"
#include "clickhouse/Result.h"
#include "common/Exception.h"
#include "common/Files.h"
#include "sandbox/Sandbox.h"
#include "sync/PartitionRepair.h"
#include "topology/NodeConnection.h"

namespace chfleet::backup {

namespace fs = std::filesystem;
using clickhouse::qualifiedName;
using clickhouse::quoteIdentifier;

std::string RestoreTestDifference::describe() const {
    if (expected_rows != restored_rows) {
        return fmt::format("region {}, table {}, partition {}: {} rows restored, the backup holds {}", region,
                           table, partition, restored_rows, expected_rows);
    }
    return fmt::format(
        "region {}, table {}, partition {}: {} rows as in the backup, but their checksum is {}, the backup "
        "recorded {}",
        region, table, partition, restored_rows, restored_checksum, expected_checksum.value_or(0));
}

namespace {

/// Per table and partition: rows and the checksum the manifest recorded, summed over the region's shards.
struct Expected {
    std::string local;
    const ShardEntry* source = nullptr;  ///< a shard holding the table, for its DDL
    std::map<std::string, uint64_t> rows;
    std::map<std::string, uint64_t> checksums;
    bool has_checksums = true;
};

/// The smallest fleet that holds the backup: the backup's site with, per region of the backup, one server
/// (shard 1, replica 1, the region's first node's name) and one keeper, every port a free loopback port.
topology::Fleet scratchFleet(const topology::Fleet& fleet, const topology::Site& source,
                             const std::vector<std::string>& regions) {
    topology::Fleet scratch = fleet;
    topology::Site site = source;
    site.regions.clear();
    for (const auto& name : regions) {
        const auto* region = source.region(name);
        if (region == nullptr || region->nodes.empty()) {
            throw Exception(ErrorCode::BadArguments,
                            "the backup holds region {} that site {} of the fleet file no longer has", name,
                            source.name);
        }
        site.regions.push_back(*region);
    }
    auto port = sandbox::findFreePortRange(1 + 3 * site.regions.size());
    site.keepers = {topology::Keeper{"127.0.0.1", port++, false, {}}};
    for (auto& region : site.regions) {
        topology::Node node = region.nodes.front();
        node.shard = 1;
        node.replica = 1;
        node.host = "127.0.0.1";
        node.http_port = port++;
        node.tcp_port = port++;
        node.interserver_port = port++;
        node.derived = false;
        region.shards = 1;
        region.replicas = 1;
        region.weights.clear();
        region.nodes = {node};
    }
    scratch.sites = {site};
    scratch.base_port = 0;
    return scratch;
}

/// The scratch fleet's processes and folder: stopped by pid and removed when this goes out of scope,
/// whatever happened in between.
class ScratchFleet {
  public:
    explicit ScratchFleet(const topology::Fleet& fleet) {
        std::string pattern = (fs::temp_directory_path() / "chfleet-restore-test-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            throw Exception(ErrorCode::IoError, "cannot create a folder for the scratch fleet under {}",
                            fs::temp_directory_path().string());
        }
        dir_ = pattern;
        try {
            files::writeAtomically(dir_ + "/scratch.yaml", topology::dumpFleet(fleet));
            sandbox::UpOptions options;
            options.fleet_file = dir_ + "/scratch.yaml";
            options.dir = dir_ + "/sandbox";
            sandbox_.emplace(sandbox::Sandbox::up(options));
        } catch (...) {
            std::error_code ignored;
            fs::remove_all(dir_, ignored);
            throw;
        }
    }
    ~ScratchFleet() {
        try {
            sandbox_->down();
        } catch (const std::exception& error) {
            logger()->warn("restore test: the scratch fleet in {} did not stop cleanly: {}", dir_,
                           error.what());
        }
        std::error_code ignored;
        fs::remove_all(dir_, ignored);
    }
    ScratchFleet(const ScratchFleet&) = delete;
    ScratchFleet& operator=(const ScratchFleet&) = delete;

    const topology::Fleet& fleet() const { return sandbox_->fleet(); }

  private:
    std::string dir_;
    std::optional<sandbox::Sandbox> sandbox_;
};

}  // namespace

RestoreTestReport BackupEngine::restoreTest(const std::string& name, bool progress) {
    checkBackupName(name);
    auto& impl = *impl_;
    auto started = std::chrono::steady_clock::now();
    auto manifests =
        completeManifests(list(), name, [&](const std::string& r) -> Repository& { return repository(r); });
    RestoreTestReport report;
    // Per region (manifest order), per logical table (first appearance order).
    std::vector<std::vector<std::pair<std::string, Expected>>> expected(manifests.size());
    for (size_t i = 0; i < manifests.size(); ++i) {
        const auto& manifest = manifests[i].first;
        report.regions.push_back(manifest.region);
        for (const auto& shard : manifest.shards) {
            for (const auto& table : shard.tables) {
                auto it = std::find_if(expected[i].begin(), expected[i].end(),
                                       [&](const auto& entry) { return entry.first == table.table; });
                if (it == expected[i].end()) {
                    expected[i].push_back({table.table, Expected{table.local, &shard, {}, {}, true}});
                    it = std::prev(expected[i].end());
                }
                auto& entry = it->second;
                entry.has_checksums =
                    entry.has_checksums && table.partition_checksums.size() == table.partition_rows.size();
                for (const auto& [partition, rows] : table.partition_rows) {
                    entry.rows[partition] += rows;
                }
                for (const auto& [partition, checksum] : table.partition_checksums) {
                    entry.checksums[partition] += checksum;
                }
            }
        }
    }
    const auto* source_site = impl.fleet.site(manifests.front().first.site);
    if (source_site == nullptr) {
        throw Exception(ErrorCode::BadArguments, "backup '{}' was taken from site {}, which {} no longer has",
                        name, manifests.front().first.site, impl.fleet.source_path);
    }
    logger()->info("restore test {}: starting a scratch fleet of {} servers", name, report.regions.size());
    ScratchFleet scratch(scratchFleet(impl.fleet, *source_site, report.regions));
    const auto& fleet = scratch.fleet();
    const auto& site = fleet.sites.front();
    const auto& database = fleet.schema.database;
    // The backup's own DDL creates its tables (tables before the materialized views that read them), and
    // merges stay stopped: a Summing or Replacing table merging the restored parts would change the rows
    // the comparison counts.
    for (size_t i = 0; i < manifests.size(); ++i) {
        const auto& node = site.region(manifests[i].first.region)->nodes.front();
        auto connection = topology::connectTo(fleet, node);
        clickhouse::execute(*connection, "CREATE DATABASE IF NOT EXISTS " + quoteIdentifier(database));
        for (bool views : {false, true}) {
            for (const auto& [table, entry] : expected[i]) {
                auto object = entry.local.starts_with(".inner.") ? entry.local.substr(7) : entry.local;
                auto ddl = entry.source->objects.find(object);
                if (ddl == entry.source->objects.end()) {
                    throw Exception(ErrorCode::Failed, "backup '{}' has no DDL for {} (region {})", name,
                                    object, manifests[i].first.region);
                }
                if (ddl->second.starts_with("CREATE MATERIALIZED VIEW") == views) {
                    clickhouse::execute(*connection, ddl->second);
                }
            }
        }
        clickhouse::execute(*connection, "SYSTEM STOP MERGES");
    }
    BackupEngine engine(fleet, impl.override_spec);
    RestoreOptions options;
    options.to_site = site.name;
    options.progress = progress;
    options.apply_erasures = false;
    engine.restore(name, options);
    for (size_t i = 0; i < manifests.size(); ++i) {
        const auto& region = manifests[i].first.region;
        const auto& node = site.region(region)->nodes.front();
        auto connection = topology::connectTo(fleet, node);
        for (const auto& [table, entry] : expected[i]) {
            ++report.tables;
            report.checksums = report.checksums && entry.has_checksums;
            auto hash = sync::readColumns(*connection, database, entry.local).hash;
            auto restored = clickhouse::query(
                *connection, "SELECT _partition_id AS _chfleet_p, count() AS _chfleet_c, sum(" + hash +
                                 ") AS _chfleet_h FROM " + qualifiedName(database, entry.local) +
                                 " GROUP BY _partition_id ORDER BY _chfleet_p");
            std::map<std::string, std::pair<uint64_t, uint64_t>> found;  // partition -> rows, checksum
            for (size_t row = 0; row < restored.rowCount(); ++row) {
                found[restored.getString(row, "_chfleet_p")] = {restored.getUInt64(row, "_chfleet_c"),
                                                                restored.getUInt64(row, "_chfleet_h")};
            }
            auto partitions = entry.rows;
            for (const auto& [partition, values] : found) {
                partitions.emplace(partition, 0);
            }
            for (const auto& [partition, ignored] : partitions) {
                ++report.partitions;
                RestoreTestDifference difference;
                difference.region = region;
                difference.table = table;
                difference.partition = partition;
                difference.expected_rows = entry.rows.count(partition) ? entry.rows.at(partition) : 0;
                auto [rows, checksum] = found.count(partition) ? found.at(partition) : std::pair{0ul, 0ul};
                difference.restored_rows = rows;
                difference.restored_checksum = checksum;
                report.rows += rows;
                if (entry.has_checksums) {
                    difference.expected_checksum =
                        entry.checksums.count(partition) ? entry.checksums.at(partition) : 0;
                }
                if (rows != difference.expected_rows ||
                    (difference.expected_checksum && *difference.expected_checksum != checksum)) {
                    report.differences.push_back(difference);
                }
            }
        }
    }
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return report;
}

}  // namespace chfleet::backup
