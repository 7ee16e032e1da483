#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "topology/Fleet.h"

// Erasing a company's rows from every replica of every site, proving it, and completing what could not be
// done at once.
//
// One run, for one subject (erase/Subject.h):
// 1. Every node (every replica of every shard of every region of every site) is asked, in one query, how many
//    rows of the company each erasable table holds (local tables and materialized views' storage; never
//    through a Distributed table). A node that does not answer stays pending.
// 2. Per shard, one replica that answers runs the deletion as a replicated mutation: ALTER TABLE ... DELETE
//    (18.16 and every version), or lightweight DELETE FROM on servers that have it (23.3+), for the tables
//    where a replica holds rows, or all of them when a replica of the shard is down (the mutation waits in
//    the keeper's log and runs on that replica when it returns, before its old parts can spread again).
// 3. Each node is polled until its rows of the company count 0 and the run's mutations there are done, up to
//    erase.mutation_timeout_seconds.
// 4. Proof: the rows are counted again on every node directly. Done means 0 on a node that answered; any
//    other node stays pending. The receipt (request time, finish time, per node rows before and after,
//    mutation ids) is appended to the erasure ledger (erase/ErasureLedger.h).
//
// Before step 1 the request (subject, reason, time) is in the ledger, so a run that dies half way, a node
// that was down, or a site that missed the run is completed later by hash, without the ID: by a rerun
// (`erase run --pending`), or by sync before it copies anything (completePendingErasures). A run that knows
// the ID then waits erase.ingest_grace_seconds before step 1: running ingest servers read the ledger every
// few seconds and stop writing the company's rows (ingest/write/ErasedCompanies.h), so the deletion comes
// after their last write; a row that lands anyway is counted in step 4 and keeps its node pending.
namespace chfleet::erase {

/// The gauges `chfleet exporter` serves per site from erasureStatus (docs/monitoring.md).
inline constexpr std::string_view kPendingErasuresMetric = "chfleet_erase_pending_erasures";
inline constexpr std::string_view kOldestPendingAgeMetric = "chfleet_erase_oldest_pending_age_seconds";

/// What one erasure did on one node.
struct NodeReceipt {
    std::string node;
    std::string site;
    std::string region;
    int shard = 0;
    int replica = 0;
    bool done = false;  ///< answered and holds 0 rows of the company in every erasable table
    std::string error;  ///< why it is pending
    std::optional<uint64_t> rows_before;
    std::optional<uint64_t> rows_after;
    std::map<std::string, uint64_t> table_rows_before;  ///< storage table -> rows
    std::vector<std::string> mutations;                 ///< "<table>:<mutation_id>" seen on this node
    std::string mechanism;  ///< the statement kind the shard's mutation used ("" when none was needed)
};

/// The receipt of one run.
struct Receipt {
    std::string erasure;  ///< the erasure's id (shared by its request and every receipt)
    std::string subject;
    std::string reason;
    std::string requested_at;  ///< ISO 8601 UTC
    std::string finished_at;
    bool by_id = false;  ///< the run knew the ID (exact match) rather than only the subject (hash match)
    bool dry_run = false;
    std::vector<NodeReceipt> nodes;
    /// Where the servers keep statement text that holds the ID (by_id runs only).
    std::vector<std::string> id_in_server_logs;

    bool complete() const;
    size_t pendingNodes() const;
    nlohmann::json json() const;
};

/// Progress lines (stderr) and the ID, when one is known.
struct EraseOptions {
    std::string reason;
    bool dry_run = false;
    std::function<void(const std::string&)> progress;
};

/// Erases the company `id` everywhere: checks the ID against the region key's type (Exception(BadArguments)
/// before anything runs), records the request in the ledger (unless the subject is already there), runs
/// the steps above with the exact typed match, and appends the receipt. A dry run counts the rows and
/// reports what would run; it writes nothing, the ledger included.
Receipt eraseCompany(const topology::Fleet& fleet, const std::string& id, const EraseOptions& options);

/// Completes every erasure of the ledger on the nodes where it is pending or where rows of an erased
/// subject are found (a replica restored from an old copy, a site that missed the run), matching rows by
/// hash; appends a receipt for each erasure where something changed. `sites`: only nodes of these sites
/// (empty: all). Returns the receipts of the erasures it worked on.
std::vector<Receipt> completePendingErasures(const topology::Fleet& fleet, const EraseOptions& options,
                                             const std::set<std::string>& sites = {});

/// What sync runs before each cycle that may copy rows: completes pending erasures everywhere
/// (completePendingErasures) and returns the tables sync must leave alone this cycle (exclusion patterns):
/// the ledger table (each site keeps its own copy), and every erasable table while rows of an erased
/// company remain on a node that answers, or while the erasures cannot be applied (no salt), so that no
/// copy carries them anywhere.
std::vector<std::string> prepareSyncCycle(const topology::Fleet& fleet);

/// Counts now, on every node directly, the rows of `id` (exact match) in every erasable table.
Receipt verifyCompany(const topology::Fleet& fleet, const std::string& id);

/// One erasure as the ledger records it, with its per-node state.
struct ErasureStatus {
    std::string erasure;
    std::string subject;
    std::string reason;
    std::string requested_at;
    std::string finished_at;  ///< of the receipt that completed it ("" while pending)
    std::set<std::string> done_nodes;
    std::vector<std::string> pending_nodes;  ///< every node of the fleet not yet done, in fleet order
};

/// Every erasure of the ledger with the nodes where it is done and pending (from the receipts; no node is
/// asked anything).
std::vector<ErasureStatus> erasureStatus(const topology::Fleet& fleet);

/// Per node, the erasures still pending there (node name -> erasure ids); nodes with none are absent. For
/// `erase status` and `chfleet health`.
std::map<std::string, std::vector<std::string>> pendingErasuresByNode(const topology::Fleet& fleet);

/// The statement that deletes the rows matching `condition` from the table `target` (qualified name):
/// `DELETE FROM target WHERE condition` (lightweight, 23.3+) or `ALTER TABLE target DELETE WHERE condition`.
std::string deletionStatement(const std::string& target, const std::string& condition, bool lightweight);

/// The sync exclusion pattern of the ledger table (`<db>.erase_ledger`): each site keeps its own copy.
std::string ledgerTablePattern(const topology::Fleet& fleet);

}  // namespace chfleet::erase
