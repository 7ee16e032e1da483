#include "monitoring/MonitoringRender.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "backup/BackupEngine.h"
#include "erase/Eraser.h"
#include "residency/Residency.h"
#include "retention/RetentionMetrics.h"

namespace chfleet::monitoring {

namespace {

using LabelMap = std::map<std::string, std::string>;

/// The labels of a node's series in the tests.
LabelMap nodeLabels(const std::string& node) {
    return {{"node", node}, {"site", "primary"}, {"region", "us-east-1"}, {"shard", "1"}, {"replica", "1"}};
}

LabelMap plus(LabelMap labels, const LabelMap& more) {
    labels.insert(more.begin(), more.end());
    return labels;
}

std::string series(const std::string& metric, const LabelMap& labels) {
    std::string text = metric + "{";
    bool first = true;
    for (const auto& [name, value] : labels) {
        text += fmt::format("{}{}=\"{}\"", first ? "" : ",", name, value);
        first = false;
    }
    return text + "}";
}

/// An alert whose test has a series `above` the threshold (fires) and one `at` it (does not), both of
/// `metric` with the labels of nodes a and b plus `extra`.
AlertRule thresholdAlert(std::string name, std::string severity, const std::string& metric,
                         const std::string& op, long long threshold, std::string for_duration,
                         std::string summary, std::string runbook, const std::string& firing,
                         const std::string& quiet, const LabelMap& extra, bool node_labels = true) {
    AlertRule rule;
    rule.name = std::move(name);
    rule.severity = std::move(severity);
    rule.expr = fmt::format("{} {} {}", metric, op, threshold);
    rule.for_duration = std::move(for_duration);
    rule.summary = std::move(summary);
    rule.runbook = std::move(runbook);
    LabelMap a = node_labels ? plus(nodeLabels("a"), extra) : plus(extra, {{"site", "a"}});
    LabelMap b = node_labels ? plus(nodeLabels("b"), extra) : plus(extra, {{"site", "b"}});
    rule.input = {{series(metric, a), firing}, {series(metric, b), quiet}};
    rule.eval_time = "20m";
    rule.expected = {a};
    return rule;
}

std::string expand(const std::string& text, const LabelMap& labels) {
    std::string out = text;
    for (const auto& [name, value] : labels) {
        std::string placeholder = "{{ $labels." + name + " }}";
        for (size_t at = out.find(placeholder); at != std::string::npos; at = out.find(placeholder, at)) {
            out.replace(at, placeholder.size(), value);
            at += value.size();
        }
    }
    return out;
}

std::string runbookUrl(const MonitoringConfig& config, const std::string& page) {
    return config.runbook_base_url + "/" + page + ".md";
}

}  // namespace

std::vector<AlertRule> alertRules(const MonitoringConfig& config) {
    const auto& t = config.thresholds;
    const std::string where =
        "{{ $labels.node }} ({{ $labels.site }}/{{ $labels.region }} shard {{ $labels.shard }})";
    const LabelMap table{{"database", "teei"}, {"table", "events_local"}};
    std::vector<AlertRule> rules;
    // The seed's six.
    rules.push_back(thresholdAlert("ClickHouseReplicaLag", "critical", "clickhouse_replica_absolute_delay",
                                   ">", t.replica_lag_seconds, "1m",
                                   "{{ $labels.database }}.{{ $labels.table }} on " + where +
                                       " lags more than " + std::to_string(t.replica_lag_seconds) + " s",
                                   "replica-lag", std::to_string(t.replica_lag_seconds + 30) + "x30",
                                   std::to_string(t.replica_lag_seconds) + "x30", table));
    {
        AlertRule disk;
        disk.name = "ClickHouseDiskUsage";
        disk.severity = "warning";
        disk.expr = fmt::format("100 * clickhouse_disk_used_bytes / clickhouse_disk_total_bytes > {}",
                                t.disk_used_percent);
        disk.for_duration = "5m";
        disk.summary = "disk {{ $labels.disk }} of " + where + " is over " +
                       std::to_string(t.disk_used_percent) + "% used";
        disk.runbook = "disk-usage";
        LabelMap a = plus(nodeLabels("a"), {{"disk", "default"}});
        LabelMap b = plus(nodeLabels("b"), {{"disk", "default"}});
        disk.input = {
            {series("clickhouse_disk_used_bytes", a), std::to_string(t.disk_used_percent + 1) + "x30"},
            {series("clickhouse_disk_total_bytes", a), "100x30"},
            {series("clickhouse_disk_used_bytes", b), std::to_string(t.disk_used_percent) + "x30"},
            {series("clickhouse_disk_total_bytes", b), "100x30"}};
        disk.eval_time = "20m";
        disk.expected = {a};
        rules.push_back(std::move(disk));
    }
    rules.push_back(thresholdAlert("ClickHouseReplicationQueue", "warning", "clickhouse_replica_queue_size",
                                   ">", t.replication_queue, "5m",
                                   "{{ $labels.database }}.{{ $labels.table }} on " + where +
                                       " has more than " + std::to_string(t.replication_queue) +
                                       " replication queue entries",
                                   "replication-queue", std::to_string(t.replication_queue + 1) + "x30",
                                   std::to_string(t.replication_queue) + "x30", table));
    rules.push_back(thresholdAlert("ClickHouseZooKeeperDisconnected", "critical",
                                   "clickhouse_zookeeper_session_up", "==", 0, "0m",
                                   where + " lost its ZooKeeper session: its replicated tables are "
                                           "read-only",
                                   "zookeeper-lost", "0x30", "1x30", {}));
    rules.push_back(thresholdAlert("ClickHouseShardOffline", "critical", "clickhouse_up", "==", 0, "0m",
                                   where + " does not answer", "shard-offline", "0x30", "1x30", {}));
    rules.push_back(thresholdAlert(
        "ChfleetRetentionStalled", "warning", std::string(retention::kOverdueSecondsMetric), ">",
        t.retention_stalled_hours * 3600, "0m",
        "retention of {{ $labels.table }} in {{ $labels.site }}/{{ $labels.region }} is more than " +
            std::to_string(t.retention_stalled_hours) + " h overdue",
        "retention-stalled", std::to_string(t.retention_stalled_hours * 3600 + 60) + "x30",
        std::to_string(t.retention_stalled_hours * 3600) + "x30",
        {{"region", "eu-central-1"}, {"table", "events"}}, false));
    // Beyond the seed's table.
    rules.push_back(thresholdAlert("ClickHouseReadOnlyReplica", "critical", "clickhouse_replica_is_readonly",
                                   "==", 1, "1m",
                                   "{{ $labels.database }}.{{ $labels.table }} on " + where + " is read-only",
                                   "zookeeper-lost", "1x30", "0x30", table));
    rules.push_back(thresholdAlert(
        "ClickHouseMutationStuck", "warning", "clickhouse_mutations_oldest_pending_age_seconds", ">",
        t.mutation_age_minutes * 60, "0m",
        "a mutation of {{ $labels.database }}.{{ $labels.table }} on " + where +
            " is pending for more than " + std::to_string(t.mutation_age_minutes) + " min",
        "erasure-stuck", std::to_string(t.mutation_age_minutes * 60 + 1) + "x30",
        std::to_string(t.mutation_age_minutes * 60) + "x30", table));
    {
        AlertRule slow;
        slow.name = "ClickHouseSlowQueries";
        slow.severity = "warning";
        slow.expr = fmt::format(
            "histogram_quantile(0.99, sum by (node, site, region, shard, replica, le) "
            "(rate(clickhouse_query_duration_seconds_bucket[5m]))) > {}",
            t.query_p99_seconds);
        slow.for_duration = "10m";
        slow.summary =
            "queries on " + where + " take more than " + std::to_string(t.query_p99_seconds) + " s (p99)";
        slow.runbook = "slow-queries";
        // Node a: every query between 1 s and 10 times the threshold; node b: every query under 1 s.
        const std::string slow_bound = std::to_string(t.query_p99_seconds * 10);
        for (const auto& [node, fast_rate] :
             std::vector<std::pair<std::string, std::string>>{{"a", "0+0x40"}, {"b", "0+10x40"}}) {
            slow.input.push_back(
                {series("clickhouse_query_duration_seconds_bucket", plus(nodeLabels(node), {{"le", "1"}})),
                 fast_rate});
            slow.input.push_back({series("clickhouse_query_duration_seconds_bucket",
                                         plus(nodeLabels(node), {{"le", slow_bound}})),
                                  "0+10x40"});
            slow.input.push_back(
                {series("clickhouse_query_duration_seconds_bucket", plus(nodeLabels(node), {{"le", "+Inf"}})),
                 "0+10x40"});
        }
        slow.eval_time = "30m";
        slow.expected = {nodeLabels("a")};
        rules.push_back(std::move(slow));
    }
    const LabelMap daemon{{"job", "chfleet-sync"}, {"instance", "sync:9464"}};
    {
        auto rule =
            thresholdAlert("ChfleetSyncNotClean", "warning", "chfleet_sync_seconds_since_last_clean_cycle",
                           ">", t.sync_not_clean_minutes * 60, "0m",
                           "DR sync ({{ $labels.instance }}) has had no clean cycle for more than " +
                               std::to_string(t.sync_not_clean_minutes) + " min",
                           "failover-failback", std::to_string(t.sync_not_clean_minutes * 60 + 1) + "x30",
                           std::to_string(t.sync_not_clean_minutes * 60) + "x30", daemon, false);
        rules.push_back(std::move(rule));
    }
    {
        auto rule = thresholdAlert("ChfleetFailbackNotReady", "warning", "chfleet_sync_failback_ready",
                                   "==", 0, std::to_string(t.sync_not_clean_minutes) + "m",
                                   "DR sync ({{ $labels.instance }}): failback not ready for " +
                                       std::to_string(t.sync_not_clean_minutes) + " min",
                                   "failover-failback", "0x60", "1x60", daemon, false);
        rule.eval_time = std::to_string(t.sync_not_clean_minutes + 5) + "m";
        rule.input[0].values = "0x" + std::to_string(t.sync_not_clean_minutes + 10);
        rule.input[1].values = "1x" + std::to_string(t.sync_not_clean_minutes + 10);
        rules.push_back(std::move(rule));
    }
    rules.push_back(thresholdAlert(
        "ChfleetResidencyViolation", "critical", std::string(residency::kMisplacedRowsMetric), ">", 0, "0m",
        "rows of {{ $labels.table }} sit outside their company's region in "
        "{{ $labels.site }}/{{ $labels.region }}",
        "residency-violation", "12x30", "0x30", {{"region", "us-east-1"}, {"table", "events"}}, false));
    rules.push_back(
        thresholdAlert("ChfleetErasurePending", "critical", std::string(erase::kOldestPendingAgeMetric), ">",
                       t.erasure_pending_hours * 3600, "0m",
                       "an erasure in {{ $labels.site }} is pending for more than " +
                           std::to_string(t.erasure_pending_hours) + " h",
                       "erasure-stuck", std::to_string(t.erasure_pending_hours * 3600 + 60) + "x30",
                       std::to_string(t.erasure_pending_hours * 3600) + "x30", {}, false));
    {
        const std::string success(backup::kLastSuccessMetric), failure(backup::kLastFailureMetric);
        LabelMap a{{"region", "us-east-1"}};
        LabelMap b{{"region", "eu-central-1"}};
        LabelMap c{{"region", "ap-south-1"}};
        AlertRule old;
        old.name = "ChfleetBackupTooOld";
        old.severity = "critical";
        old.expr = fmt::format("time() - {} > {}", success, t.backup_age_hours * 3600);
        old.for_duration = "0m";
        old.summary = "the last good backup of region {{ $labels.region }} is more than " +
                      std::to_string(t.backup_age_hours) + " h old";
        old.runbook = "backup-failed";
        // Hourly samples, evaluated at backup_age + 2 h: a's last success at 0 is too old, b's three hours
        // later is not.
        old.input = {{series(success, a), "0x60"}, {series(success, b), "10800x60"}};
        old.interval = "1h";
        old.eval_time = std::to_string(t.backup_age_hours + 2) + "h";
        old.expected = {a};
        rules.push_back(std::move(old));

        AlertRule failed;
        failed.name = "ChfleetBackupFailed";
        failed.severity = "warning";
        failed.expr = fmt::format("{0} > {1} or ({0} unless {1})", failure, success);
        failed.for_duration = "0m";
        failed.summary = "the last backup of region {{ $labels.region }} failed";
        failed.runbook = "backup-failed";
        failed.input = {{series(failure, a), "2000x10"},
                        {series(success, a), "1000x10"},
                        {series(failure, b), "1000x10"},
                        {series(success, b), "2000x10"},
                        {series(failure, c), "500x10"}};
        failed.eval_time = "5m";
        failed.expected = {a, c};
        rules.push_back(std::move(failed));
    }
    rules.push_back(thresholdAlert(
        "ChfleetIngestSpoolBacklog", "warning", "chfleet_ingest_spool_bytes", ">", t.spool_bytes, "10m",
        "ingest ({{ $labels.instance }}) holds more than " + std::to_string(t.spool_bytes) +
            " bytes in its spool",
        "shard-offline", std::to_string(t.spool_bytes + 1) + "x30", std::to_string(t.spool_bytes) + "x30",
        {{"job", "chfleet-ingest"}, {"instance", "ingest:8124"}}, false));
    {
        AlertRule down;
        down.name = "ChfleetExporterDown";
        down.severity = "critical";
        down.expr = "up{job=\"chfleet-exporter\"} == 0";
        down.for_duration = "1m";
        down.summary =
            "the chfleet exporter {{ $labels.instance }} cannot be scraped: no ClickHouse alert can fire";
        down.runbook = "shard-offline";
        LabelMap a{{"job", "chfleet-exporter"}, {"instance", "a:9363"}};
        LabelMap b{{"job", "chfleet-exporter"}, {"instance", "b:9363"}};
        down.input = {{series("up", a), "0x30"}, {series("up", b), "1x30"}};
        down.eval_time = "20m";
        down.expected = {a};
        rules.push_back(std::move(down));
    }
    return rules;
}

std::string renderRules(const MonitoringConfig& config) {
    YAML::Emitter out;
    out << YAML::BeginMap << YAML::Key << "groups" << YAML::Value << YAML::BeginSeq;
    out << YAML::BeginMap << YAML::Key << "name" << YAML::Value << "chfleet";
    out << YAML::Key << "rules" << YAML::Value << YAML::BeginSeq;
    for (const auto& rule : alertRules(config)) {
        out << YAML::BeginMap;
        out << YAML::Key << "alert" << YAML::Value << rule.name;
        out << YAML::Key << "expr" << YAML::Value << rule.expr;
        out << YAML::Key << "for" << YAML::Value << rule.for_duration;
        out << YAML::Key << "labels" << YAML::Value << YAML::BeginMap << YAML::Key << "severity"
            << YAML::Value << rule.severity << YAML::EndMap;
        out << YAML::Key << "annotations" << YAML::Value << YAML::BeginMap;
        out << YAML::Key << "summary" << YAML::Value << rule.summary;
        out << YAML::Key << "runbook_url" << YAML::Value << runbookUrl(config, rule.runbook);
        out << YAML::EndMap << YAML::EndMap;
    }
    out << YAML::EndSeq << YAML::EndMap << YAML::EndSeq << YAML::EndMap;
    return std::string(
               "# Rendered by chfleet monitoring render: alert rules on the exporter's and chfleet's "
               "metrics.\n") +
           out.c_str() + "\n";
}

std::string renderRuleTests(const MonitoringConfig& config, const std::string& rules_file) {
    YAML::Emitter out;
    out << YAML::BeginMap;
    out << YAML::Key << "rule_files" << YAML::Value << YAML::Flow << YAML::BeginSeq << rules_file
        << YAML::EndSeq;
    out << YAML::Key << "evaluation_interval" << YAML::Value << "1m";
    out << YAML::Key << "tests" << YAML::Value << YAML::BeginSeq;
    for (const auto& rule : alertRules(config)) {
        out << YAML::BeginMap;
        out << YAML::Key << "name" << YAML::Value << rule.name;
        out << YAML::Key << "interval" << YAML::Value << rule.interval;
        out << YAML::Key << "input_series" << YAML::Value << YAML::BeginSeq;
        for (const auto& input : rule.input) {
            out << YAML::BeginMap << YAML::Key << "series" << YAML::Value << input.series << YAML::Key
                << "values" << YAML::Value << input.values << YAML::EndMap;
        }
        out << YAML::EndSeq;
        out << YAML::Key << "alert_rule_test" << YAML::Value << YAML::BeginSeq << YAML::BeginMap;
        out << YAML::Key << "eval_time" << YAML::Value << rule.eval_time;
        out << YAML::Key << "alertname" << YAML::Value << rule.name;
        out << YAML::Key << "exp_alerts" << YAML::Value << YAML::BeginSeq;
        for (const auto& labels : rule.expected) {
            out << YAML::BeginMap << YAML::Key << "exp_labels" << YAML::Value << YAML::BeginMap;
            out << YAML::Key << "severity" << YAML::Value << rule.severity;
            for (const auto& [name, value] : labels) {
                out << YAML::Key << name << YAML::Value << YAML::DoubleQuoted << value;
            }
            out << YAML::EndMap << YAML::Key << "exp_annotations" << YAML::Value << YAML::BeginMap;
            out << YAML::Key << "summary" << YAML::Value << expand(rule.summary, labels);
            out << YAML::Key << "runbook_url" << YAML::Value << runbookUrl(config, rule.runbook);
            out << YAML::EndMap << YAML::EndMap;
        }
        out << YAML::EndSeq << YAML::EndMap << YAML::EndSeq << YAML::EndMap;
    }
    out << YAML::EndSeq << YAML::EndMap;
    return std::string(
               "# Rendered by chfleet monitoring render: one promtool unit test per alert (promtool test "
               "rules).\n") +
           out.c_str() + "\n";
}

std::string renderScrapeConfig(const MonitoringConfig& config, const ScrapeOptions& options) {
    // The exporter answers within its per-node timeout plus a little; Prometheus must wait that long, and a
    // job's scrape timeout may not exceed its interval.
    const int64_t timeout_s = (config.exporter_timeout_ms + 999) / 1000 + 1;
    const int64_t exporter_interval_s = std::max<int64_t>(options.scrape_interval_seconds, timeout_s);
    YAML::Emitter out;
    out << YAML::BeginMap;
    out << YAML::Key << "global" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "scrape_interval" << YAML::Value
        << fmt::format("{}s", options.scrape_interval_seconds);
    out << YAML::Key << "evaluation_interval" << YAML::Value
        << fmt::format("{}s", options.evaluation_interval_seconds);
    out << YAML::EndMap;
    out << YAML::Key << "rule_files" << YAML::Value << YAML::BeginSeq << options.rules_file << YAML::EndSeq;
    out << YAML::Key << "scrape_configs" << YAML::Value << YAML::BeginSeq;
    const std::pair<const char*, const std::vector<std::string>*> jobs[] = {
        {"chfleet-exporter", &config.exporter_targets},
        {"chfleet-sync", &config.sync_targets},
        {"chfleet-ingest", &config.ingest_targets}};
    for (const auto& [job, targets] : jobs) {
        if (targets->empty()) {
            continue;
        }
        out << YAML::BeginMap << YAML::Key << "job_name" << YAML::Value << job;
        if (std::string(job) == "chfleet-exporter") {
            out << YAML::Key << "scrape_interval" << YAML::Value << fmt::format("{}s", exporter_interval_s);
            out << YAML::Key << "scrape_timeout" << YAML::Value << fmt::format("{}s", timeout_s);
        }
        out << YAML::Key << "static_configs" << YAML::Value << YAML::BeginSeq << YAML::BeginMap << YAML::Key
            << "targets" << YAML::Value << YAML::Flow << YAML::BeginSeq;
        for (const auto& target : *targets) {
            out << target;
        }
        out << YAML::EndSeq << YAML::EndMap << YAML::EndSeq << YAML::EndMap;
    }
    out << YAML::EndSeq << YAML::EndMap;
    return std::string(
               "# Rendered by chfleet monitoring render: what Prometheus scrapes and the rules it "
               "evaluates.\n") +
           out.c_str() + "\n";
}

std::vector<Panel> dashboardPanels() {
    return {
        {"Replica Lag",
         {{"max by (node, table) (clickhouse_replica_absolute_delay)", "{{node}} {{table}}"}},
         "s"},
        {"Replication Queue Length",
         {{"sum by (node) (clickhouse_replica_queue_size)", "{{node}}"}},
         "short"},
        {"Shard Health Status",
         {{"sum by (site, region, shard) (clickhouse_up)",
           "{{site}}/{{region}} shard {{shard}} replicas up"}},
         "short"},
        {"Disk Usage by Shard",
         {{"max by (site, region, shard) (100 * clickhouse_disk_used_bytes / clickhouse_disk_total_bytes)",
           "{{site}}/{{region}} shard {{shard}}"}},
         "percent"},
        {"Query Latency by Region (p95/p99)",
         {{"histogram_quantile(0.95, sum by (region, le) "
           "(rate(clickhouse_query_duration_seconds_bucket[5m])))",
           "{{region}} p95"},
          {"histogram_quantile(0.99, sum by (region, le) "
           "(rate(clickhouse_query_duration_seconds_bucket[5m])))",
           "{{region}} p99"}},
         "s"},
        {"TTL Cleanup Jobs Status",
         {{fmt::format("max by (site, region, table) ({})", retention::kOverdueSecondsMetric),
           "{{site}}/{{region}} {{table}}"}},
         "s"},
        {"ZooKeeper Connection Status",
         {{"min by (site, node) (clickhouse_zookeeper_session_up)", "{{node}}"}},
         "short"},
    };
}

std::string renderDashboard(const std::string& fleet_name) {
    nlohmann::json panels = nlohmann::json::array();
    int id = 1;
    for (const auto& panel : dashboardPanels()) {
        nlohmann::json targets = nlohmann::json::array();
        char ref = 'A';
        for (const auto& [expr, legend] : panel.queries) {
            targets.push_back({{"expr", expr},
                               {"legendFormat", legend},
                               {"refId", std::string(1, ref++)},
                               {"datasource", {{"type", "prometheus"}, {"uid", "${DS_PROMETHEUS}"}}}});
        }
        panels.push_back(
            {{"id", id},
             {"type", "timeseries"},
             {"title", panel.title},
             {"datasource", {{"type", "prometheus"}, {"uid", "${DS_PROMETHEUS}"}}},
             {"gridPos", {{"h", 8}, {"w", 12}, {"x", ((id - 1) % 2) * 12}, {"y", ((id - 1) / 2) * 8}}},
             {"fieldConfig", {{"defaults", {{"unit", panel.unit}}}, {"overrides", nlohmann::json::array()}}},
             {"targets", targets}});
        ++id;
    }
    nlohmann::json dashboard{
        {"__inputs",
         {{{"name", "DS_PROMETHEUS"},
           {"label", "Prometheus"},
           {"type", "datasource"},
           {"pluginId", "prometheus"},
           {"pluginName", "Prometheus"}}}},
        {"title", "ClickHouse replication (" + fleet_name + ")"},
        {"uid", "chfleet-" + fleet_name},
        {"tags", {"clickhouse", "chfleet"}},
        {"timezone", "utc"},
        {"schemaVersion", 38},
        {"refresh", "30s"},
        {"time", {{"from", "now-6h"}, {"to", "now"}}},
        {"panels", panels},
    };
    return dashboard.dump(2) + "\n";
}

}  // namespace chfleet::monitoring
