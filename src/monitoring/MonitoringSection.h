#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "topology/Fleet.h"

// Monitoring's part of the fleet file: the `monitoring:` section (thresholds overriding the seed's alert
// table, the exporter's per-node timeout, where runbooks live, where disk figures and chfleet's own state
// come from). Read, checked and written here; registered with the fleet-file loader
// (topology/FleetSection.h).
namespace chfleet::monitoring {

/// The thresholds of the health report and of the rendered alert rules. Defaults are the seed's alert table
/// (replica lag 60 s, disk 80 %, queue 500, TTL stalled 24 h) and its shard-imbalance rule (under 10 %
/// normal, over 20 % investigate); the rest are chfleet's own (docs/monitoring.md says why each value).
struct Thresholds {
    int64_t replica_lag_seconds = 60;
    int64_t replication_queue = 500;
    int64_t disk_used_percent = 80;
    int64_t shard_imbalance_percent = 10;              ///< at or above: noted (warning from the next value)
    int64_t shard_imbalance_investigate_percent = 20;  ///< above: warning naming the companies
    int64_t shard_balance_min_rows = 10000;            ///< a table with fewer rows in a region is not judged
    int64_t query_p99_seconds = 5;                     ///< the seed's slow-query runbook: over 5 s
    int64_t parts_per_partition = 300;     ///< merges falling behind (ClickHouse throttles inserts there)
    int64_t mutation_age_minutes = 60;     ///< a mutation pending longer is stuck
    int64_t sync_not_clean_minutes = 30;   ///< DR: no clean cycle (or failback not ready) for longer
    int64_t erasure_pending_hours = 24;    ///< an erasure requested and not complete for longer
    int64_t retention_stalled_hours = 24;  ///< the seed's "TTL merge stalled: 24 h"
    int64_t backup_age_hours = 26;         ///< a daily backup plus two hours of slack
    int64_t spool_bytes = 1LL << 30;       ///< ingest's spool backlog
    bool operator==(const Thresholds&) const = default;
};

/// The `monitoring:` section.
struct MonitoringConfig {
    static constexpr std::string_view kExtensionKey = "monitoring";
    static constexpr std::string_view kDefaultRunbookBaseUrl =
        "https://github.com/chfleet/chfleet/blob/main/docs/runbooks";
    Thresholds thresholds;
    /// How long the exporter waits for one node in all (a node that does not answer by then is down).
    int64_t exporter_timeout_ms = 5000;
    std::string runbook_base_url = std::string(kDefaultRunbookBaseUrl);
    /// Where a server keeps its data on its host, `{node}` standing for the node's name; statvfs of it gives
    /// disk figures where the server has no system.disks (before 20.x), when the node is on this host.
    std::string host_data_path = "/var/lib/clickhouse";
    std::string sync_state_file;   ///< chfleet sync's state file; empty: the fleet has no DR sync
    std::string ingest_spool_dir;  ///< chfleet ingest's async spool; empty: no async ingest
    /// What the rendered scrape configuration scrapes (host:port each).
    std::vector<std::string> exporter_targets{"127.0.0.1:9363"};
    std::vector<std::string> sync_targets;
    std::vector<std::string> ingest_targets;
    bool operator==(const MonitoringConfig&) const = default;
};

/// The fleet's monitoring section (defaults when the file has none).
const MonitoringConfig& monitoringConfig(const topology::Fleet& fleet);

/// A `host_data_path` with `{node}` replaced by the node's name.
std::string hostDataPath(const std::string& path_template, const topology::Node& node);

}  // namespace chfleet::monitoring
