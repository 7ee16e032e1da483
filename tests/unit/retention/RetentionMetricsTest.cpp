#include <gtest/gtest.h>

#include "retention/RetentionMetrics.h"

namespace chfleet::retention {
namespace {

TEST(RetentionMetrics, FiguresPerTableRegionAndNode) {
    RetentionReport report;
    report.dry_run = false;
    TableReport eu;
    eu.site = "primary";
    eu.region = "eu-central-1";
    eu.table = "vis_scores";
    eu.horizon = 1733000000;
    eu.oldest = 1700000000;
    eu.expired = 3;
    eu.straddling = 1;
    eu.unknown = 1;
    eu.dropped = 2;
    eu.stalled_nodes = {"clickhouse-eu-1"};
    eu.last_run = LastRun{1796000000, 2, 40, true};
    report.tables.push_back(eu);
    TableReport us = eu;
    us.region = "us-east-1";
    us.oldest.reset();
    us.stalled_nodes.clear();
    us.last_run.reset();
    report.tables.push_back(us);
    NodeReport node;
    node.node = "clickhouse-eu-1";
    node.site = "primary";
    node.region = "eu-central-1";
    node.reachable = false;
    node.queries = 2;
    report.nodes.push_back(node);

    std::string text = metricsText(report);
    const std::string eu_labels = "region=\"eu-central-1\",site=\"primary\",table=\"vis_scores\"";
    const std::string us_labels = "region=\"us-east-1\",site=\"primary\",table=\"vis_scores\"";
    for (const std::string& line :
         {"chfleet_retention_horizon_timestamp_seconds{" + eu_labels + "} 1733000000",
          "chfleet_retention_oldest_row_timestamp_seconds{" + eu_labels + "} 1700000000",
          "chfleet_retention_expired_partitions{" + eu_labels + "} 3",
          "chfleet_retention_waiting_partitions{" + eu_labels + "} 2",
          "chfleet_retention_stalled{" + eu_labels + "} 1", "chfleet_retention_stalled{" + us_labels + "} 0",
          "chfleet_retention_last_run_timestamp_seconds{" + eu_labels + "} 1796000000",
          "chfleet_retention_dropped_partitions{" + eu_labels + "} 2",
          std::string("chfleet_retention_node_read{node=\"clickhouse-eu-1\",region=\"eu-central-1\",site="
                      "\"primary\"} 0")}) {
        EXPECT_NE(text.find(line + "\n"), std::string::npos) << line << "\n" << text;
    }
    // No oldest row known, no run recorded: no sample rather than a made-up one.
    EXPECT_EQ(text.find("chfleet_retention_oldest_row_timestamp_seconds{" + us_labels), std::string::npos);
    EXPECT_EQ(text.find("chfleet_retention_last_run_timestamp_seconds{" + us_labels), std::string::npos);
}

}  // namespace
}  // namespace chfleet::retention
