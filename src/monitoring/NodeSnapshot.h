#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "topology/Fleet.h"

// What monitoring reads from one server in one pass, and how the whole fleet is read: every node at once,
// each within a deadline. The exporter turns a FleetSnapshot into Prometheus text; the health report turns it
// into findings.
namespace chfleet::monitoring {

/// One row of system.replicas.
struct ReplicaState {
    std::string database;
    std::string table;
    bool is_readonly = false;
    bool is_session_expired = false;
    uint64_t absolute_delay = 0;
    uint64_t queue_size = 0;
};

/// One table's active parts on a node.
struct TableParts {
    std::string database;
    std::string table;
    uint64_t rows = 0;
    uint64_t bytes = 0;
    uint64_t partitions = 0;
    uint64_t max_parts_per_partition = 0;
};

/// One table's mutations on a node.
struct TableMutations {
    std::string database;
    std::string table;
    uint64_t pending = 0;
    uint64_t oldest_pending_age_seconds = 0;
    uint64_t failed = 0;  ///< pending mutations with a failure reason (servers that record one: 20.x+)
};

/// Space of one disk of a node.
struct DiskSpace {
    std::string name;    ///< system.disks name, or "default" for the host's data path
    std::string source;  ///< "system.disks" or "host"
    uint64_t total_bytes = 0;
    uint64_t free_bytes = 0;
};

/// The query log's finished queries as a cumulative histogram (le in seconds).
struct QueryHistogram {
    std::vector<double> bounds;     ///< upper bounds, ascending, without +Inf
    std::vector<uint64_t> buckets;  ///< cumulative count per bound
    uint64_t count = 0;
    double sum_seconds = 0;
};

/// Query latency over the last hour (health report).
struct RecentLatency {
    uint64_t queries = 0;
    double p95_seconds = 0;
    double p99_seconds = 0;
};

/// A remote_servers entry a node reports errors for (system.clusters.errors_count, where it exists).
struct ClusterErrors {
    std::string cluster;
    std::string host;
    uint64_t port = 0;
    uint64_t errors = 0;
};

/// Everything read from one node in one pass.
struct NodeSnapshot {
    std::string version;
    uint64_t uptime_seconds = 0;
    uint64_t inserted_rows = 0;  ///< system.events InsertedRows (since the server started)
    /// ZooKeeper session: false when any replica's session expired, or (no replicated tables) when
    /// system.zookeeper cannot be read; nullopt when the node uses no keeper at all.
    std::optional<bool> zookeeper_connected;
    std::vector<ReplicaState> replicas;
    std::vector<TableParts> tables;
    std::vector<TableMutations> mutations;
    std::vector<DiskSpace> disks;
    std::string disk_note;                  ///< why there are no disk figures, when there are none
    std::optional<QueryHistogram> queries;  ///< nullopt: the query log is off on this node
    std::optional<RecentLatency> recent;    ///< health only; nullopt: the query log is off
    std::vector<ClusterErrors> cluster_errors;
    std::vector<std::string> read_errors;  ///< optional reads the server refused (it is still up)
    int queries_sent = 0;                  ///< how many statements this pass cost the node
};

/// One node's outcome of a pass.
struct NodeRead {
    const topology::Node* node = nullptr;
    bool up = false;
    std::string error;  ///< why it is down (connection refused, no answer within the deadline, ...)
    double seconds = 0;
    NodeSnapshot snapshot;
};

struct ReadOptions {
    std::chrono::milliseconds timeout{5000};  ///< per node, in all
    bool for_health = false;                  ///< also the last hour's latency and cluster errors
    std::string host_data_path;               ///< see MonitoringConfig::host_data_path
    /// Read this node alone: an exporter on the node's host (its disk is then read from this host).
    std::string only_node;
};

/// Reads every node of `fleet` at once, one thread per node. Returns within about `options.timeout` whatever
/// happens: a node that has not answered by then is reported down, and its thread is left to finish on its
/// own (the HTTP client's own total timeout ends it); it writes nothing the caller still reads.
std::vector<NodeRead> readFleet(const topology::Fleet& fleet, const ReadOptions& options);

/// The histogram bounds (seconds) of clickhouse_query_duration_seconds.
const std::vector<double>& queryDurationBounds();

}  // namespace chfleet::monitoring
