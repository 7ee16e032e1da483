// `chfleet health`: the seed's daily health check across the whole fleet, as findings with severities.
#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>

#include "common/Command.h"
#include "common/Exception.h"
#include "monitoring/HealthChecks.h"
#include "monitoring/MonitoringSection.h"
#include "monitoring/NodeSnapshot.h"
#include "topology/Fleet.h"

namespace chfleet {

int healthMain(const std::vector<std::string>& args) {
    CLI::App app{
        "The fleet's health check, both sites at once: nodes up (and system.clusters errors), replication "
        "lag\n"
        "and queue per table and replica, read-only replicas, ZooKeeper sessions, disk used %, query "
        "p95/p99\n"
        "over the last hour (where the query log is on), shard balance (with the companies that make a hot\n"
        "shard hot), parts per partition, pending and failing mutations, erasures pending past their\n"
        "deadline (the erasure ledger), retention stalled (expired partitions still present), the age of\n"
        "the last good backup and backup failures (each region's repository), DR sync state, ingest spool\n"
        "depth.\n"
        "Thresholds: the seed's alert table, overridden in the fleet file's monitoring.thresholds.\n"
        "Every finding names the node (or shard, site, capability) it is about and the runbook that fixes "
        "it\n"
        "(docs/runbooks/). Something not configured or not used yet is reported, never failed.\n\n"
        "Exit code: 0 nothing wrong (ok and info findings only), 1 a warning, 11 a critical finding, 5 not\n"
        "one node answered (the report is printed all the same).\n\n"
        "Examples:\n"
        "  chfleet health -f fleet.yaml\n"
        "  chfleet health -f fleet.yaml --json | jq '.findings[] | select(.severity != \"ok\")'",
        "chfleet health"};
    addCommonOptions(app);
    std::string file;
    bool json = false, all = false;
    int64_t timeout_ms = 10000;
    addFleetFileOption(app, file);
    app.add_flag("--json", json, "print the findings as JSON");
    app.add_flag("--all", all, "also print the ok findings in the text report");
    app.add_option("--timeout-ms", timeout_ms, "per-node deadline (default 10000)");
    return runCommand(app, args, [&]() -> int {
        auto fleet = topology::loadFleet(file);
        const auto& config = monitoring::monitoringConfig(fleet);
        monitoring::ReadOptions options;
        options.timeout = std::chrono::milliseconds(timeout_ms);
        options.for_health = true;
        options.host_data_path = config.host_data_path;
        auto reads = monitoring::readFleet(fleet, options);
        monitoring::HealthContext context{fleet, config, reads, std::chrono::system_clock::now()};
        auto findings = monitoring::runHealthChecks(context);
        auto worst = monitoring::worstSeverity(findings);
        if (json) {
            nlohmann::json out{{"fleet", fleet.name}, {"worst", monitoring::severityName(worst)}};
            out["findings"] = nlohmann::json::array();
            for (const auto& f : findings) {
                nlohmann::json item{{"severity", monitoring::severityName(f.severity)},
                                    {"check", f.check},
                                    {"subject", f.subject},
                                    {"message", f.message}};
                if (!f.runbook.empty()) {
                    item["runbook"] = config.runbook_base_url + "/" + f.runbook + ".md";
                }
                out["findings"].push_back(std::move(item));
            }
            std::cout << out.dump(2) << "\n";
        } else {
            std::cout << fmt::format("fleet {}: {} nodes, worst finding: {}\n", fleet.name, reads.size(),
                                     monitoring::severityName(worst));
            for (const auto& f : findings) {
                if (f.severity == monitoring::Severity::Ok && !all) {
                    continue;
                }
                std::cout << fmt::format("{:<8} {:<13} {:<28} {}{}\n", monitoring::severityName(f.severity),
                                         f.check, f.subject, f.message,
                                         f.runbook.empty() || f.severity == monitoring::Severity::Ok
                                             ? ""
                                             : fmt::format(" [runbook: {}]", f.runbook));
            }
        }
        std::cout << std::flush;
        size_t reached = std::count_if(reads.begin(), reads.end(), [](const auto& read) { return read.up; });
        if (reached == 0) {
            return serversExitCode(reads.size(), reached);
        }
        switch (worst) {
            case monitoring::Severity::Critical:
                return static_cast<int>(ErrorCode::Critical);
            case monitoring::Severity::Warning:
                return static_cast<int>(ErrorCode::Failed);
            default:
                return 0;
        }
    });
}

}  // namespace chfleet
