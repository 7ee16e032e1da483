#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "clickhouse/Connection.h"
#include "sync/SyncSettings.h"
#include "topology/Fleet.h"

namespace chfleet::sync {

struct SyncOptions {
    /// What a repair makes of a partition that differs:
    /// - Union (default): both sites end with every row either had, each as many times as the site that
    ///   had it most often; nothing is ever removed. Rows only the passive site took (after a failover,
    ///   under dual-write) are kept and copied to the active site.
    /// - Mirror (opt-in): the passive site becomes an exact copy of the active one; rows only it had are
    ///   removed.
    SyncPolicy policy = SyncPolicy::Union;
    /// The active site's name; unset when it could not be determined: then differences are reported, never
    /// repaired.
    std::optional<std::string> active_site;
    /// Only this site is ever written to (a CH-Sync-style daemon that repairs its own site only).
    std::optional<std::string> only_repair_site;
    std::vector<std::string> exclude_patterns;
    bool repair = true;  ///< false: compare and report only (`sync check`)
    bool auto_create_tables = false;
    int connect_timeout_ms = 2000;
    int max_insert_threads = 4;
    int parallel_repairs = 4;
    /// A partition written to (on either site) within this many seconds is not repaired this cycle: its rows
    /// may still be on their way to the other site through the application's own dual write.
    int settle_seconds = 0;
    /// Asked between steps; true stops the cycle cleanly (SIGTERM/SIGINT).
    std::function<bool()> should_stop;
    /// How to reach a node; default: its HTTP interface with the fleet credentials.
    std::function<clickhouse::HttpEndpoint(const topology::Node&)> endpoint_for;
    /// The account a server of one site uses in remote() to read the other site (`site` is the one read) when
    /// no cluster of that site is defined in the server's config; default: the fleet credentials.
    std::function<clickhouse::Credentials(const topology::Site&)> remote_credentials;
};

/// A partition of one table that differs between the sites, seen from the shard that would be repaired.
struct PartitionDifference {
    std::string table;  ///< db.table (the local table)
    std::string region;
    std::string site;  ///< the site whose shard lacks (or has extra) rows
    int shard = 0;
    std::string partition_id;
    std::string partition;
    uint64_t rows_here = 0;   ///< rows of the partition on that shard
    uint64_t rows_there = 0;  ///< rows the other site holds for that shard
    std::string reason;       ///< "rows missing here", "rows only here", "content differs (same row count)"
    /// What this cycle does about it: "repair"; "none: ..." when nothing is to be written here (the other
    /// site receives the rows, or mirror writes only the passive site); "not repaired: ..." or "deferred:
    /// ..." when it stays for a later cycle or another instance.
    std::string action;

    bool pending() const { return action.rfind("not repaired", 0) == 0 || action.rfind("deferred", 0) == 0; }
};

struct RepairResult {
    PartitionDifference difference;
    bool done = false;
    bool skipped = false;  ///< nothing needed changing after all (the site already held every row)
    uint64_t rows_added = 0;
    uint64_t rows_removed = 0;
    std::string error;
    /// The failure was a staging table vanishing under the repair (see isStagingTableRace): the attempt
    /// changed nothing and is tried again with a new staging table.
    bool staging_race = false;
};

struct CycleReport {
    bool healthy = true;
    std::string unhealthy_reason;
    size_t shards_reached = 0;  ///< shards of both sites where a replica answered the inventory
    std::optional<std::string> active_site;
    size_t tables_checked = 0;
    std::set<std::string> tables_with_gaps;
    std::vector<PartitionDifference> differences;
    std::vector<RepairResult> repairs;
    std::vector<std::string> new_tables;  ///< "site: db.table" missing on that site
    std::vector<std::string> tables_created;
    std::vector<std::string> warnings;
    std::vector<std::string> errors;
    std::map<std::string, uint64_t> queries_per_site;
    /// Fingerprints of partitions found equal; the next cycle skips their checksums while they stay the same.
    std::map<std::string, std::string> verified;

    bool clean() const { return healthy && differences.empty() && new_tables.empty() && errors.empty(); }
    uint64_t partitionsRepaired() const;
    uint64_t rowsAdded() const;
    uint64_t rowsRemoved() const;
};

/// One sync cycle between the two sites of a fleet.
///
/// How a cycle decides (see docs/sync.md):
/// 1. Inventory: on every shard of both sites, one healthy replica answers two queries (its MergeTree
///    tables, and system.parts grouped by table and partition). That is the whole cost of a clean cycle.
/// 2. Tables on one site only are reported (and created from the other site's definition with
///    auto_create_tables); tables matching an exclusion pattern are never looked at.
/// 3. Per table and partition: different row totals settle it; otherwise, if every shard's parts are the
///    ones a previous cycle verified, it is equal; otherwise a content checksum (count and sum of
///    cityHash64 over all columns) is computed on each shard, grouped by the shard the row belongs to on the
///    other site (the table's sharding key, weights honoured), so sites with different shard counts compare
///    shard by shard. Partitions older than the table's retention are skipped: they are never copied back.
/// 4. Repairs run on the shard that differs, server to server: a staging table (plain MergeTree of the
///    same structure) is filled from the other site with INSERT ... SELECT (through a cluster defined in
///    the server's config when there is one, else remote()), its count and checksum are verified, and then
///    it is swapped in with one atomic ALTER: ATTACH PARTITION ... FROM (union: the staging holds only the
///    missing rows, so rows written meanwhile are untouched) or REPLACE PARTITION ... FROM (mirror). A crash
///    at any instant leaves the partition as it was or as repaired; the next cycle recomputes from scratch
///    and drops leftover staging tables, so reruns converge without doubles.
class SyncEngine {
  public:
    /// The fingerprints a previous cycle verified (SyncState::verified, moved out of the state), asked for
    /// once per cycle when the comparison starts and only if both sites answered the inventory: the caller
    /// can still be reading its state file while the servers answer.
    using VerifiedSource = std::function<std::map<std::string, std::string>()>;

    SyncEngine(const topology::Fleet& fleet, SyncOptions options, VerifiedSource previously_verified);
    CycleReport runCycle();

  private:
    /// What this cycle does about a difference on `site` (see PartitionDifference::action).
    std::string actionFor(const std::string& site, uint64_t rows_there, uint64_t last_write,
                          uint64_t now) const;

    const topology::Fleet& fleet_;
    SyncOptions options_;
    VerifiedSource previously_verified_;
};

/// The SQL expression giving, for a row, the 1-based shard of `region` it belongs to: the Distributed
/// engine's choice (sharding key modulo the total weight, slots by weight in shard order). "1" for one shard.
std::string shardExpression(const topology::Region& region, const std::string& sharding_key);

/// `engine_full` of a Replicated*MergeTree table with the replication arguments removed, for a staging table
/// of the same structure; other engines unchanged.
std::string stagingEngine(const std::string& engine_full);

}  // namespace chfleet::sync
