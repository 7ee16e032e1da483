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
// - create: blobs are stored whole or not at all and are immutable; each shard's piece (a manifest of that
//   shard alone) once its files are stored, the region's manifest last, from the pieces, once all are in
//   (pieces are then removed; a rerun or `--finish` completes a manifest a killed run did not write). A
//   killed run leaves `started.json` without a manifest: `list` shows it incomplete, `restore` refuses it, a
//   rerun with the same name completes it (blobs already stored are not sent again), `delete` removes it. The
//   server's shadow/chfleet_<name> folder is removed at the end of every run and before a rerun freezes
//   again.
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
    /// Per host: only the shards of which one of these nodes is a replica, frozen on that node (the first
    /// named). Empty: every shard, on its first healthy replica.
    std::vector<std::string> nodes;
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
    /// Regions whose manifest still waits for other hosts' shards ("<region>: shards 2, 3 not in yet").
    std::vector<std::string> waiting;
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
    std::string region;     ///< only this region's part of the backup ("" = every region)
    /// "" = each region into the region of the same name. Another region is refused unless
    /// allow_cross_region: then only the rows of companies the target region's copy of the company -> region
    /// mapping assigns to it are restored, the others removed from the staging tables first.
    std::string to_region;
    bool allow_cross_region = false;
    bool replace = false;  ///< --rm: replace partitions that hold rows (and drop those the backup lacks)
    bool dry_run = false;
    bool progress = false;
    /// Delete the rows of companies the erasure ledger records as erased before anything becomes visible.
    /// Only `verify --restore-test` turns it off: its scratch fleet has no ledger, compares the rows as the
    /// backup holds them, and is purged at the end.
    bool apply_erasures = true;
};

struct RestoreReport {
    std::vector<std::string> plan;  ///< one line per node and table
    uint64_t parts = 0;
    uint64_t rows = 0;
    uint64_t rows_erased = 0;    ///< rows of erased companies removed before the data became visible
    uint64_t rows_left_out = 0;  ///< cross-region: rows of companies not mapped to the target region
    uint64_t bytes = 0;
    int partitions_replaced = 0;
    double seconds = 0;
};

/// One table and partition whose restored rows differ from what the backup recorded.
struct RestoreTestDifference {
    std::string region;
    std::string table;      ///< logical name
    std::string partition;  ///< partition ID
    uint64_t expected_rows = 0;
    uint64_t restored_rows = 0;
    std::optional<uint64_t> expected_checksum;  ///< unset: the manifest has none (an older backup)
    uint64_t restored_checksum = 0;

    /// "region R, table T, partition P: ..." naming what differs.
    std::string describe() const;
};

struct RestoreTestReport {
    std::vector<std::string> regions;
    int tables = 0;         ///< per region
    int partitions = 0;     ///< per region and table
    uint64_t rows = 0;      ///< restored
    bool checksums = true;  ///< false: some table of the manifest has no checksums, only row counts compared
    std::vector<RestoreTestDifference> differences;  ///< in manifest order: the first is the first found
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
    /// Writes the manifest of every region of the site whose shards' pieces are all in (what the last
    /// per-host `create --node` does by itself); returns the regions still waiting, as CreateReport::waiting.
    std::vector<std::string> finish(const std::string& name, const std::string& site);
    std::vector<BackupListing> list();
    VerifyReport verify(const std::string& name);
    DeleteReport remove(const std::string& name, bool dry_run);
    /// Deletes complete backups older than keep_days, keeping at least the `keep` newest, and incomplete
    /// ones older than keep_days.
    DeleteReport cleanup(int keep_days, int keep, bool dry_run);
    RestoreReport restore(const std::string& name, const RestoreOptions& options);
    /// Restores the whole backup into a scratch fleet (backup/RestoreTest.cpp: one server per region of the
    /// backup's site, on free loopback ports, in a temporary folder, stopped and removed whatever happens)
    /// and compares per region, table and partition the row count and the row checksum with the manifest.
    RestoreTestReport restoreTest(const std::string& name, bool progress);

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
