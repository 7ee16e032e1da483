// The rendered rules are checked by Prometheus's own promtool: they load (check rules) and every alert fires
// on the series its unit test gives and stays quiet on the series just at its threshold (test rules).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "../support/TempDir.h"
#include "common/Files.h"
#include "common/Process.h"
#include "monitoring/MonitoringRender.h"
#include "topology/Fleet.h"

namespace chfleet::monitoring {
namespace {

/// Debian's prometheus package (scripts/install-deps.sh).
const std::string kPromtool = "/usr/bin/promtool";

const std::string kFleet = R"(fleet: t
base_port: 30000
sites:
  - name: a
    global_cluster: a_global
    regions:
      - {name: r1, alias: r1, cluster: a_r1, shards: 2, replicas: 1}
schema:
  database: db
  tables:
    - name: t
      columns:
        - {name: k, type: String}
        - {name: ts, type: DateTime}
      partition_by: toYYYYMM(ts)
      order_by: (k, ts)
      region_key: k
)";

void write(const testing::TempDir& dir, const MonitoringConfig& rules_config,
           const MonitoringConfig& tests_config) {
    files::writeAtomically((dir / "rules.yml").string(), renderRules(rules_config));
    files::writeAtomically((dir / "rules.test.yml").string(), renderRuleTests(tests_config, "rules.yml"));
}

TEST(MonitoringRenderTest, PromtoolChecksTheRulesAndEveryAlertPassesItsUnitTest) {
    testing::TempDir dir;
    MonitoringConfig config;
    write(dir, config, config);
    auto check = process::run({kPromtool, "check", "rules", (dir / "rules.yml").string()});
    EXPECT_EQ(check.exit_code, 0) << check.output;
    EXPECT_NE(check.output.find(fmt::format("SUCCESS: {} rules found", alertRules(config).size())),
              std::string::npos)
        << check.output;
    auto test = process::run({kPromtool, "test", "rules", (dir / "rules.test.yml").string()});
    EXPECT_EQ(test.exit_code, 0) << test.output;
}

TEST(MonitoringRenderTest, OverriddenThresholdsReachTheRulesAndTheirTests) {
    testing::TempDir dir;
    MonitoringConfig config;
    config.thresholds.replica_lag_seconds = 300;
    config.thresholds.disk_used_percent = 90;
    config.thresholds.backup_age_hours = 50;
    write(dir, config, config);
    auto test = process::run({kPromtool, "test", "rules", (dir / "rules.test.yml").string()});
    EXPECT_EQ(test.exit_code, 0) << test.output;
    EXPECT_NE(files::read((dir / "rules.yml").string()).find("clickhouse_replica_absolute_delay > 300"),
              std::string::npos);
}

TEST(MonitoringRenderTest, TheUnitTestsFailOnRulesWithOtherThresholds) {
    // The tests pin each threshold: rules rendered with other thresholds fail them, naming the alerts.
    testing::TempDir dir;
    MonitoringConfig rules_config;
    rules_config.thresholds.replica_lag_seconds = 120;
    rules_config.thresholds.backup_age_hours = 30;
    write(dir, rules_config, MonitoringConfig{});
    auto test = process::run({kPromtool, "test", "rules", (dir / "rules.test.yml").string()});
    EXPECT_NE(test.exit_code, 0) << test.output;
    EXPECT_NE(test.output.find("ClickHouseReplicaLag"), std::string::npos) << test.output;
    EXPECT_NE(test.output.find("ChfleetBackupTooOld"), std::string::npos) << test.output;
    EXPECT_EQ(test.output.find("ClickHouseShardOffline"), std::string::npos) << test.output;
}

TEST(MonitoringRenderTest, EveryAlertHasARunbookPageInDocs) {
    for (const auto& rule : alertRules(MonitoringConfig{})) {
        std::string page = std::string(CHFLEET_SOURCE_DIR) + "/docs/runbooks/" + rule.runbook + ".md";
        EXPECT_TRUE(std::ifstream(page).good()) << rule.name << ": " << page;
    }
}

TEST(MonitoringRenderTest, TheScrapeConfigLoadsInPromtoolWithTheRules) {
    testing::TempDir dir;
    MonitoringConfig config;
    config.sync_targets = {"dr-sync:9464"};
    ScrapeOptions options;
    files::writeAtomically((dir / options.rules_file).string(), renderRules(config));
    files::writeAtomically((dir / "prometheus.yml").string(), renderScrapeConfig(config, options));
    auto check = process::run({kPromtool, "check", "config", (dir / "prometheus.yml").string()});
    EXPECT_EQ(check.exit_code, 0) << check.output;
    std::string text = files::read((dir / "prometheus.yml").string());
    EXPECT_NE(text.find("dr-sync:9464"), std::string::npos) << text;
    EXPECT_EQ(text.find("chfleet-ingest"), std::string::npos) << text;
}

TEST(MonitoringRenderTest, TheDashboardHasTheSeedsSevenPanelsEachWithAQuery) {
    auto dashboard = nlohmann::json::parse(renderDashboard("teei"));
    ASSERT_EQ(dashboard["panels"].size(), 7u);
    EXPECT_EQ(dashboard["panels"][0]["title"], "Replica Lag");
    EXPECT_EQ(dashboard["panels"][6]["title"], "ZooKeeper Connection Status");
    for (const auto& panel : dashboard["panels"]) {
        ASSERT_FALSE(panel["targets"].empty()) << panel["title"];
        for (const auto& target : panel["targets"]) {
            EXPECT_FALSE(target["expr"].get<std::string>().empty()) << panel["title"];
        }
    }
}

TEST(MonitoringRenderTest, TheSectionOverridesThresholdsAndReportsUnknownKeysWithTheirLine) {
    auto fleet = topology::checkFleetText(kFleet + R"(monitoring:
  thresholds: {replica_lag_seconds: 120, disk_used_percent: 85}
  exporter_timeout_ms: 2000
  runbook_base_url: https://wiki.example.com/runbooks/
)",
                                          "fleet.yaml");
    ASSERT_TRUE(fleet.valid()) << fleet.describeProblems();
    const auto& config = monitoringConfig(*fleet.fleet);
    EXPECT_EQ(config.thresholds.replica_lag_seconds, 120);
    EXPECT_EQ(config.thresholds.disk_used_percent, 85);
    EXPECT_EQ(config.thresholds.replication_queue, 500);
    EXPECT_EQ(config.exporter_timeout_ms, 2000);
    EXPECT_EQ(config.runbook_base_url, "https://wiki.example.com/runbooks");

    auto bad =
        topology::checkFleetText(kFleet + "monitoring:\n  thresholds: {replica_lag: 5}\n", "fleet.yaml");
    EXPECT_NE(bad.describeProblems().find("fleet.yaml:19: monitoring.thresholds.replica_lag"),
              std::string::npos)
        << bad.describeProblems();
    EXPECT_NE(bad.describeProblems().find("replica_lag_seconds"), std::string::npos)
        << bad.describeProblems();
}

}  // namespace
}  // namespace chfleet::monitoring
