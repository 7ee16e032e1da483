#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "clickhouse/Connection.h"
#include "sync/SyncEngine.h"
#include "topology/Fleet.h"

// One partition's repair, server to server, and the pieces the comparison shares with it: statement counting,
// row checksums, the column list. SyncEngine (the class comment of sync/SyncEngine.h) decides what to repair
// and states what a repair guarantees after a crash; this is how a repair runs.
namespace chfleet::sync {

/// Every staging table's name starts with this (the next cycle drops leftovers of a killed run).
inline constexpr std::string_view kStagingPrefix = "_chfleet_stage_";

/// True for a ClickHouse "Table … doesn't exist" (code 60) that names a staging table. 18.16 answers it, now
/// and then, to a repair's statement while another repair on the same server drops its own staging table (it
/// was seen twice in some fifty suite runs, once with every staging name distinct, and could not be
/// reproduced by hand). Up to the final ATTACH/REPLACE such a failure leaves the target untouched, and that
/// single statement either ran whole or not at all: the repair can simply be run again.
bool isStagingTableRace(const std::exception& error);

/// The staging table name of one repair attempt of `repair` (site|region|table|partition|shard): the prefix
/// and 16 hex digits, different for every attempt.
std::string stagingName(const std::string& repair);

/// Count and wrapping sum of the row hash (see readColumns): a multiset checksum of rows.
struct Checksum {
    uint64_t count = 0;
    uint64_t hash = 0;
    Checksum& operator+=(const Checksum& other) {
        count += other.count;
        hash += other.hash;  // unsigned: wraps like ClickHouse's sum of UInt64
        return *this;
    }
    bool operator==(const Checksum&) const = default;
};

/// A connection to `node` (with the sync's timeouts) that counts every statement in `queries`. With
/// `unbounded`, statements have no total time limit (a repair's copy of a large partition may take hours);
/// a server that stops answering is still given up after the stall timeout.
std::unique_ptr<clickhouse::Connection> connectCounting(const SyncOptions& options,
                                                        const topology::Node& node,
                                                        std::atomic<uint64_t>& queries,
                                                        bool unbounded = false);

/// 64-bit FNV-1a, for stable staging table names.
uint64_t fnv1a(std::string_view text);

/// "db.table" split: returns db, stores table.
std::string splitDatabase(const std::string& key, std::string* table);

/// A table's ordinary columns (what SELECT * returns) and the row hash over them. The hash is cityHash64 of
/// every column, with UUIDs and Decimals as their text: 18.16 cannot hash either (Code 43) and current
/// versions hash a UUID's bytes, so the text is the one form every version hashes alike.
struct TableColumns {
    std::string list;  ///< quoted, comma-separated
    std::string hash;  ///< cityHash64(...) expression
};

TableColumns readColumns(clickhouse::Connection& connection, const std::string& database,
                         const std::string& table);

/// The columns of every table of the server (system databases aside), by "db.table", in one statement.
std::map<std::string, TableColumns> readAllColumns(clickhouse::Connection& connection);

/// Runs a query returning one row of `_chfleet_c` (count) and `_chfleet_h` (hash sum). Every alias chfleet
/// puts next to a table's own columns starts with `_chfleet_`: ClickHouse aliases shadow columns of the same
/// name.
Checksum readChecksum(clickhouse::Connection& connection, const std::string& select);

/// Everything one repair needs.
struct RepairJob {
    PartitionDifference difference;
    const topology::Node* node = nullptr;  ///< the replica of the shard to repair
    const topology::Site* other_site = nullptr;
    const topology::Region* other_region = nullptr;  ///< the same region on the other site
    std::string sharding_key;
    const topology::Region* region = nullptr;
    bool replicated = false;
    Checksum expected_mirror;                  ///< the other site's checksum of the rows that belong here
    std::atomic<uint64_t>* queries = nullptr;  ///< the statements counter of the repaired site
};

/// Fills a staging table from the other site, verifies it, swaps it in. See the class comment for the
/// guarantees; every step before the final ALTER leaves the table untouched.
RepairResult repairPartition(const SyncOptions& options, const RepairJob& job);

}  // namespace chfleet::sync
