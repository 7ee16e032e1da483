// `chfleet sync`: check, run (--once, --daemon), status.
#include <fcntl.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <iostream>
#include <nlohmann/json.hpp>

#include "common/Command.h"
#include "common/Exception.h"
#include "common/Files.h"
#include "common/Log.h"
#include "common/MetricsServer.h"
#include "common/Signals.h"
#include "erase/Eraser.h"
#include "sync/ActiveSite.h"
#include "sync/Notifier.h"
#include "sync/SyncEngine.h"
#include "sync/SyncSettings.h"
#include "sync/SyncState.h"
#include "topology/NodeConnection.h"

namespace chfleet::sync {

namespace {

auto logger() {
    return log::get("sync");
}

/// Flags of `check` and `run`; each one set overrides the environment.
struct Flags {
    std::string fleet_file;
    std::string env_file;
    std::string active;
    std::string policy;
    std::string state_file;
    std::string metrics_listen;
    int interval = 0;
    bool auto_create = false;
    int settle_seconds = 0;
    bool json = false;
};

/// Everything one sync instance works with: the effective settings, the two sites (from the fleet file, or a
/// one-node-per-site fleet built from CH-Sync's LOCAL_/REMOTE_ settings) and the engine options.
struct SyncSetup {
    SyncSettings settings;
    topology::Fleet fleet;
    SyncOptions options;
    bool from_environment = false;
};

topology::Node nodeFromUrl(const clickhouse::HttpEndpoint& endpoint, const std::string& name,
                           const std::string& site, const std::string& tcp_host, uint16_t tcp_port) {
    topology::Node node;
    node.name = name;
    node.site = site;
    node.region = "default";
    node.shard = 1;
    node.replica = 1;
    node.host = tcp_host.empty() ? endpoint.host : tcp_host;
    node.http_port = endpoint.port;
    node.tcp_port = tcp_port;
    return node;
}

/// The classic CH-Sync pair from its environment: sites "primary" and "dr", one server each.
topology::Fleet pairFromSettings(const SyncSettings& settings) {
    bool local_is_primary = settings.role == SiteRole::Primary;
    auto local = localEndpoint(settings);
    auto remote = remoteEndpoint(settings);
    topology::Fleet fleet;
    fleet.name = "ch-sync";
    fleet.source_path = "environment";
    for (const char* name : {"primary", "dr"}) {
        bool is_local = (std::string(name) == "primary") == local_is_primary;
        topology::Site site;
        site.name = name;
        site.global_cluster = std::string("chfleet_sync_") + name;
        topology::Region region;
        region.name = "default";
        region.alias = "default";
        region.cluster = std::string("chfleet_sync_") + name + "_default";
        region.shards = 1;
        region.replicas = 1;
        region.nodes.push_back(is_local ? nodeFromUrl(local, std::string(name) + "-local", name, "", 9000)
                                        : nodeFromUrl(remote, std::string(name) + "-remote", name,
                                                      settings.remote_ch_host, settings.remote_ch_port));
        site.regions.push_back(region);
        fleet.sites.push_back(site);
    }
    return fleet;
}

/// The CH-Sync variables: from --env-file, then the process environment, which wins.
std::map<std::string, std::string> effectiveEnvironment(const Flags& flags) {
    std::map<std::string, std::string> env;
    if (!flags.env_file.empty()) {
        env = readEnvFile(flags.env_file);
    }
    for (auto& [key, value] : currentEnvironment()) {
        env[key] = value;
    }
    return env;
}

SyncSetup makeSetup(const Flags& flags) {
    SyncSetup setup;
    auto env = effectiveEnvironment(flags);
    setup.settings = applyEnvironment(SyncSettings{}, env);
    auto& s = setup.settings;
    if (!flags.policy.empty()) {
        s.policy = applyEnvironment(s, {{"CHSYNC_POLICY", flags.policy}}).policy;
    }
    if (!flags.state_file.empty()) {
        s.state_file = flags.state_file;
    }
    if (!flags.metrics_listen.empty()) {
        s.metrics_listen = flags.metrics_listen;
    }
    if (flags.interval > 0) {
        s.check_interval = std::chrono::seconds(flags.interval);
    }
    if (flags.auto_create) {
        s.auto_create_tables = true;
    }
    if (!logLevelGivenOnCommandLine() && env.count("LOG_LEVEL") > 0) {
        log::setLevel(s.log_level);
    }

    if (!flags.fleet_file.empty()) {
        setup.fleet = topology::loadFleet(flags.fleet_file);
        if (setup.fleet.sites.size() != 2) {
            throw Exception(ErrorCode::InvalidConfig, "{}: sync needs exactly two sites, the file has {}",
                            flags.fleet_file, setup.fleet.sites.size());
        }
    } else {
        validateSettings(s);
        setup.from_environment = true;
        setup.fleet = pairFromSettings(s);
    }
    auto& o = setup.options;
    o.policy = s.policy;
    o.exclude_patterns = s.exclude_patterns;
    o.exclude_patterns.push_back(erase::ledgerTablePattern(setup.fleet));
    o.auto_create_tables = s.auto_create_tables;
    o.connect_timeout_ms = static_cast<int>(s.connect_timeout.count());
    o.max_insert_threads = static_cast<int>(s.max_insert_threads);
    o.parallel_repairs = static_cast<int>(s.parallel_repairs);
    o.settle_seconds = flags.settle_seconds;
    o.should_stop = [] { return signals::stopRequested(); };
    if (setup.from_environment) {
        std::string local_site = s.role == SiteRole::Primary ? "primary" : "dr";
        o.only_repair_site = local_site;  // like CH-Sync: each site's instance repairs its own site
        auto settings = s;
        o.endpoint_for = [settings, local_site](const topology::Node& node) {
            return node.site == local_site ? localEndpoint(settings) : remoteEndpoint(settings);
        };
        o.remote_credentials = [settings, local_site](const topology::Site& site) {
            return site.name == local_site
                       ? clickhouse::Credentials{settings.local_user, settings.local_password}
                       : clickhouse::Credentials{settings.remote_user, settings.remote_password};
        };
    }
    return setup;
}

/// The active site's name in this fleet and why; nullopt when undetermined.
std::pair<std::optional<std::string>, std::string> activeSite(const SyncSetup& setup,
                                                              const std::string& flag) {
    const auto& sites = setup.fleet.sites;
    if (!flag.empty()) {
        for (size_t i = 0; i < sites.size(); ++i) {
            if (flag == sites[i].name || (flag == "primary" && i == 0) || (flag == "dr" && i == 1)) {
                return {sites[i].name, "--active " + flag};
            }
        }
        throw Exception(ErrorCode::BadArguments, "--active {}: no such site (primary, dr, {} or {})", flag,
                        sites[0].name, sites[1].name);
    }
    auto decision = decideActiveSite(setup.settings);
    switch (decision.site) {
        case ActiveSiteDecision::Site::Primary:
            return {sites[0].name, decision.reason};
        case ActiveSiteDecision::Site::Dr:
            return {sites[1].name, decision.reason};
        case ActiveSiteDecision::Site::Unknown:
            break;
    }
    return {std::nullopt, decision.reason};
}

nlohmann::json reportJson(const CycleReport& report, const std::string& active_reason) {
    nlohmann::json differences = nlohmann::json::array();
    for (const auto& d : report.differences) {
        differences.push_back({{"table", d.table},
                               {"region", d.region},
                               {"site", d.site},
                               {"shard", d.shard},
                               {"partition_id", d.partition_id},
                               {"partition", d.partition},
                               {"rows_here", d.rows_here},
                               {"rows_there", d.rows_there},
                               {"reason", d.reason},
                               {"action", d.action}});
    }
    nlohmann::json repairs = nlohmann::json::array();
    for (const auto& r : report.repairs) {
        repairs.push_back({{"table", r.difference.table},
                           {"partition_id", r.difference.partition_id},
                           {"site", r.difference.site},
                           {"shard", r.difference.shard},
                           {"done", r.done},
                           {"rows_added", r.rows_added},
                           {"rows_removed", r.rows_removed},
                           {"error", r.error}});
    }
    return {
        {"healthy", report.healthy},
        {"unhealthy_reason", report.unhealthy_reason},
        {"active_site", report.active_site ? nlohmann::json(*report.active_site) : nlohmann::json(nullptr)},
        {"active_site_reason", active_reason},
        {"clean", report.clean()},
        {"tables_checked", report.tables_checked},
        {"tables_with_gaps", report.tables_with_gaps},
        {"differences", differences},
        {"repairs", repairs},
        {"partitions_repaired", report.partitionsRepaired()},
        {"rows_added", report.rowsAdded()},
        {"rows_removed", report.rowsRemoved()},
        {"new_tables", report.new_tables},
        {"tables_created", report.tables_created},
        {"warnings", report.warnings},
        {"errors", report.errors},
        {"queries_per_site", report.queries_per_site}};
}

void printReport(const CycleReport& report, const std::string& active_reason) {
    std::cout << "active site: " << (report.active_site ? *report.active_site : "undetermined") << " ("
              << active_reason << ")\n";
    if (!report.healthy) {
        std::cout << "unhealthy, nothing compared: " << report.unhealthy_reason << "\n";
        return;
    }
    std::cout << fmt::format("tables checked: {}; differences: {} in {} tables\n", report.tables_checked,
                             report.differences.size(), report.tables_with_gaps.size());
    for (const auto& d : report.differences) {
        std::cout << fmt::format("  {} partition {} on {} {} shard {}: {} (here {}, other site {}); {}\n",
                                 d.table, d.partition_id, d.site, d.region, d.shard, d.reason, d.rows_here,
                                 d.rows_there, d.action);
    }
    for (const auto& r : report.repairs) {
        std::cout << fmt::format("  repaired {} partition {} on {} shard {}: {}\n", r.difference.table,
                                 r.difference.partition_id, r.difference.site, r.difference.shard,
                                 r.error.empty() ? fmt::format("+{} -{} rows", r.rows_added, r.rows_removed)
                                                 : "FAILED: " + r.error);
    }
    for (const auto& table : report.new_tables) {
        std::cout << "  table missing on " << table << "\n";
    }
    for (const auto& table : report.tables_created) {
        std::cout << "  created " << table << "\n";
    }
    for (const auto& warning : report.warnings) {
        std::cout << "  warning: " << warning << "\n";
    }
    for (const auto& error : report.errors) {
        std::cout << "  error: " << error << "\n";
    }
    std::cout << (report.clean() ? "clean\n" : "not clean\n");
}

prometheus::Family<prometheus::Counter>& counter(prometheus::Registry& registry, const std::string& name,
                                                 const std::string& help) {
    return prometheus::BuildCounter().Name(name).Help(help).Register(registry);
}

prometheus::Family<prometheus::Gauge>& gauge(prometheus::Registry& registry, const std::string& name,
                                             const std::string& help) {
    return prometheus::BuildGauge().Name(name).Help(help).Register(registry);
}

/// Prometheus metrics of the daemon.
struct SyncMetrics {
    std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
    prometheus::Family<prometheus::Counter>& cycles =
        counter(*registry, "chfleet_sync_cycles_total", "Sync cycles run");
    prometheus::Family<prometheus::Counter>& differences =
        counter(*registry, "chfleet_sync_differences_total", "Partition differences found");
    prometheus::Family<prometheus::Counter>& partitions =
        counter(*registry, "chfleet_sync_partitions_repaired_total", "Partitions repaired, per table");
    prometheus::Family<prometheus::Counter>& rows =
        counter(*registry, "chfleet_sync_rows_repaired_total", "Rows added or removed by repairs, per table");
    prometheus::Family<prometheus::Counter>& errors =
        counter(*registry, "chfleet_sync_errors_total", "Cycle errors, by kind");
    prometheus::Family<prometheus::Gauge>& since_clean =
        gauge(*registry, "chfleet_sync_seconds_since_last_clean_cycle", "Seconds since the last clean cycle");
    prometheus::Family<prometheus::Gauge>& failback =
        gauge(*registry, "chfleet_sync_failback_ready", "1 when FAILBACK READY");
    prometheus::Family<prometheus::Gauge>& cycle_seconds =
        gauge(*registry, "chfleet_sync_last_cycle_seconds",
              "Duration of the last cycle: inventory, comparison, repairs and the state file written");
    std::chrono::steady_clock::time_point last_clean = std::chrono::steady_clock::now();

    void record(const CycleReport& report, bool failback_ready, double seconds) {
        cycles.Add({}).Increment();
        cycle_seconds.Add({}).Set(seconds);
        differences.Add({}).Increment(static_cast<double>(report.differences.size()));
        for (const auto& repair : report.repairs) {
            if (repair.done && !repair.skipped) {
                partitions.Add({{"table", repair.difference.table}}).Increment();
                rows.Add({{"table", repair.difference.table}, {"change", "added"}})
                    .Increment(static_cast<double>(repair.rows_added));
                rows.Add({{"table", repair.difference.table}, {"change", "removed"}})
                    .Increment(static_cast<double>(repair.rows_removed));
            }
        }
        if (!report.healthy) {
            errors.Add({{"kind", "site_unhealthy"}}).Increment();
        }
        if (!report.errors.empty()) {
            errors.Add({{"kind", "repair_or_query"}}).Increment(static_cast<double>(report.errors.size()));
        }
        if (!report.active_site) {
            errors.Add({{"kind", "active_site_undetermined"}}).Increment();
        }
        if (report.clean()) {
            last_clean = std::chrono::steady_clock::now();
        }
        failback.Add({}).Set(failback_ready ? 1 : 0);
        tick();
    }
    void tick() {
        since_clean.Add({}).Set(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - last_clean).count());
    }
};

/// Holds an exclusive lock next to the state file so that two instances never repair with the same state.
class StateLock {
  public:
    explicit StateLock(const std::string& state_file) {
        auto folder = std::filesystem::path(state_file).parent_path();
        if (!folder.empty()) {
            files::makeDirectories(folder.string());
        }
        std::string path = state_file + ".lock";
        fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd_ < 0 || ::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
            throw Exception(ErrorCode::Failed, "another chfleet sync holds {} (one instance per state file)",
                            path);
        }
    }
    ~StateLock() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }

  private:
    int fd_ = -1;
};

/// The state file, read on a thread of its own from the moment the command starts: the first cycle's
/// inventory does not wait for it, as the engine asks for the verified fingerprints only when it compares
/// (loadSyncState never throws). Its members are called from the command's thread only.
class StateFile {
  public:
    explicit StateFile(const std::string& path)
        : loading_(std::async(std::launch::async, [path] { return loadSyncState(path); })) {}

    /// The state, waiting for the file to be read the first time.
    SyncState& get() {
        if (loading_.valid()) {
            state_ = loading_.get();
        }
        return state_;
    }

    /// What SyncEngine asks for: the verified fingerprints, moved out of the state (a cycle that compares
    /// replaces them with its own report's; one that fails midway leaves none, and the next cycle checksums
    /// again).
    SyncEngine::VerifiedSource verifiedSource() {
        return [this] { return std::move(get().verified); };
    }

  private:
    std::future<SyncState> loading_;
    SyncState state_;
};

/// One cycle with repairs; the state file, notifications and metrics follow it. Returns the exit code.
int runOneCycle(SyncSetup& setup, const Flags& flags, StateFile& state_file, const Notifier& notifier,
                SyncMetrics& metrics) {
    auto cycle_start = std::chrono::steady_clock::now();
    auto [active, reason] = activeSite(setup, flags.active);
    setup.options.active_site = active;
    setup.options.repair = true;
    if (!active) {
        logger()->warn("active site undetermined, no repair this cycle: {}", reason);
    } else {
        logger()->info("active site: {} ({})", *active, reason);
    }
    auto options = setup.options;  // erasures first: no copy carries an erased company's rows
    auto held = erase::prepareSyncCycle(setup.fleet);
    options.exclude_patterns.insert(options.exclude_patterns.end(), held.begin(), held.end());
    SyncEngine engine(setup.fleet, options, state_file.verifiedSource());
    auto report = engine.runCycle();

    SyncState& state = state_file.get();
    state.last_check = toIsoUtc(std::chrono::system_clock::now());
    state.active_site = active ? (*active == setup.fleet.sites[0].name ? "primary" : "dr") : "unknown";
    state.tables_checked = report.tables_checked;
    state.tables_with_gaps = report.tables_with_gaps.size();
    state.new_tables_detected = report.new_tables;
    state.tables_created += report.tables_created.size();
    if (report.healthy) {
        state.verified = std::move(report.verified);  // the engine took the previous ones
    }
    uint64_t repaired = report.partitionsRepaired();
    if (repaired > 0) {
        state.last_sync = state.last_check;
    }
    state.partitions_synced += repaired;
    state.rows_synced += report.rowsAdded() + report.rowsRemoved();
    state.rows_added += report.rowsAdded();
    state.rows_removed += report.rowsRemoved();
    for (const auto& repair : report.repairs) {
        if (repair.done && !repair.skipped) {
            appendRepair(state, RepairRecord{*state.last_check, repair.difference.table,
                                             repair.difference.partition_id,
                                             fmt::format("{}/{} shard {}", repair.difference.site,
                                                         repair.difference.region, repair.difference.shard),
                                             repair.rows_added, repair.rows_removed,
                                             std::string(syncPolicyName(setup.options.policy))});
        }
    }
    std::string error;
    if (!report.healthy) {
        error = report.unhealthy_reason;
    } else if (!report.errors.empty()) {
        error = report.errors.front();
    } else if (!active) {
        error = "active site undetermined: " + reason;
    }
    state.last_error = error.empty() ? std::nullopt : std::optional<std::string>(error);
    bool was_ready = state.failback_ready;
    if (report.clean() && active) {
        ++state.consecutive_clean;
        logger()->info("all tables in sync (clean check #{})", state.consecutive_clean);
    } else {
        state.consecutive_clean = 0;
    }
    state.failback_ready = state.consecutive_clean >= setup.settings.failback_clean_checks;
    saveSyncState(setup.settings.state_file, state);
    double cycle_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - cycle_start).count();
    logger()->info("cycle finished in {:.0f} ms ({} tables, {} partitions verified, state saved)",
                   cycle_seconds * 1000, report.tables_checked, state.verified.size());

    if (!report.differences.empty()) {
        notifier.gapDetected(
            std::vector<std::string>(report.tables_with_gaps.begin(), report.tables_with_gaps.end()));
    }
    if (repaired > 0) {
        notifier.syncComplete(repaired, report.rowsAdded() + report.rowsRemoved());
    }
    if (!report.new_tables.empty()) {
        notifier.newTables(report.new_tables, !report.tables_created.empty());
    }
    if (state.failback_ready && !was_ready) {
        logger()->info("FAILBACK READY: {} consecutive clean cycles", state.consecutive_clean);
        notifier.failbackReady();
    }
    metrics.record(report, state.failback_ready, cycle_seconds);
    if (flags.json) {
        std::cout << reportJson(report, reason).dump(2) << "\n";
    } else {
        printReport(report, reason);
    }
    if (!report.healthy || !report.errors.empty()) {
        return serversExitCode(1, report.shards_reached);
    }
    bool pending = !report.new_tables.empty() && report.tables_created.empty();
    for (const auto& d : report.differences) {
        pending |= d.pending();
    }
    return pending ? static_cast<int>(ErrorCode::Differences) : 0;
}

void printState(const SyncState& state, bool json) {
    if (json) {
        std::cout << syncStateJson(state) << "\n";
        return;
    }
    std::cout << "last check:          " << state.last_check.value_or("never") << "\n"
              << "last sync:           " << state.last_sync.value_or("never") << "\n"
              << "active site:         " << (state.active_site.empty() ? "unknown" : state.active_site)
              << "\n"
              << "consecutive clean:   " << state.consecutive_clean << "\n"
              << "failback ready:      " << (state.failback_ready ? "yes" : "no") << "\n"
              << "tables checked:      " << state.tables_checked << "\n"
              << "tables with gaps:    " << state.tables_with_gaps << "\n"
              << "partitions synced:   " << state.partitions_synced << "\n"
              << "rows synced:         " << state.rows_synced << " (+" << state.rows_added << " -"
              << state.rows_removed << ")\n"
              << "tables created:      " << state.tables_created << "\n"
              << "new tables detected: " << state.new_tables_detected.size() << "\n"
              << "last error:          " << state.last_error.value_or("none") << "\n";
    for (const auto& table : state.new_tables_detected) {
        std::cout << "  new table: " << table << "\n";
    }
}

/// `chfleet sync` (syncMain below is the entry main.cpp dispatches to).
int syncCommand(const std::vector<std::string>& args) {
    CLI::App app{
        "Keeps two sites' ClickHouse data in step (what CH-Sync did, without losing rows). A cycle "
        "inventories\n"
        "system.parts on every shard of both sites, compares partitions (row counts, then content checksums "
        "where\n"
        "needed), and repairs server to server through a verified staging table swapped in atomically.\n"
        "Settings: the fleet file (-f, two sites) or CH-Sync's environment (ROLE, LOCAL_CH_URL, "
        "REMOTE_CH_URL, ...,\n"
        "also from --env-file), then the environment, then flags. See docs/sync.md.\n\n"
        "Examples:\n"
        "  chfleet sync check -f fleet.yaml --active primary --json\n"
        "  chfleet sync run --once -f fleet.yaml --state-file /var/lib/chfleet/sync-state.json\n"
        "  chfleet sync run --daemon --env-file /opt/ch-sync/.env\n"
        "  chfleet sync status --state-file /var/lib/chfleet/sync-state.json --json\n\n"
        "Exit codes: 0 clean (or everything repaired); 3 differences found and not repaired; 1 error; 2 bad\n"
        "arguments; 4 invalid configuration; 5 no shard of either site answered; 10 the fleet file cannot "
        "be\n"
        "read.",
        "chfleet sync"};
    addCommonOptions(app);
    app.require_subcommand(1);
    Flags flags;
    auto add_common = [&flags](CLI::App* sub) {
        addFleetFileOption(*sub, flags.fleet_file, false)
            ->description(
                "the fleet file with two sites (environment CHFLEET_FILE; without one: CH-Sync's "
                "environment or --env-file)");
        sub->add_option("--env-file", flags.env_file, "a CH-Sync .env file (KEY=VALUE lines)");
        sub->add_option(
            "--active", flags.active,
            "the active site (primary, dr or a site name): overrides DNS_RECORD (env CHSYNC_ACTIVE)");
        sub->add_option("--policy", flags.policy, "union (default) or mirror (env CHSYNC_POLICY)");
        sub->add_option("--state-file", flags.state_file, "the state file (env STATE_FILE)");
        sub->add_flag(
            "--auto-create", flags.auto_create,
            "create tables that exist on one site only from the other's definition (AUTO_CREATE_TABLES)");
        sub->add_option("--settle-seconds", flags.settle_seconds,
                        "do not repair partitions written to in the last N seconds (default 0)");
        sub->add_flag("--json", flags.json, "machine-readable output");
    };
    auto* check = app.add_subcommand("check", "one cycle, report only: exit 0 clean, 3 differences, 1 error");
    add_common(check);
    bool once = false, daemon = false;
    auto* run = app.add_subcommand("run", "repair: one cycle (--once) or forever (--daemon)");
    add_common(run);
    run->add_flag("--once", once, "one cycle, then exit");
    run->add_flag("--daemon", daemon, "a cycle every CHECK_INTERVAL seconds until SIGTERM/SIGINT");
    run->add_option("--interval", flags.interval, "seconds between cycles (env CHECK_INTERVAL)");
    run->add_option("--metrics-listen", flags.metrics_listen,
                    "serve /metrics and /healthz on HOST:PORT (env CHSYNC_METRICS_LISTEN)");
    auto* status = app.add_subcommand("status", "print the state file");
    status->add_option("--state-file", flags.state_file, "the state file (env STATE_FILE)");
    status->add_option("--env-file", flags.env_file, "a CH-Sync .env file (for STATE_FILE)");
    status->add_flag("--json", flags.json, "the state file's JSON");

    return runCommand(app, args, [&]() -> int {
        if (status->parsed()) {
            auto settings = applyEnvironment(SyncSettings{}, effectiveEnvironment(flags));
            std::string path = flags.state_file.empty() ? settings.state_file : flags.state_file;
            if (!std::filesystem::exists(path)) {
                throw Exception(ErrorCode::IoError, "no state file at {} (no cycle has run with it yet)",
                                path);
            }
            printState(loadSyncState(path), flags.json);
            return 0;
        }
        auto setup = makeSetup(flags);
        logger()->info("chfleet {} sync starting; sites {} and {} ({}); policy {}", CHFLEET_VERSION,
                       setup.fleet.sites[0].name, setup.fleet.sites[1].name,
                       setup.from_environment ? "CH-Sync environment" : setup.fleet.source_path,
                       syncPolicyName(setup.options.policy));
        logger()->debug("effective settings:\n{}", describe(setup.settings));
        if (check->parsed()) {
            auto [active, reason] = activeSite(setup, flags.active);
            setup.options.active_site = active;
            setup.options.repair = false;
            StateFile state_file(setup.settings.state_file);
            SyncEngine engine(setup.fleet, setup.options, state_file.verifiedSource());
            auto report = engine.runCycle();
            if (flags.json) {
                std::cout << reportJson(report, reason).dump(2) << "\n";
            } else {
                printReport(report, reason);
            }
            if (!report.healthy || !report.errors.empty()) {
                return serversExitCode(1, report.shards_reached);
            }
            return report.clean() ? 0 : static_cast<int>(ErrorCode::Differences);
        }
        if (once == daemon) {
            throw Exception(ErrorCode::BadArguments, "sync run needs exactly one of --once and --daemon");
        }
        signals::installStopHandlers();
        StateLock lock(setup.settings.state_file);
        StateFile state_file(setup.settings.state_file);
        Notifier notifier(setup.settings);
        SyncMetrics metrics;
        // Written by this loop, read by /healthz on the metrics server's threads.
        std::atomic<int> last_code = 0;
        std::unique_ptr<MetricsServer> server;
        if (!setup.settings.metrics_listen.empty()) {
            server = std::make_unique<MetricsServer>(setup.settings.metrics_listen, metrics.registry, [&] {
                bool clean = last_code.load() == 0;
                return MetricsServer::Health{clean, clean ? "ok" : "last cycle not clean"};
            });
            server->start();
        }
        if (once) {
            return runOneCycle(setup, flags, state_file, notifier, metrics);
        }
        while (!signals::stopRequested()) {
            try {
                last_code = runOneCycle(setup, flags, state_file, notifier, metrics);
            } catch (const Exception& e) {
                // A cycle that fails as a whole (state file unwritable, ...) is logged; the daemon goes on.
                logger()->error("cycle failed: {}", e.what());
                last_code = static_cast<int>(e.code());
            }
            auto deadline = std::chrono::steady_clock::now() + setup.settings.check_interval;
            while (std::chrono::steady_clock::now() < deadline &&
                   signals::sleepUnlessStopped(std::chrono::seconds(1))) {
                metrics.tick();
            }
        }
        logger()->info("stopping: signal received; state saved in {}", setup.settings.state_file);
        if (server) {
            server->stop();
        }
        logger()->info("stopped");
        return 0;
    });
}

}  // namespace

}  // namespace chfleet::sync

namespace chfleet {

int syncMain(const std::vector<std::string>& args) {
    return sync::syncCommand(args);
}

}  // namespace chfleet
