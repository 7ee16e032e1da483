#pragma once

#include <map>
#include <string>
#include <vector>

#include "monitoring/MonitoringSection.h"

// What `chfleet monitoring render` writes: Prometheus alert rules, a promtool unit test per alert, a scrape
// configuration and a Grafana dashboard, all from one list of alerts and one list of panels, on the metric
// names the exporter and chfleet's daemons export (docs/monitoring.md).
namespace chfleet::monitoring {

/// One series of a promtool test's input: "metric{labels}" and its values ("0+0x10", "1x20").
struct TestSeries {
    std::string series;
    std::string values;
};

/// One alerting rule and the unit test that proves its threshold: the input has a series that must fire it
/// and one that must not; `expected` lists the labels of each alert that fires at `eval_time`.
struct AlertRule {
    std::string name;
    std::string severity;  ///< critical or warning
    std::string expr;
    std::string for_duration;  ///< "0m" fires at the first evaluation that sees it
    std::string summary;       ///< may use {{ $labels.<name> }}
    std::string runbook;       ///< page name under docs/runbooks/
    std::vector<TestSeries> input;
    std::string interval = "1m";  ///< between the input's samples
    std::string eval_time;
    std::vector<std::map<std::string, std::string>> expected;
};

/// The alerts, with the section's thresholds.
std::vector<AlertRule> alertRules(const MonitoringConfig& config);

/// The rule file (groups: chfleet).
std::string renderRules(const MonitoringConfig& config);

/// The promtool test file for `rules_file` (its file name, as the test names it).
std::string renderRuleTests(const MonitoringConfig& config, const std::string& rules_file);

struct ScrapeOptions {
    int scrape_interval_seconds = 30;
    int evaluation_interval_seconds = 30;
    std::string rules_file = "chfleet-rules.yml";
};

/// A prometheus.yml: the exporter, sync and ingest targets of the section, the rule file.
std::string renderScrapeConfig(const MonitoringConfig& config, const ScrapeOptions& options);

/// One dashboard panel: a title and its queries (legend format per query).
struct Panel {
    std::string title;
    std::vector<std::pair<std::string, std::string>> queries;  ///< expr, legend
    std::string unit;
};

/// The seed's seven panels.
std::vector<Panel> dashboardPanels();

/// The Grafana dashboard JSON (datasource: the input DS_PROMETHEUS).
std::string renderDashboard(const std::string& fleet_name);

}  // namespace chfleet::monitoring
