#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "backup/BackupEngine.h"
#include "retention/RetentionRun.h"
#include "topology/Fleet.h"

namespace prometheus {
class Registry;
}

// What chfleet's own day-2 capabilities say about the fleet, read by the functions those capabilities
// provide, once for `chfleet health` (the checks erasures, retention, backups) and periodically for
// `chfleet exporter` (the gauges chfleet_erase_*, chfleet_retention_overdue_seconds, chfleet_backup_*), so
// that the report and the alerts judge the same figures.
namespace chfleet::monitoring {

/// An erasure of the ledger not yet done on every node.
struct PendingErasure {
    std::string erasure;  ///< the erasure's id (never the company's ID)
    std::string requested_at;
    int64_t age_seconds = 0;  ///< since the request
    std::vector<std::string> pending_nodes;
};

/// The erasure ledger's state (erase::erasureStatus: the ledger's local file and site copies).
struct ErasureState {
    size_t recorded = 0;  ///< erasures the ledger records
    std::vector<PendingErasure> pending;
};

ErasureState readErasures(const topology::Fleet& fleet, std::chrono::system_clock::time_point now);

/// retention::status over every site, with `stalled_hours` as the grace period (one planning query per
/// node).
retention::RetentionReport readRetention(const topology::Fleet& fleet, int64_t stalled_hours);

/// The backup figures of one region's repository.
struct RegionBackup {
    std::string region;
    std::optional<backup::BackupStats> stats;  ///< absent when the repository could not be read
    std::string error;
};

/// Every region with a repository in the fleet file's backup section (backup::backupStats), in fleet order.
std::vector<RegionBackup> readBackups(const topology::Fleet& fleet);

/// The exporter's gauges of the three capabilities, read again in a thread of their own every `interval`
/// (retention status reads every node's partitions, and the ledger its site copies: too much for every
/// scrape), so that a scrape never waits for them and keeps its per-node deadline. A capability whose read
/// fails keeps its last figures and the failure is logged.
class CapabilityMetrics {
  public:
    CapabilityMetrics(const topology::Fleet& fleet, std::shared_ptr<prometheus::Registry> registry,
                      int64_t stalled_hours);
    ~CapabilityMetrics();
    CapabilityMetrics(const CapabilityMetrics&) = delete;
    CapabilityMetrics& operator=(const CapabilityMetrics&) = delete;

    /// Reads the three capabilities and replaces their gauges.
    void refresh();

    /// The Prometheus text of one refresh, for `exporter scrape` and tests.
    static std::string text(const topology::Fleet& fleet, int64_t stalled_hours);

  private:
    struct Families;
    const topology::Fleet& fleet_;
    std::shared_ptr<prometheus::Registry> registry_;
    int64_t stalled_hours_;
    std::mutex mutex_;
    std::unique_ptr<Families> families_;
};

}  // namespace chfleet::monitoring
