#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "topology/Fleet.h"

// The erasure ledger: the fleet's tamper-evident record of every erasure, readable by every chfleet instance
// on every site, and the one place that says which companies must never come back (sync, restore and
// reruns apply it).
//
// Where it lives: a local append-only JSON-lines file (erase.ledger_file) and, on every node of every site,
// the table `<erase.ledger_database>.erase_ledger` (ReplicatedMergeTree, one replication path per site, so
// every node of a site holds every entry). The entries are the same in all copies; a copy that missed some
// (a site that was down) is topped up by the next append. A node may hold an entry twice (inserted on two
// replicas while they could not see each other); copies are read with DISTINCT.
//
// The chain: entry n stores the hash of entry n-1 (`prev`, 64 zeros for the first) and its own hash
//   hash = SHA-256(prev + "\n" + seq + "\n" + entry)
// over the exact stored text of the entry (a JSON object). Editing an entry changes its hash; deleting or
// reordering one breaks the next entry's `prev` or the sequence; verify() says which entry and in which copy.
//
// Companies are never recorded by their ID: an entry names a subject, the lower-case hex SHA-256 of the
// fleet's secret salt followed by the ID (erase/Subject.h), which ClickHouse can compute from the stored
// rows to find them again without the ID.
namespace chfleet::erase {

/// One entry of the chain as stored.
struct LedgerEntry {
    uint64_t seq = 0;   ///< 1-based position in the chain
    std::string prev;   ///< hash of the previous entry (64 zeros for seq 1)
    std::string hash;   ///< hash of this entry (see the file comment)
    std::string entry;  ///< the entry itself: a JSON object (kind "request" or "receipt"; see docs/erase.md)

    /// The entry's JSON (throws Exception(BadResponse) when it does not parse).
    nlohmann::json body() const;
    /// The hash this entry should have.
    std::string expectedHash() const;
    /// The entry as one line of the ledger file.
    std::string line() const;

    bool operator==(const LedgerEntry&) const = default;
};

/// The hash of entry `seq` holding `entry` after the entry whose hash is `prev`.
std::string chainHash(const std::string& prev, uint64_t seq, const std::string& entry);
/// The `prev` of the first entry.
std::string genesisHash();

/// One copy of the ledger as read: the local file, or one site's table.
struct LedgerCopy {
    std::string name;  ///< "file <path>" or "site <name> (<node>)"
    bool readable = false;
    std::string error;  ///< why it could not be read
    std::vector<LedgerEntry> entries;
};

/// One problem verify() found.
struct LedgerProblem {
    std::string copy;  ///< the copy it is in
    uint64_t seq = 0;  ///< the entry it is about
    std::string message;
};

struct LedgerVerification {
    std::vector<LedgerCopy> copies;
    std::vector<LedgerProblem> problems;  ///< tampering or damage: edited, deleted, reordered, diverging
    std::vector<std::string> notes;       ///< copies that could not be read, copies lagging behind
    uint64_t entries = 0;                 ///< length of the longest valid chain

    bool intact() const { return problems.empty(); }
};

/// Reads and writes the ledger of one fleet.
class ErasureLedger {
  public:
    /// `read_timeout`: how long one node may take to answer a read of its site's copy before the next node
    /// of the site is asked (zero: the connection's default); for readers that must not hang on a stopped
    /// server (ingest's refresh).
    explicit ErasureLedger(const topology::Fleet& fleet,
                           std::chrono::milliseconds read_timeout = std::chrono::milliseconds(0));

    /// Every copy: the local file first, then each site's table read on its first node that answers.
    std::vector<LedgerCopy> readCopies() const;
    /// The entries of all readable copies merged by seq (the first copy's version wins at a seq where copies
    /// disagree; verify() reports such disagreements).
    std::vector<LedgerEntry> entries() const;

    /// Appends `entry` (a JSON object) to the chain: written to the local file (fsynced) and into every
    /// site's table that answers, after topping up each copy with the entries it lacks. Returns the entry
    /// as stored. Throws Exception(IoError) when the local file cannot be written; a site that cannot be
    /// written is logged and caught up by a later append (verify() shows it lagging).
    LedgerEntry append(const nlohmann::json& entry);

    /// Checks the chain in every copy and the copies against each other.
    LedgerVerification verify() const;

    /// Creates the ledger database and table on `node` if missing (idempotent).
    void ensureTable(const topology::Node& node) const;

  private:
    std::vector<LedgerEntry> readFile() const;
    LedgerCopy readSite(const topology::Site& site) const;
    void writeSite(const topology::Site& site, const std::vector<LedgerEntry>& all) const;
    void appendFile(const std::vector<LedgerEntry>& missing) const;

    const topology::Fleet& fleet_;
    std::string file_;
    std::string table_;  ///< `db`.`erase_ledger`
    std::chrono::milliseconds read_timeout_;
};

/// Checks one copy's chain on its own (seq 1..n without gaps, each prev and hash right).
std::vector<LedgerProblem> verifyChain(const LedgerCopy& copy);

/// The subjects (salted hashes) of every company the ledger records an erasure request for, sorted, once
/// each. `entries` as ErasureLedger::entries() returns them.
std::vector<std::string> erasedSubjects(const std::vector<LedgerEntry>& entries);

/// The erased subjects of the fleet, read from every copy of the ledger that can be read (local file and
/// every reachable site): the list sync, restore, reruns and ingest apply. `read_timeout`: as for
/// ErasureLedger.
std::vector<std::string> erasedSubjects(
    const topology::Fleet& fleet, std::chrono::milliseconds read_timeout = std::chrono::milliseconds(0));

/// A SQL condition true for the rows of `table` that belong to one of `subjects`, computed by ClickHouse
/// from the table's region key and the fleet's salt (18.16 and later):
///   lower(hex(SHA256(concat('<salt>', toString(`company_id`))))) IN ('<subject>', ...)
/// Every value is quoted (clickhouse/Quoting.h). Empty when the table has no region key or `subjects` is
/// empty (nothing of it can match). Throws Exception(InvalidConfig) when the salt is not set.
std::string erasedRowsCondition(const topology::Fleet& fleet, const topology::Table& table,
                                const std::vector<std::string>& subjects);

}  // namespace chfleet::erase
