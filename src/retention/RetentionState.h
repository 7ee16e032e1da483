#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "topology/Fleet.h"

// The record of `retention run`s that every chfleet instance reading the same fleet file can read: one
// small JSON file (by default next to the fleet file), replaced atomically after each run.
namespace chfleet::retention {

/// The last run that finished for one table in one region of one site.
struct LastRun {
    uint64_t finished = 0;  ///< unix seconds
    uint64_t partitions_dropped = 0;
    uint64_t rows_dropped = 0;
    bool ok = true;  ///< false when a node or a statement failed for this table

    bool operator==(const LastRun&) const = default;
};

/// Last runs by stateKey(site, region, table).
using RetentionState = std::map<std::string, LastRun>;

std::string stateKey(const std::string& site, const std::string& region, const std::string& table);

/// The state file of a fleet: `explicit_path` when given, else $CHFLEET_RETENTION_STATE, else
/// retention-state.json in the fleet file's folder.
std::string statePath(const topology::Fleet& fleet, const std::string& explicit_path);

/// Reads the state; a missing file is an empty state. Throws Exception(IoError) naming the path when the
/// file cannot be read or is not a retention state.
RetentionState loadState(const std::string& path);

/// Writes the state atomically (common/Files.h).
void saveState(const std::string& path, const RetentionState& state);

}  // namespace chfleet::retention
