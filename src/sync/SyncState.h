#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace chfleet::sync {

/// One partition repair, as kept in the state file's `repairs` list.
struct RepairRecord {
    std::string time;       ///< ISO-8601 UTC, e.g. "2024-01-15T10:00:00Z"
    std::string table;      ///< "db.table"
    std::string partition;  ///< partition id
    std::string target;     ///< where rows were written: a site, or "site/shard N" on sharded sites
    uint64_t rows_added = 0;
    uint64_t rows_removed = 0;
    std::string policy;  ///< "union" or "mirror"

    bool operator==(const RepairRecord&) const = default;
};

/// The persistent state of chfleet sync between cycles and restarts: CH-Sync's state file fields, under the
/// same names so that existing `jq` scripts keep working, plus chfleet's own (rows added/removed, the last
/// repairs, and the `verified` fingerprints the engine uses to skip checksums of unchanged partitions).
struct SyncState {
    std::optional<std::string> last_check;  ///< ISO-8601 UTC of the last cycle, null before the first
    std::optional<std::string> last_sync;   ///< ISO-8601 UTC of the last cycle that repaired something
    uint64_t consecutive_clean = 0;
    bool failback_ready = false;
    std::string active_site;  ///< "primary", "dr" or "unknown"; empty (null in JSON) before the first cycle
    uint64_t tables_checked = 0;
    uint64_t tables_with_gaps = 0;
    uint64_t partitions_synced = 0;
    uint64_t rows_synced = 0;
    uint64_t tables_created = 0;
    std::vector<std::string> new_tables_detected;  ///< "db.table" on the active site only
    std::optional<std::string> last_error;         ///< null when the last cycle succeeded

    uint64_t rows_added = 0;            ///< total rows written to a passive site by repairs
    uint64_t rows_removed = 0;          ///< total rows removed by repairs (only under the mirror policy)
    std::vector<RepairRecord> repairs;  ///< the last kMaxRepairs repairs, oldest first
    std::map<std::string, std::string> verified;  ///< engine-defined key -> fingerprint (opaque here)

    bool operator==(const SyncState&) const = default;
};

/// How many repairs the state keeps.
inline constexpr size_t kMaxRepairs = 100;

/// Appends `repair` to state.repairs and drops the oldest beyond kMaxRepairs. Counters are left to the
/// caller.
void appendRepair(SyncState& state, RepairRecord repair);

/// Reads the state file. Never throws: a missing file gives a fresh state and one info line; a corrupt or
/// unreadable one (not JSON, truncated, a field of the wrong type) gives a fresh state and one warning naming
/// the path and the problem, and the file is renamed to `path.corrupt-YYYYMMDDTHHMMSSZ` so nothing is lost.
/// Fields missing from the file (an older CH-Sync state) keep their defaults; unknown fields are ignored.
SyncState loadSyncState(const std::string& path);

/// Writes the state file atomically (temp file, fsync, rename), creating its folder if needed. Throws
/// Exception(IoError) naming the path when it cannot be written.
void saveSyncState(const std::string& path, const SyncState& state);

/// The state as the JSON text saveSyncState writes (what `chfleet sync status --json` prints).
std::string syncStateJson(const SyncState& state);

/// "2024-01-15T10:00:00Z" (UTC, whole seconds).
std::string toIsoUtc(std::chrono::system_clock::time_point time);

/// Parses "2024-01-15T10:00:00Z", with optional fractional seconds and "Z", "+00:00" or no zone (UTC assumed;
/// CH-Sync wrote Python isoformat strings). nullopt when malformed.
std::optional<std::chrono::system_clock::time_point> fromIsoUtc(const std::string& text);

}  // namespace chfleet::sync
