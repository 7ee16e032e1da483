#pragma once

#include <spdlog/spdlog.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "backup/BackupEngine.h"
#include "clickhouse/Connection.h"

// Private to src/backup: what BackupEngine.cpp (create, list, verify, delete, cleanup) and BackupRestore.cpp
// (restore) share.
namespace chfleet::backup {

/// Every restore staging table's name starts with this (a restore drops what a killed one left).
inline constexpr std::string_view kRestorePrefix = "_chfleet_restore_";

std::shared_ptr<spdlog::logger> logger();
int64_t nowMs();
std::string manifestKey(const std::string& name, const std::string& region);
/// The column of system.tables giving a table's folder, as `data_path`: 18.16 has data_path, current versions
/// data_paths (one per disk; backup reads the first).
std::string dataPathColumn(clickhouse::Connection& connection);
/// SHA-256 and size of a local file.
std::pair<std::string, uint64_t> hashFile(const std::string& path);
/// The first replica of a shard that answers; throws Exception(ConnectionFailed) naming every one tried.
const topology::Node* healthyReplica(const topology::Fleet& fleet, const topology::Region& region, int shard);
/// The manifests of one backup, one per region; throws when the backup is unknown or incomplete.
std::vector<std::pair<Manifest, Repository*>> completeManifests(
    const std::vector<BackupListing>& listings, const std::string& name,
    const std::function<Repository&(const std::string&)>& repository);

/// The state of one BackupEngine: the fleet and the repositories opened so far, per region.
struct BackupEngine::Impl {
    const topology::Fleet& fleet;
    std::optional<RepositorySpec> override_spec;
    std::map<std::string, std::unique_ptr<Repository>> repositories;  ///< per region
    int parallel = 4;

    /// The site of that name ("" = the first); throws Exception(BadArguments) listing the sites.
    const topology::Site& siteNamed(const std::string& name) const;
    /// The region's repository (the fleet file's, or --repo), opened once.
    Repository& repository(const std::string& region);
    /// Every region with a repository.
    std::vector<std::string> regions() const;
    /// Each distinct repository once, by its description.
    std::map<std::string, Repository*> distinctRepositories();
    /// The tables named (all when empty) with the table holding their rows on a node; throws
    /// Exception(BadArguments) for a name the fleet file does not have.
    std::vector<std::pair<const topology::Table*, std::string>> selectTables(
        const std::vector<std::string>& names) const;
    /// Changes the region's figures for monitoring (stats/<region>.json).
    void updateStats(Repository& repo, const std::string& region,
                     const std::function<void(BackupStats&)>& change);
    /// The complete manifests of a repository (every region it holds).
    std::vector<Manifest> manifestsIn(Repository& repo);
    /// Writes the region's manifest from its pieces (backups/<name>/<region>/pieces/<shard>.json) when every
    /// shard's piece is in, then removes the pieces; returns the shards still missing (none: complete).
    std::vector<int> completeFromPieces(const std::string& name, const topology::Region& region);
};

}  // namespace chfleet::backup
