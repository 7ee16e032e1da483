#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "backup/BackupSection.h"
#include "backup/Manifest.h"
#include "backup/Repository.h"
#include "topology/Fleet.h"

// Backups of a fleet's site: one healthy replica per shard of every region, frozen (ALTER TABLE … FREEZE,
// 18.16 and later) as close to one moment as possible, each file stored once by its SHA-256 in the region's
// own repository, a manifest per region written last.
//
// What each step guarantees after a crash (kill -9 at any instant):
// - create: blobs are stored whole or not at all and are immutable; the manifest goes last. A killed run
//   leaves `started.json` without a manifest: `list` shows it incomplete, `restore` refuses it, a rerun with
//   the same name completes it (blobs already stored are not sent again), `delete` removes it. The server's
//   shadow/chfleet_<name> folder is removed at the end of every run and before a rerun freezes again.
// - restore: every part is downloaded into a staging table's detached/ folder, checked against its SHA-256,
//   attached and counted; only when every table of every shard is staged does anything visible change, one
//   partition at a time with REPLACE PARTITION (atomic per partition; replicas fetch). A killed restore
//   leaves
//   `_chfleet_restore_*` tables, dropped by the next restore, and partitions either old or restored.
// - delete/cleanup: a manifest is removed first (the backup stops being complete), then blobs no remaining
//   manifest references. Blobs are collected only while no backup of the repository is under way, so a
//   running create never loses a blob it has just stored.
namespace chfleet::backup {

struct CreateOptions {
    std::string site;                 ///< "" = the first site of the fleet file
    std::vector<std::string> tables;  ///< logical names; empty = every table
    /// Pause merges and wait until each chosen replica has every part of its shard (SYSTEM SYNC REPLICA)
    /// before any shard is frozen, then freeze all shards at once.
    bool consistent = false;
    bool progress = false;  ///< bytes, files, rate and ETA on stderr
};

struct CreateReport {
    std::string name;
    std::string site;
    std::vector<std::string> regions;
    int shards = 0;
    uint64_t parts = 0;
    uint64_t files = 0;
    uint64_t size_bytes = 0;
    uint64_t uploaded_bytes = 0;
    double seconds = 0;
};

struct BackupListing {
    std::string name;
    int64_t started_ms = 0;
    uint64_t size_bytes = 0;
    std::string base;
    int shards = 0;
    std::vector<std::string> regions;
    bool complete = false;
};

struct VerifyProblem {
    std::string region;
    std::string where;  ///< shard, table, part and file
    std::string object;
    std::string problem;
};

struct VerifyReport {
    uint64_t objects = 0;
    uint64_t bytes = 0;
    std::vector<VerifyProblem> problems;
};

struct DeleteReport {
    std::vector<std::string> backups;
    uint64_t blobs_removed = 0;
    uint64_t bytes_freed = 0;
    bool blobs_kept_for_running_backup = false;
};

struct RestoreOptions {
    std::string table;      ///< logical name; "" = every table of the backup
    std::string partition;  ///< partition ID; "" = every partition
    std::string to_site;    ///< "" = the site the backup was taken from
    bool replace = false;   ///< --rm: replace partitions that hold rows (and drop those the backup lacks)
    bool dry_run = false;
    bool progress = false;
};

struct RestoreReport {
    std::vector<std::string> plan;  ///< one line per node and table
    uint64_t parts = 0;
    uint64_t rows = 0;
    uint64_t rows_erased = 0;  ///< rows of erased companies removed before the data became visible
    uint64_t bytes = 0;
    int partitions_replaced = 0;
    double seconds = 0;
};

/// The names under which `chfleet exporter` serves BackupStats, per site and region (docs/monitoring.md).
inline constexpr std::string_view kLastSuccessMetric = "chfleet_backup_last_success_timestamp_seconds";
inline constexpr std::string_view kLastFailureMetric = "chfleet_backup_last_failure_timestamp_seconds";
inline constexpr std::string_view kLastDurationMetric = "chfleet_backup_last_duration_seconds";
inline constexpr std::string_view kLastSizeMetric = "chfleet_backup_last_size_bytes";
inline constexpr std::string_view kFailuresMetric = "chfleet_backup_failures_total";

/// What monitoring reads of one region in its repository (stats/<region>.json).
struct BackupStats {
    int64_t last_success_ms = 0;  ///< 0: never
    int64_t last_failure_ms = 0;  ///< 0: never
    double last_duration_seconds = 0;
    uint64_t last_size_bytes = 0;
    uint64_t failures = 0;
};

/// Backups of one fleet. `repository` replaces the fleet file's per-region repositories (--repo).
class BackupEngine {
  public:
    BackupEngine(const topology::Fleet& fleet, std::optional<RepositorySpec> repository);
    ~BackupEngine();

    CreateReport create(const std::string& name, const CreateOptions& options);
    std::vector<BackupListing> list();
    VerifyReport verify(const std::string& name);
    DeleteReport remove(const std::string& name, bool dry_run);
    /// Deletes complete backups older than keep_days, keeping at least the `keep` newest, and incomplete
    /// ones older than keep_days.
    DeleteReport cleanup(int keep_days, int keep, bool dry_run);
    RestoreReport restore(const std::string& name, const RestoreOptions& options);

    /// The repository of a region (throws Exception(InvalidConfig) when the fleet file names none).
    Repository& repository(const std::string& region);

  private:
    DeleteReport cleanupOf(const std::vector<std::string>& names, bool dry_run);

    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// The backup figures of a region's repository (for `chfleet health` and the exporter).
BackupStats backupStats(const topology::Fleet& fleet, const std::string& region,
                        const std::optional<RepositorySpec>& repository = std::nullopt);

}  // namespace chfleet::backup
