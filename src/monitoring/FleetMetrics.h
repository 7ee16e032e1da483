#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "monitoring/NodeSnapshot.h"

namespace prometheus {
class Registry;
}

namespace chfleet::monitoring {

/// The exporter's metrics: the names the seed's dashboard and alerts use (clickhouse_replica_absolute_delay,
/// clickhouse_disk_used_bytes, clickhouse_query_duration_seconds, ...) with the labels node, site, region,
/// shard, replica (and database, table where the figure is a table's), rebuilt from one pass over the fleet
/// at every scrape. A node that did not answer gives clickhouse_up 0 and nothing else. The full list:
/// docs/monitoring.md.
class FleetMetrics {
  public:
    explicit FleetMetrics(std::shared_ptr<prometheus::Registry> registry);
    ~FleetMetrics();
    FleetMetrics(const FleetMetrics&) = delete;
    FleetMetrics& operator=(const FleetMetrics&) = delete;

    /// Replaces every metric with what `reads` say; `scrape_seconds` is the whole pass.
    void update(const std::vector<NodeRead>& reads, double scrape_seconds);

  private:
    std::shared_ptr<prometheus::Registry> registry_;
    std::mutex mutex_;
    std::vector<std::function<void()>> removers_;  ///< remove the families of the last update
};

/// The Prometheus text of one pass (what /metrics serves), for `exporter scrape` and tests.
std::string metricsText(const std::vector<NodeRead>& reads, double scrape_seconds);

}  // namespace chfleet::monitoring
