// `chfleet retention`: run, status.
#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>

#include "common/Command.h"
#include "common/Exception.h"
#include "common/Files.h"
#include "common/Log.h"
#include "retention/RetentionMetrics.h"
#include "retention/RetentionRun.h"

namespace chfleet::retention {

namespace {

/// The CLI's one rule for work over servers (common/Command.h): 5 when no node answered, 1 when some work
/// failed (or, for status, a table is stalled), else 0.
int exitCode(const RetentionReport& report, bool stalled) {
    size_t reached = std::count_if(report.nodes.begin(), report.nodes.end(),
                                   [](const NodeReport& node) { return node.reachable; });
    size_t failed = report.ok() && !stalled ? 0 : 1;
    if (reached == 0 && !report.nodes.empty()) {
        return serversExitCode(report.nodes.size(), 0);
    }
    return serversExitCode(failed, reached);
}

std::string moment(std::optional<uint64_t> seconds) {
    return seconds ? formatUtc(*seconds) : std::string("-");
}

nlohmann::json toJson(const RetentionReport& report) {
    nlohmann::json tables = nlohmann::json::array();
    for (const auto& entry : report.tables) {
        nlohmann::json item = {{"site", entry.site},
                               {"region", entry.region},
                               {"table", entry.table},
                               {"days", entry.days},
                               {"horizon", formatUtc(entry.horizon)},
                               {"horizon_seconds", entry.horizon},
                               {"oldest", entry.oldest ? nlohmann::json(formatUtc(*entry.oldest)) : nullptr},
                               {"oldest_seconds", entry.oldest ? nlohmann::json(*entry.oldest) : nullptr},
                               {"partitions", entry.partitions},
                               {"expired", entry.expired},
                               {"expired_rows", entry.expired_rows},
                               {"straddling", entry.straddling},
                               {"unknown", entry.unknown},
                               {"dropped", entry.dropped},
                               {"rows_dropped", entry.rows_dropped},
                               {"statements", entry.statements},
                               {"notes", entry.notes},
                               {"errors", entry.errors},
                               {"stalled", entry.stalled()},
                               {"stalled_nodes", entry.stalled_nodes}};
        if (entry.last_run) {
            item["last_run"] = {{"finished", formatUtc(entry.last_run->finished)},
                                {"finished_seconds", entry.last_run->finished},
                                {"partitions_dropped", entry.last_run->partitions_dropped},
                                {"rows_dropped", entry.last_run->rows_dropped},
                                {"ok", entry.last_run->ok}};
        } else {
            item["last_run"] = nullptr;
        }
        tables.push_back(std::move(item));
    }
    nlohmann::json nodes = nlohmann::json::array();
    for (const auto& node : report.nodes) {
        nodes.push_back({{"node", node.node},
                         {"site", node.site},
                         {"region", node.region},
                         {"shard", node.shard},
                         {"reachable", node.reachable},
                         {"error", node.error},
                         {"version", node.version},
                         {"ttl", node.ttl},
                         {"queries", node.queries},
                         {"stalled_tables", node.stalled_tables}});
    }
    return {{"now", formatUtc(report.now)},
            {"dry_run", report.dry_run},
            {"state_file", report.state_file},
            {"ok", report.ok()},
            {"tables", tables},
            {"nodes", nodes}};
}

void printDetails(const RetentionReport& report) {
    for (const auto& entry : report.tables) {
        for (const auto& statement : entry.statements) {
            std::cout << fmt::format("  {} {} {}: {}{}\n", entry.site, entry.region, entry.table,
                                     report.dry_run ? "would run " : "", statement);
        }
        for (const auto& note : entry.notes) {
            std::cout << fmt::format("  {} {} {}: {}\n", entry.site, entry.region, entry.table, note);
        }
        for (const auto& error : entry.errors) {
            std::cout << fmt::format("  {} {} {}: FAILED {}\n", entry.site, entry.region, entry.table, error);
        }
    }
    for (const auto& node : report.nodes) {
        if (!node.reachable) {
            std::cout << fmt::format("  {}: not read: {}\n", node.node, node.error);
        }
    }
}

void printRun(const RetentionReport& report) {
    std::cout << fmt::format("{:<8} {:<14} {:<26} {:>5} {:<19} {:>7} {:>10} {:>7}\n", "site", "region",
                             "table", "days", "horizon (UTC)", "expired", "straddling",
                             report.dry_run ? "to drop" : "dropped");
    for (const auto& entry : report.tables) {
        std::cout << fmt::format("{:<8} {:<14} {:<26} {:>5} {:<19} {:>7} {:>10} {:>7}\n", entry.site,
                                 entry.region, entry.table, entry.days, formatUtc(entry.horizon),
                                 entry.expired, entry.straddling,
                                 report.dry_run ? entry.expired : entry.dropped);
    }
    printDetails(report);
    std::cout << (report.dry_run ? "dry run: nothing was changed\n" : "");
}

void printStatus(const RetentionReport& report) {
    std::cout << fmt::format("{:<8} {:<14} {:<26} {:>5} {:<19} {:<19} {:>7} {:>7} {:<19} {}\n", "site",
                             "region", "table", "days", "horizon (UTC)", "oldest row", "expired", "waiting",
                             "last run", "state");
    for (const auto& entry : report.tables) {
        std::cout << fmt::format(
            "{:<8} {:<14} {:<26} {:>5} {:<19} {:<19} {:>7} {:>7} {:<19} {}\n", entry.site, entry.region,
            entry.table, entry.days, formatUtc(entry.horizon), moment(entry.oldest), entry.expired,
            entry.straddling + entry.unknown,
            moment(entry.last_run ? std::optional<uint64_t>(entry.last_run->finished) : std::nullopt),
            entry.stalled() ? "stalled" : "ok");
    }
    for (const auto& entry : report.tables) {
        if (entry.stalled()) {
            std::string nodes;
            for (const auto& node : entry.stalled_nodes) {
                nodes += (nodes.empty() ? "" : ", ") + node;
            }
            std::cout << fmt::format("  {} {} {}: expired partitions outlived the grace period on {}\n",
                                     entry.site, entry.region, entry.table, nodes);
        }
        for (const auto& note : entry.notes) {
            std::cout << fmt::format("  {} {} {}: {}\n", entry.site, entry.region, entry.table, note);
        }
    }
    for (const auto& node : report.nodes) {
        if (!node.reachable) {
            std::cout << fmt::format("  {}: not read: {}\n", node.node, node.error);
        }
    }
}

int retentionCommand(const std::vector<std::string>& args) {
    CLI::App app{
        "Apply each table's `retention` (fleet file) per region on every site, and report on it.\n\n"
        "A table's retention is `retention: {column, days, regions: {region: days}}`: rows whose column is\n"
        "older than the region's days are past its horizon. On ClickHouse 18.16 (no TTL) `run` drops whole\n"
        "partitions whose newest row is past the horizon, read from system.parts with one query per node;\n"
        "it never drops a partition that still holds a row inside the policy. A partition with rows on both\n"
        "sides of the horizon is kept and reported (--trim removes its expired rows with ALTER DELETE); one\n"
        "whose ages cannot be told (a partition key not built on the column) is kept and reported. Drops go\n"
        "through one replica per shard and are confirmed on every replica; a shard with a replica down is\n"
        "left alone. On servers with TTL, `schema apply` gives each node's tables its region's TTL, and "
        "`run`\n"
        "forces MATERIALIZE TTL where expired partitions linger.\n\n"
        "`status` shows per table and region: the horizon, the oldest row, partitions expired (droppable,\n"
        "still there) and waiting (straddling or of unknown age), the last run, and `stalled` when expired\n"
        "partitions outlive their horizon by more than the grace period.\n\n"
        "Examples:\n"
        "  chfleet retention run -f .sandbox/fleet.yaml --dry-run      # what would be dropped, and where\n"
        "  chfleet retention run -f .sandbox/fleet.yaml               # drop, confirm, record the run\n"
        "  chfleet retention run -f .sandbox/fleet.yaml --trim --site primary\n"
        "  chfleet retention status -f .sandbox/fleet.yaml --json\n"
        "  # daily: examples/systemd/chfleet-retention.timer\n\n"
        "Exit codes: 0 done / nothing stalled; 1 a node did not answer, a statement or a confirmation "
        "failed,\n"
        "or (status) a table is stalled; 2 bad arguments; 4 invalid fleet file; 10 the state file cannot be\n"
        "read or written. Reference: docs/retention.md.",
        "chfleet retention"};
    addCommonOptions(app);
    app.require_subcommand(1);
    std::string file;
    bool json = false;
    RunOptions options;
    std::string site;
    int grace_hours = static_cast<int>(kDefaultGrace.count() / 3600);
    std::string metrics_file;
    auto add_common = [&](CLI::App* command) {
        addFleetFileOption(*command, file);
        command->add_option("--site", site, "only this site (default: every site)");
        command->add_option("--state-file", options.state_file,
                            "where runs are recorded (environment CHFLEET_RETENTION_STATE; default: "
                            "retention-state.json beside the fleet file)");
        command
            ->add_option("--grace-hours", grace_hours,
                         "how long expired partitions may linger before a table is `stalled`")
            ->capture_default_str()
            ->check(CLI::Range(0, 24 * 365));
        command->add_flag("--json", json, "machine-readable output (shape: docs/retention.md)");
        command->add_option("--metrics-file", metrics_file,
                            "also write the figures as Prometheus metrics chfleet_retention_* to this file "
                            "(replaced atomically; for node_exporter's textfile collector)");
    };
    auto write_metrics = [&](const RetentionReport& report) {
        if (!metrics_file.empty()) {
            files::writeAtomically(metrics_file, metricsText(report));
        }
    };
    auto* run = app.add_subcommand("run", "drop expired partitions (18.16) or force TTL (servers with TTL)");
    add_common(run);
    run->add_flag("--dry-run", options.dry_run,
                  "print what would be dropped and the statements; change nothing");
    run->add_flag("--trim", options.trim,
                  "also remove the expired rows of partitions that straddle the horizon (ALTER DELETE)");
    auto* show =
        app.add_subcommand("status", "horizon, oldest row, expired and waiting partitions, last run");
    add_common(show);

    return runCommand(app, args, [&]() -> int {
        auto fleet = topology::loadFleet(file);
        if (!site.empty()) {
            options.site = site;
        }
        options.grace = std::chrono::hours(grace_hours);
        if (run->parsed()) {
            log::get("retention")
                ->info("retention run{} on {} (state {})", options.dry_run ? " --dry-run" : "", file,
                       statePath(fleet, options.state_file));
            auto report = runRetention(fleet, options);
            write_metrics(report);
            if (json) {
                std::cout << toJson(report).dump(2) << "\n";
            } else {
                printRun(report);
            }
            return exitCode(report, false);
        }
        auto report = status(fleet, options);
        write_metrics(report);
        if (json) {
            std::cout << toJson(report).dump(2) << "\n";
        } else {
            printStatus(report);
        }
        bool stalled = std::any_of(report.tables.begin(), report.tables.end(),
                                   [](const TableReport& entry) { return entry.stalled(); });
        return exitCode(report, stalled);
    });
}

}  // namespace

}  // namespace chfleet::retention

namespace chfleet {

int retentionMain(const std::vector<std::string>& args) {
    return retention::retentionCommand(args);
}

}  // namespace chfleet
