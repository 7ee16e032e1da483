// `chfleet monitoring render`: alert rules, their promtool tests, a scrape configuration and a dashboard.
#include <iostream>

#include "common/Command.h"
#include "common/Exception.h"
#include "common/Files.h"
#include "monitoring/MonitoringRender.h"
#include "monitoring/MonitoringSection.h"
#include "topology/Fleet.h"

namespace chfleet {

int monitoringMain(const std::vector<std::string>& args) {
    CLI::App app{
        "Renders the fleet's monitoring from the fleet file's monitoring: section (thresholds, runbook base "
        "URL,\n"
        "scrape targets) into DIR:\n"
        "  chfleet-rules.yml        Prometheus alert rules: the seed's six (replica lag, disk, replication "
        "queue,\n"
        "                           ZooKeeper, shard offline, retention stalled) and chfleet's (DR sync,\n"
        "                           residency, erasure, backup, ...), each with a runbook link\n"
        "  chfleet-rules.test.yml   one promtool unit test per alert: promtool test rules "
        "chfleet-rules.test.yml\n"
        "  prometheus.yml           scrape configuration (exporter, sync and ingest daemons) loading the "
        "rules\n"
        "  grafana-dashboard.json   the seed's seven panels on the exported metrics\n\n"
        "Examples:\n"
        "  chfleet monitoring render -f fleet.yaml -o /etc/prometheus/chfleet\n"
        "  promtool check rules /etc/prometheus/chfleet/chfleet-rules.yml",
        "chfleet monitoring"};
    addCommonOptions(app);
    app.require_subcommand(1);
    auto* render = app.add_subcommand("render", "write rules, rule tests, scrape config and dashboard");
    std::string file, dir;
    monitoring::ScrapeOptions scrape;
    addFleetFileOption(*render, file);
    render->add_option("-o,--output", dir, "folder to write into (created if needed)")->required();
    render
        ->add_option(
            "--scrape-interval", scrape.scrape_interval_seconds,
            "Prometheus scrape interval in seconds (default 30; the exporter's job waits at least its "
            "timeout)")
        ->check(CLI::Range(1, 3600));
    render
        ->add_option("--evaluation-interval", scrape.evaluation_interval_seconds,
                     "Prometheus rule evaluation interval in seconds (default 30)")
        ->check(CLI::Range(1, 3600));
    return runCommand(app, args, [&]() -> int {
        auto fleet = topology::loadFleet(file);
        const auto& config = monitoring::monitoringConfig(fleet);
        files::makeDirectories(dir);
        const std::pair<std::string, std::string> outputs[] = {
            {scrape.rules_file, monitoring::renderRules(config)},
            {"chfleet-rules.test.yml", monitoring::renderRuleTests(config, scrape.rules_file)},
            {"prometheus.yml", monitoring::renderScrapeConfig(config, scrape)},
            {"grafana-dashboard.json", monitoring::renderDashboard(fleet.name)}};
        for (const auto& [name, text] : outputs) {
            files::writeAtomically(dir + "/" + name, text);
            std::cout << dir << "/" << name << "\n";
        }
        return 0;
    });
}

}  // namespace chfleet
