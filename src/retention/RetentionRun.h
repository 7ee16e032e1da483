#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "retention/RetentionPlan.h"
#include "retention/RetentionState.h"
#include "topology/Fleet.h"

// `retention run` and `retention status`: every table's retention applied per site, region and shard.
//
// How a run decides, shard by shard:
//  1. Every replica of the shard is read (RetentionPlan.h: one planning query per node). The shard's view of
//     a partition is the union over its replicas: most rows, oldest oldest, newest newest; a partition whose
//     ages one replica cannot tell is unknown. A replica that does not answer stops every change on the
//     shard (it may hold rows the others have not fetched yet), and is reported.
//  2. A partition is dropped only when its newest value is past the region's horizon (Horizon.h), so no
//     partition holding a row inside the policy is ever dropped. A partition with rows on both sides of
//     the horizon is kept and reported; with `trim`, its expired rows are removed by one ALTER DELETE
//     mutation per table. A partition of unknown ages (a partition key not built on the retention column,
//     an unsupported column type) is kept and reported.
//  3. Drops go through one replica (DROP PARTITION ID replicates) and are confirmed on every replica: after
//     SYSTEM SYNC REPLICA, the partition is gone from system.parts everywhere, or the run fails naming it.
//     On servers with TTL whose table carries a TTL clause (`schema apply` renders it per region), expired
//     partitions still present mean the TTL merges lag: the run asks for MATERIALIZE TTL instead.
//  4. After a run that was not a dry run, the state file records the time and what was dropped per table,
//     region and site. A crash at any point leaves partitions either present or dropped; running again is
//     safe (it finds what is left).
//
// Sync reads the same horizon (isPastHorizon) and never copies a partition past it back.
namespace chfleet::retention {

/// How long expired data may outlive its horizon before `status` calls the table "stalled".
inline constexpr std::chrono::seconds kDefaultGrace{86400};

struct RunOptions {
    bool dry_run = false;             ///< plan and report; change nothing, record nothing
    bool trim = false;                ///< ALTER DELETE the expired rows of straddling partitions
    std::optional<std::string> site;  ///< only this site
    uint64_t now = 0;                 ///< the clock (unix seconds); 0: the system clock
    std::chrono::seconds grace = kDefaultGrace;
    std::string state_file;  ///< see statePath
};

/// One node as the run or status saw it.
struct NodeReport {
    std::string node;
    std::string site;
    std::string region;
    int shard = 0;
    bool reachable = true;
    std::string error;
    std::string version;
    bool ttl = false;                         ///< the server has TTL
    int queries = 0;                          ///< statements sent to read it (capability probe and planning)
    std::vector<std::string> stalled_tables;  ///< tables holding expired partitions beyond the grace period
};

/// One table in one region of one site.
struct TableReport {
    std::string site;
    std::string region;
    std::string table;
    int days = 0;
    uint64_t horizon = 0;            ///< rows before this moment are past the policy
    std::optional<uint64_t> oldest;  ///< the oldest row's value (seconds), when known
    uint64_t partitions = 0;         ///< partitions present, over the region's shards
    uint64_t expired = 0;            ///< partitions entirely past the horizon, still present when read
    uint64_t expired_rows = 0;
    uint64_t straddling = 0;  ///< partitions kept: rows on both sides of the horizon
    uint64_t unknown = 0;     ///< partitions kept: ages unknown
    uint64_t dropped = 0;     ///< partitions dropped and confirmed on every replica
    uint64_t rows_dropped = 0;
    std::vector<std::string> statements;  ///< run: what ran (dry run: what would run)
    std::vector<std::string> notes;       ///< partitions kept and why
    std::vector<std::string> errors;
    std::vector<std::string> stalled_nodes;  ///< nodes holding expired partitions beyond the grace period
    /// How long the partition that has been past the horizon longest, still present on a replica, has been
    /// due for removal (0 when none): chfleet_retention_overdue_seconds.
    uint64_t overdue_seconds = 0;
    std::optional<LastRun> last_run;

    bool stalled() const { return !stalled_nodes.empty(); }
};

struct RetentionReport {
    uint64_t now = 0;
    bool dry_run = false;
    std::string state_file;
    std::vector<TableReport> tables;
    std::vector<NodeReport> nodes;

    /// Every node answered and nothing failed.
    bool ok() const;
};

/// Applies every table's retention on every site (or options.site); see the comment above.
RetentionReport runRetention(const topology::Fleet& fleet, const RunOptions& options);

/// Reads every node and reports per table and region: horizon, oldest row, partitions expired and waiting,
/// the last run, and `stalled`. Changes nothing. (`chfleet health` reads the same.)
RetentionReport status(const topology::Fleet& fleet, const RunOptions& options);

}  // namespace chfleet::retention
