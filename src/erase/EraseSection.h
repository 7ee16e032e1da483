#pragma once

#include <string>
#include <string_view>

#include "topology/Fleet.h"

// Erasure's part of the fleet file: the optional `erase:` section (where the ledger lives, where the salt of
// the subject hashes is, how long to wait for mutations). Read, checked and written here; registered with the
// fleet-file loader (topology/FleetSection.h).
namespace chfleet::erase {

/// The `erase:` section. Every field has a default, so a fleet file without the section can erase once the
/// salt's environment variable is set.
struct EraseConfig {
    static constexpr std::string_view kExtensionKey = "erase";
    static constexpr const char* kDefaultSaltEnv = "CHFLEET_ERASE_SALT";
    static constexpr const char* kDefaultLedgerFile = "erase-ledger.jsonl";
    static constexpr const char* kDefaultLedgerDatabase = "chfleet";
    static constexpr int kDefaultMutationTimeoutSeconds = 900;
    /// `chfleet ingest serve` reads the ledger every 2 s by default (--erased-refresh-seconds); 3 s of margin
    /// for the read itself.
    static constexpr int kDefaultIngestGraceSeconds = 5;

    /// The local append-only copy of the ledger (JSON lines); relative paths are relative to the fleet
    /// file's directory.
    std::string ledger_file = kDefaultLedgerFile;
    /// The database of the replicated ledger table (`<database>.erase_ledger` on every node).
    std::string ledger_database = kDefaultLedgerDatabase;
    /// The fleet's secret salt of subject hashes, by reference (never inline).
    topology::SecretRef salt{kDefaultSaltEnv, ""};
    /// How long one run waits for its mutations to finish on the replicas it reaches.
    int mutation_timeout_seconds = kDefaultMutationTimeoutSeconds;
    /// How long a run waits between recording its request in the ledger and deleting, so that every running
    /// ingest server has read the request and stopped writing the company's rows (longer than ingest's
    /// --erased-refresh-seconds).
    int ingest_grace_seconds = kDefaultIngestGraceSeconds;

    bool operator==(const EraseConfig&) const = default;
};

/// The fleet's erase section (defaults when the file has none).
const EraseConfig& eraseConfig(const topology::Fleet& fleet);

/// The ledger file's path, resolved against the fleet file's directory.
std::string ledgerFilePath(const topology::Fleet& fleet);

/// The salt, read from its reference; throws Exception(InvalidConfig) naming where it was looked for when
/// it is missing or empty (an unsalted hash of a short ID is reversible by trying IDs).
std::string fleetSalt(const topology::Fleet& fleet);

}  // namespace chfleet::erase
