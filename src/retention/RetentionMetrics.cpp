#include "retention/RetentionMetrics.h"

#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace chfleet::retention {

namespace {

prometheus::Family<prometheus::Gauge>& gauge(prometheus::Registry& registry, const std::string& name,
                                             const std::string& help) {
    return prometheus::BuildGauge().Name(name).Help(help).Register(registry);
}

}  // namespace

std::string metricsText(const RetentionReport& report) {
    prometheus::Registry registry;
    auto& horizon = gauge(registry, "chfleet_retention_horizon_timestamp_seconds",
                          "Rows older than this moment are past the table's retention in the region");
    auto& oldest = gauge(registry, "chfleet_retention_oldest_row_timestamp_seconds",
                         "The oldest row's retention column, over the region's shards");
    auto& expired = gauge(registry, "chfleet_retention_expired_partitions",
                          "Partitions entirely past the horizon, still present when read");
    auto& waiting =
        gauge(registry, "chfleet_retention_waiting_partitions",
              "Partitions kept although holding expired rows: straddling the horizon or of unknown age");
    auto& overdue = gauge(registry, std::string(kOverdueSecondsMetric),
                          "How long the oldest expired partition still present has been due for removal");
    auto& stalled = gauge(registry, "chfleet_retention_stalled",
                          "1 when expired partitions outlived the horizon by more than the grace period");
    auto& last_run =
        gauge(registry, "chfleet_retention_last_run_timestamp_seconds",
              "When the last retention run (not a dry run) finished for the table in the region");
    auto& dropped = gauge(registry, "chfleet_retention_dropped_partitions",
                          "Partitions this run dropped and confirmed on every replica");
    auto& node_up =
        gauge(registry, "chfleet_retention_node_read", "1 when the node answered the planning query");
    auto& queries = gauge(registry, "chfleet_retention_planning_queries",
                          "Statements sent to read the node (capability probe and planning)");
    for (const auto& entry : report.tables) {
        prometheus::Labels labels{{"site", entry.site}, {"region", entry.region}, {"table", entry.table}};
        horizon.Add(labels).Set(static_cast<double>(entry.horizon));
        if (entry.oldest) {
            oldest.Add(labels).Set(static_cast<double>(*entry.oldest));
        }
        expired.Add(labels).Set(static_cast<double>(entry.expired));
        waiting.Add(labels).Set(static_cast<double>(entry.straddling + entry.unknown));
        overdue.Add(labels).Set(static_cast<double>(entry.overdue_seconds));
        stalled.Add(labels).Set(entry.stalled() ? 1 : 0);
        if (entry.last_run) {
            last_run.Add(labels).Set(static_cast<double>(entry.last_run->finished));
        }
        if (!report.dry_run) {
            dropped.Add(labels).Set(static_cast<double>(entry.dropped));
        }
    }
    for (const auto& node : report.nodes) {
        prometheus::Labels labels{{"site", node.site}, {"region", node.region}, {"node", node.node}};
        node_up.Add(labels).Set(node.reachable ? 1 : 0);
        queries.Add(labels).Set(node.queries);
    }
    return prometheus::TextSerializer().Serialize(registry.Collect());
}

}  // namespace chfleet::retention
