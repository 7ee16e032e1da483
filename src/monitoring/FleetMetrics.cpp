#include "monitoring/FleetMetrics.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <map>
#include <string>

#include "monitoring/TrackedFamilies.h"

namespace chfleet::monitoring {

namespace {

using Labels = std::map<std::string, std::string>;

Labels nodeLabels(const topology::Node& node) {
    return {{"node", node.name},
            {"site", node.site},
            {"region", node.region},
            {"shard", std::to_string(node.shard)},
            {"replica", std::to_string(node.replica)}};
}

Labels with(Labels labels, const std::string& database, const std::string& table) {
    labels["database"] = database;
    labels["table"] = table;
    return labels;
}

void build(TrackedFamilies& b, const std::vector<NodeRead>& reads, double scrape_seconds) {
    auto& up =
        b.gauge("clickhouse_up", "1 when the node answered every query of this scrape in time, else 0");
    auto& read_seconds = b.gauge("clickhouse_scrape_node_seconds", "How long reading the node took");
    auto& read_errors = b.gauge("clickhouse_scrape_read_errors",
                                "Optional reads the node refused in this scrape (it is still up)");
    auto& uptime = b.gauge("clickhouse_uptime_seconds", "Seconds since the server started");
    auto& zookeeper = b.gauge("clickhouse_zookeeper_session_up",
                              "1 when the node's ZooKeeper session is alive, 0 when it is lost or expired");
    auto& delay =
        b.gauge("clickhouse_replica_absolute_delay", "Seconds the replica is behind (system.replicas)");
    auto& queue = b.gauge("clickhouse_replica_queue_size", "Replication queue entries (system.replicas)");
    auto& readonly = b.gauge("clickhouse_replica_is_readonly", "1 when the replica is read-only");
    auto& readonly_count = b.gauge("clickhouse_readonly_replicas", "Read-only replicated tables on the node");
    auto& rows = b.gauge("clickhouse_table_rows", "Rows in the table's active parts on the node");
    auto& bytes = b.gauge("clickhouse_table_bytes", "Bytes on disk of the table's active parts on the node");
    auto& partitions = b.gauge("clickhouse_table_partitions", "Partitions of the table on the node");
    auto& parts = b.gauge("clickhouse_table_max_parts_per_partition",
                          "Active parts in the table's partition with the most of them");
    auto& pending = b.gauge("clickhouse_mutations_pending", "Mutations not done yet");
    auto& pending_age =
        b.gauge("clickhouse_mutations_oldest_pending_age_seconds", "Age of the oldest mutation not done yet");
    auto& failed =
        b.gauge("clickhouse_mutations_failed", "Pending mutations whose last attempt failed (20.x+)");
    auto& disk_used =
        b.gauge("clickhouse_disk_used_bytes", "Bytes used on the disk (system.disks, or the host)");
    auto& disk_total = b.gauge("clickhouse_disk_total_bytes", "Size of the disk (system.disks, or the host)");
    auto& rows_written = b.counter("clickhouse_rows_written_total", "Rows inserted since the server started");
    auto& durations =
        b.histogram("clickhouse_query_duration_seconds", "Finished queries in the query log, by duration");
    b.gauge("chfleet_exporter_scrape_duration_seconds", "How long reading the whole fleet took")
        .Add({})
        .Set(scrape_seconds);

    for (const auto& read : reads) {
        const Labels node = nodeLabels(*read.node);
        up.Add(node).Set(read.up ? 1 : 0);
        read_seconds.Add(node).Set(read.seconds);
        if (!read.up) {
            continue;
        }
        const NodeSnapshot& s = read.snapshot;
        read_errors.Add(node).Set(static_cast<double>(s.read_errors.size()));
        uptime.Add(node).Set(static_cast<double>(s.uptime_seconds));
        rows_written.Add(node).Increment(static_cast<double>(s.inserted_rows));
        if (s.zookeeper_connected) {
            zookeeper.Add(node).Set(*s.zookeeper_connected ? 1 : 0);
        }
        int readonly_tables = 0;
        for (const auto& replica : s.replicas) {
            Labels labels = with(node, replica.database, replica.table);
            delay.Add(labels).Set(static_cast<double>(replica.absolute_delay));
            queue.Add(labels).Set(static_cast<double>(replica.queue_size));
            readonly.Add(labels).Set(replica.is_readonly ? 1 : 0);
            readonly_tables += replica.is_readonly ? 1 : 0;
        }
        readonly_count.Add(node).Set(readonly_tables);
        for (const auto& table : s.tables) {
            Labels labels = with(node, table.database, table.table);
            rows.Add(labels).Set(static_cast<double>(table.rows));
            bytes.Add(labels).Set(static_cast<double>(table.bytes));
            partitions.Add(labels).Set(static_cast<double>(table.partitions));
            parts.Add(labels).Set(static_cast<double>(table.max_parts_per_partition));
        }
        for (const auto& table : s.mutations) {
            Labels labels = with(node, table.database, table.table);
            pending.Add(labels).Set(static_cast<double>(table.pending));
            pending_age.Add(labels).Set(static_cast<double>(table.oldest_pending_age_seconds));
            failed.Add(labels).Set(static_cast<double>(table.failed));
        }
        for (const auto& disk : s.disks) {
            Labels labels = node;
            labels["disk"] = disk.name;
            disk_used.Add(labels).Set(static_cast<double>(disk.total_bytes - disk.free_bytes));
            disk_total.Add(labels).Set(static_cast<double>(disk.total_bytes));
        }
        if (s.queries) {
            const QueryHistogram& h = *s.queries;
            std::vector<double> increments;
            uint64_t below = 0;
            for (uint64_t cumulative : h.buckets) {
                increments.push_back(static_cast<double>(cumulative - below));
                below = cumulative;
            }
            increments.push_back(static_cast<double>(h.count - below));
            durations.Add(node, prometheus::Histogram::BucketBoundaries(h.bounds))
                .ObserveMultiple(increments, h.sum_seconds);
        }
    }
}

}  // namespace

FleetMetrics::FleetMetrics(std::shared_ptr<prometheus::Registry> registry) : registry_(std::move(registry)) {}

FleetMetrics::~FleetMetrics() = default;

void FleetMetrics::update(const std::vector<NodeRead>& reads, double scrape_seconds) {
    std::lock_guard lock(mutex_);
    for (const auto& remove : removers_) {
        remove();
    }
    removers_.clear();
    TrackedFamilies builder(*registry_, removers_);
    build(builder, reads, scrape_seconds);
}

std::string metricsText(const std::vector<NodeRead>& reads, double scrape_seconds) {
    auto registry = std::make_shared<prometheus::Registry>();
    FleetMetrics metrics(registry);
    metrics.update(reads, scrape_seconds);
    return prometheus::TextSerializer().Serialize(registry->Collect());
}

}  // namespace chfleet::monitoring
