// `chfleet exporter`: the fleet's Prometheus exporter (serve), and one pass printed (scrape).
#include <prometheus/registry.h>

#include <chrono>
#include <iostream>
#include <thread>

#include "common/Command.h"
#include "common/Exception.h"
#include "common/Log.h"
#include "common/MetricsServer.h"
#include "common/Signals.h"
#include "monitoring/CapabilityMetrics.h"
#include "monitoring/FleetMetrics.h"
#include "monitoring/MonitoringSection.h"
#include "monitoring/NodeSnapshot.h"
#include "topology/Fleet.h"

namespace chfleet {

namespace {

monitoring::ReadOptions readOptions(const topology::Fleet& fleet, int64_t timeout_ms,
                                    const std::string& node) {
    const auto& config = monitoring::monitoringConfig(fleet);
    monitoring::ReadOptions options;
    options.timeout = std::chrono::milliseconds(timeout_ms > 0 ? timeout_ms : config.exporter_timeout_ms);
    options.host_data_path = config.host_data_path;
    options.only_node = node;
    return options;
}

}  // namespace

int exporterMain(const std::vector<std::string>& args) {
    CLI::App app{
        "The fleet's Prometheus exporter. Every node is read at once, through its system tables (so 18.16 "
        "works\n"
        "as well as current versions), each within --timeout-ms in all: a node that is down or hung gives\n"
        "clickhouse_up{node=...} 0 and the rest is served in time. Metric names and labels: "
        "docs/monitoring.md.\n"
        "Disk figures come from system.disks where the server has it (20.x+), else from statvfs of the "
        "node's\n"
        "data path (monitoring.host_data_path) when the node runs on this host: in production run one "
        "exporter\n"
        "per 18.16 host with --node for disk figures, beside a fleet-wide one.\n"
        "serve also exports chfleet's own gauges of erasure (pending erasures per site), retention (overdue\n"
        "seconds per site, region and table) and backup (last success and failure per region), read by the\n"
        "same functions as `chfleet health`, in a thread of their own every --capabilities-interval seconds\n"
        "(they read the ledger's copies, every node's partitions and the repositories): a scrape never "
        "waits\n"
        "for them. scrape prints the node pass only.\n\n"
        "Examples:\n"
        "  chfleet exporter serve -f fleet.yaml --listen 0.0.0.0:9363\n"
        "  chfleet exporter serve -f fleet.yaml --listen 0.0.0.0:9363 --node clickhouse-us-0\n"
        "  chfleet exporter scrape -f fleet.yaml            # one pass, printed as /metrics would serve it",
        "chfleet exporter"};
    addCommonOptions(app);
    app.require_subcommand(1);
    std::string file, listen, node;
    int64_t timeout_ms = 0;
    int capabilities_interval = 60;
    auto* serve = app.add_subcommand("serve", "serve /metrics and /healthz until SIGTERM or SIGINT");
    auto* scrape = app.add_subcommand("scrape", "read the fleet once and print the metrics");
    for (auto* sub : {serve, scrape}) {
        addFleetFileOption(*sub, file);
        sub->add_option("--node", node, "read this node only (an exporter on that node's host)");
        sub->add_option("--timeout-ms", timeout_ms,
                        "per-node deadline (default: monitoring.exporter_timeout_ms, 5000)");
    }
    serve->add_option("--listen", listen, "address to serve on, host:port")->required();
    serve
        ->add_option("--capabilities-interval", capabilities_interval,
                     "seconds between two reads of the erasure, retention and backup gauges (default 60)")
        ->check(CLI::Range(1, 86400));
    return runCommand(app, args, [&]() -> int {
        auto fleet = topology::loadFleet(file);
        const auto options = readOptions(fleet, timeout_ms, node);
        if (scrape->parsed()) {
            auto started = std::chrono::steady_clock::now();
            auto reads = monitoring::readFleet(fleet, options);
            double seconds =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
            std::cout << monitoring::metricsText(reads, seconds) << std::flush;
            return 0;
        }
        http::parseListenAddress(listen, "--listen", "127.0.0.1:9363");
        auto registry = std::make_shared<prometheus::Registry>();
        auto metrics = std::make_shared<monitoring::FleetMetrics>(registry);
        auto before_scrape = [&fleet, options, metrics] {
            auto started = std::chrono::steady_clock::now();
            auto reads = monitoring::readFleet(fleet, options);
            metrics->update(
                reads, std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
        };
        signals::installStopHandlers();
        MetricsServer server(listen, registry, {}, before_scrape);
        server.start();
        monitoring::CapabilityMetrics capabilities(
            fleet, registry, monitoring::monitoringConfig(fleet).thresholds.retention_stalled_hours);
        std::thread capability_reader([&capabilities, capabilities_interval] {
            do {
                capabilities.refresh();
            } while (signals::sleepUnlessStopped(std::chrono::seconds(capabilities_interval)));
        });
        log::get("exporter")
            ->info("chfleet {} exporting {} ({} nodes, per-node timeout {} ms) on port {}", CHFLEET_VERSION,
                   file, node.empty() ? fleet.nodes().size() : 1, options.timeout.count(), server.port());
        while (signals::sleepUnlessStopped(std::chrono::milliseconds(500))) {
        }
        log::get("exporter")->info("stopping");
        server.stop();
        capability_reader.join();
        return 0;
    });
}

}  // namespace chfleet
