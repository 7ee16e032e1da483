// Monitoring checked end to end on a real fleet (tests/integration/monitoring/fleet.yaml: 2 shards x 2
// replicas, one keeper): chfleet's exporter serves the fleet, Debian's Prometheus scrapes it with the
// rendered configuration and evaluates the rendered rules. Every assertion reads Prometheus's own API
// (/api/v1/query, /api/v1/alerts) or chfleet health's exit code and findings; faults are real: kill -9 of a
// replica, the keeper stopped, a server stopped with SIGSTOP.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "TestFleet.h"
#include "clickhouse/HttpConnection.h"
#include "clickhouse/Result.h"
#include "common/Files.h"
#include "common/Process.h"
#include "monitoring/MonitoringRender.h"
#include "shared/FreePort.h"
#include "shared/WaitUntil.h"

using chfleet::testing::FleetEnvironment;
using chfleet::testing::waitUntil;
namespace ch = chfleet::clickhouse;
namespace process = chfleet::process;

namespace {

constexpr int kExporterTimeoutMs = 1500;

chfleet::testing::TestFleet& fleet() {
    return FleetEnvironment::fleet();
}

/// The exporter and Prometheus, started once for the binary after the fleet: the monitored fleet file is the
/// sandbox's with a monitoring: section (host data paths in the sandbox, the exporter's address), rendered by
/// `chfleet monitoring render` with a 1 s scrape and evaluation interval.
class MonitoringEnvironment : public ::testing::Environment {
  public:
    void SetUp() override {
        dir_ = fleet().sandbox().dir() + "/monitoring";
        chfleet::files::makeDirectories(dir_ + "/prometheus-data");
        exporter_port_ = chfleet::testing::freeLoopbackPort();
        // Beside the sandbox's own fleet file, so that its relative secrets path still resolves.
        fleet_file_ = fleet().sandbox().dir() + "/fleet-monitored.yaml";
        std::string text = chfleet::files::read(fleet().fleetPath());
        text += fmt::format(
            "monitoring:\n  exporter_timeout_ms: {}\n  host_data_path: {}/nodes/{{node}}/data\n"
            "  exporter_targets: [127.0.0.1:{}]\n",
            kExporterTimeoutMs, fleet().sandbox().dir(), exporter_port_);
        chfleet::files::writeAtomically(fleet_file_, text);
        auto render = fleet().chfleet({"monitoring", "render", "-f", fleet_file_, "-o", dir_,
                                       "--scrape-interval", "1", "--evaluation-interval", "1"});
        if (render.exit_code != 0) {
            fail("monitoring render failed: " + render.output);
        }
        exporter_pid_ = process::spawnDetached(
            {CHFLEET_BINARY, "exporter", "serve", "-f", fleet_file_, "--listen",
             fmt::format("127.0.0.1:{}", exporter_port_), "--capabilities-interval", "1"},
            dir_ + "/exporter.log", dir_);
        prometheus_port_ = chfleet::testing::freeLoopbackPort();
        prometheus_pid_ =
            process::spawnDetached({"/usr/bin/prometheus", "--config.file=" + dir_ + "/prometheus.yml",
                                    "--storage.tsdb.path=" + dir_ + "/prometheus-data",
                                    fmt::format("--web.listen-address=127.0.0.1:{}", prometheus_port_)},
                                   dir_ + "/prometheus.log", dir_);
        bool ready = waitUntil([&] {
            httplib::Client client("127.0.0.1", prometheus_port_);
            auto answer = client.Get("/-/ready");
            return answer && answer->status == 200;
        });
        if (!ready) {
            fail("Prometheus did not become ready:\n" + chfleet::files::read(dir_ + "/prometheus.log"));
        }
    }

    void TearDown() override {
        if (prometheus_pid_ > 0) {
            process::stop(prometheus_pid_, dir_ + "/prometheus.yml", std::chrono::seconds(10));
        }
        if (exporter_pid_ > 0) {
            process::stop(exporter_pid_, fleet_file_, std::chrono::seconds(10));
        }
    }

    static nlohmann::json api(const std::string& path) {
        httplib::Client client("127.0.0.1", prometheus_port_);
        client.set_read_timeout(std::chrono::seconds(30));
        auto answer = client.Get(path);
        if (!answer || answer->status != 200) {
            return nlohmann::json::object();
        }
        return nlohmann::json::parse(answer->body, nullptr, false);
    }

    /// The result vector of an instant query.
    static nlohmann::json query(const std::string& promql) {
        auto answer = api("/api/v1/query?query=" + ch::urlEncode(promql));
        return answer.contains("data") ? answer["data"]["result"] : nlohmann::json::array();
    }

    /// The value of `label` of every alert named `name` in `state` (firing, pending).
    static std::set<std::string> alerts(const std::string& name, const std::string& label,
                                        const std::string& state = "firing") {
        std::set<std::string> values;
        auto answer = api("/api/v1/alerts");
        if (!answer.contains("data")) {
            return values;
        }
        for (const auto& alert : answer["data"]["alerts"]) {
            if (alert["labels"]["alertname"] == name && alert["state"] == state) {
                values.insert(alert["labels"].value(label, ""));
            }
        }
        return values;
    }

    static std::string logs() {
        return "---- exporter\n" + chfleet::files::read(dir_ + "/exporter.log") + "---- prometheus (end)\n" +
               tail(chfleet::files::read(dir_ + "/prometheus.log"));
    }

    static const std::string& fleetFile() { return fleet_file_; }
    static uint16_t exporterPort() { return exporter_port_; }

  private:
    static std::string tail(const std::string& text) {
        return text.size() > 3000 ? text.substr(text.size() - 3000) : text;
    }
    static void fail(const std::string& why) {
        std::cerr << why << "\n";
        std::abort();
    }
    static inline std::string dir_;
    static inline std::string fleet_file_;
    static inline uint16_t exporter_port_ = 0;
    static inline uint16_t prometheus_port_ = 0;
    pid_t exporter_pid_ = 0;
    pid_t prometheus_pid_ = 0;
};

auto* const fleet_environment = ::testing::AddGlobalTestEnvironment(
    new FleetEnvironment("tests/integration/monitoring/fleet.yaml", chfleet::testing::Schema::Applied));
auto* const monitoring_environment = ::testing::AddGlobalTestEnvironment(new MonitoringEnvironment);

using Env = MonitoringEnvironment;

/// `chfleet health --json` on `file`, its clock `shift` ahead ("+25h"; Debian's libfaketime, monotonic clocks
/// left alone so that timeouts still work) when given.
nlohmann::json health(int& exit_code, const std::string& file = Env::fleetFile(),
                      const std::string& shift = "") {
    std::vector<std::string> argv{CHFLEET_BINARY, "health", "-f", file, "--json"};
    if (!shift.empty()) {
        argv.insert(argv.begin(), {"/usr/bin/faketime", "-f", shift});
    }
    auto run = process::run(argv, {{"FAKETIME_DONT_FAKE_MONOTONIC", "1"}});
    exit_code = run.exit_code;
    auto start = run.output.find("{\n");
    return start == std::string::npos ? nlohmann::json::object()
                                      : nlohmann::json::parse(run.output.substr(start), nullptr, false);
}

/// Subjects of the findings of `check` with `severity`.
std::set<std::string> findings(const nlohmann::json& report, const std::string& check,
                               const std::string& severity) {
    std::set<std::string> subjects;
    if (report.contains("findings")) {
        for (const auto& finding : report["findings"]) {
            if (finding["check"] == check && finding["severity"] == severity) {
                subjects.insert(finding["subject"].get<std::string>());
            }
        }
    }
    return subjects;
}

/// The value of clickhouse_up for `node` in a /metrics answer, "" when absent.
std::string upValue(const std::string& metrics, const std::string& node) {
    std::istringstream lines(metrics);
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind("clickhouse_up{", 0) == 0 && line.find("node=\"" + node + "\"") != std::string::npos) {
            return line.substr(line.rfind(' ') + 1);
        }
    }
    return "";
}

class Monitoring : public ::testing::Test {
  protected:
    void TearDown() override {
        if (HasFailure()) {
            fleet().printLogs();
            std::cerr << Env::logs();
        }
    }
};

/// Starts a server or keeper again when the test is over, whatever failed.
struct Restart {
    std::string name;
    ~Restart() {
        try {
            fleet().sandbox().start(name);
        } catch (const std::exception& e) {
            ADD_FAILURE() << "could not start " << name << " again: " << e.what();
        }
    }
};

TEST_F(Monitoring, AHealthyFleetIsReportedAndExitsZero) {
    int exit_code = -1;
    auto report = health(exit_code);
    EXPECT_EQ(exit_code, 0) << report.dump(2);
    EXPECT_EQ(report.value("worst", ""), "info") << report.dump(2);
    EXPECT_EQ(findings(report, "nodes", "ok"), std::set<std::string>{"fleet"}) << report.dump(2);
    // Not configured is reported, not failed: no DR sync, no spool.
    EXPECT_EQ(findings(report, "dr_sync", "info"), std::set<std::string>{"sync"});
    EXPECT_EQ(findings(report, "ingest_spool", "info"), std::set<std::string>{"ingest"});
    EXPECT_EQ(findings(report, "backups", "info"), std::set<std::string>{"backup"}) << report.dump(2);
    EXPECT_EQ(findings(report, "retention", "ok"), std::set<std::string>{"retention"}) << report.dump(2);
    EXPECT_TRUE(findings(report, "erasures", "critical").empty()) << report.dump(2);
}

TEST_F(Monitoring, AHotShardIsAWarningNamingTheCompanyThatMakesItHot) {
    // 20,000 rows of one company (one shard) and 2,000 spread over many: the hot shard holds ~90 %.
    struct Truncate {
        ~Truncate() {
            fleet().chfleet({"query", "-f", fleet().fleetPath(), "--all", "TRUNCATE TABLE mon.events_local"});
        }
    } truncate;
    auto connection = fleet().connect("mon-us-0");
    ch::execute(*connection,
                "INSERT INTO mon.events_us_distributed SELECT if(number < 20000, 'acme-hot', "
                "concat('c-', toString(number))), toDateTime('2026-11-01 00:00:00') + number, number "
                "FROM system.numbers LIMIT 22000",
                {{"insert_distributed_sync", "1"}});
    int exit_code = -1;
    auto report = health(exit_code);
    EXPECT_EQ(exit_code, 1) << report.dump(2);
    auto hot = findings(report, "shard_balance", "warning");
    ASSERT_EQ(hot.size(), 1u) << report.dump(2);
    for (const auto& finding : report["findings"]) {
        if (finding["check"] == "shard_balance" && finding["severity"] == "warning") {
            EXPECT_NE(finding["message"].get<std::string>().find("acme-hot (20000 rows)"), std::string::npos)
                << finding.dump();
        }
    }
}

TEST_F(Monitoring, EveryDashboardPanelQueryReturnsData) {
    // Queries in the query log of one node, so that the latency panel has a histogram to read.
    auto connection = fleet().connect("mon-us-1");
    for (int i = 0; i < 20; ++i) {
        ch::scalar(*connection, fmt::format("SELECT count() FROM mon.events_local WHERE value > {}", i),
                   {{"log_queries", "1"}});
    }
    ch::execute(*connection, "SYSTEM FLUSH LOGS");
    for (const auto& panel : chfleet::monitoring::dashboardPanels()) {
        for (const auto& [expr, legend] : panel.queries) {
            EXPECT_TRUE(waitUntil([&] { return !Env::query(expr).empty(); })) << panel.title << ": " << expr;
        }
    }
    auto latency = Env::query("clickhouse_query_duration_seconds_count{node=\"mon-us-1\"}");
    ASSERT_EQ(latency.size(), 1u);
    EXPECT_GE(std::stod(latency[0]["value"][1].get<std::string>()), 20.0);
}

TEST_F(Monitoring, AKilledReplicaFiresShardOfflineAndItResolvesWhenTheReplicaIsBack) {
    const std::string victim = "mon-us-3";
    ASSERT_TRUE(
        waitUntil([&] { return !Env::query("clickhouse_up{node=\"" + victim + "\"} == 1").empty(); }));
    {
        Restart restart{victim};
        auto killed = std::chrono::steady_clock::now();
        fleet().sandbox().kill(victim);
        EXPECT_TRUE(waitUntil([&] {
            return Env::alerts("ClickHouseShardOffline", "node").count(victim) == 1;
        })) << Env::api("/api/v1/alerts").dump();
        std::cerr << fmt::format(
            "ClickHouseShardOffline fired {:.1f} s after kill -9\n",
            std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count());
        EXPECT_EQ(Env::alerts("ClickHouseShardOffline", "node"), std::set<std::string>{victim});
        int exit_code = -1;
        auto report = health(exit_code);
        EXPECT_EQ(exit_code, 11) << report.dump(2);
        EXPECT_EQ(findings(report, "nodes", "critical"), std::set<std::string>{victim}) << report.dump(2);
    }
    EXPECT_TRUE(waitUntil([&] { return Env::alerts("ClickHouseShardOffline", "node").empty(); }))
        << Env::api("/api/v1/alerts").dump();
}

TEST_F(Monitoring, AStoppedKeeperFiresZooKeeperDisconnectedAndItResolves) {
    ASSERT_TRUE(waitUntil([&] { return Env::query("clickhouse_zookeeper_session_up == 1").size() == 4; }));
    {
        Restart restart{"keeper-primary"};
        fleet().sandbox().kill("keeper-primary");
        EXPECT_TRUE(waitUntil([&] {
            return Env::alerts("ClickHouseZooKeeperDisconnected", "node").size() == 4;
        })) << Env::api("/api/v1/alerts").dump();
        int exit_code = -1;
        auto report = health(exit_code);
        EXPECT_EQ(exit_code, 11) << report.dump(2);
        EXPECT_EQ(findings(report, "zookeeper", "critical").size(), 4u) << report.dump(2);
    }
    EXPECT_TRUE(waitUntil([&] { return Env::alerts("ClickHouseZooKeeperDisconnected", "node").empty(); }))
        << Env::api("/api/v1/alerts").dump();
}

TEST_F(Monitoring, AHungServerIsDownInTheScrapeAndTheOthersAreStillServed) {
    const std::string victim = "mon-us-2";
    const auto& record = fleet().sandbox().process(victim);
    ASSERT_EQ(::kill(record.pid, SIGSTOP), 0);
    struct Continue {
        pid_t pid;
        ~Continue() { ::kill(pid, SIGCONT); }
    } resume{record.pid};
    httplib::Client client("127.0.0.1", Env::exporterPort());
    client.set_read_timeout(std::chrono::seconds(60));
    auto answer = client.Get("/metrics");
    ASSERT_TRUE(answer);
    ASSERT_EQ(answer->status, 200);
    EXPECT_EQ(upValue(answer->body, victim), "0") << answer->body.substr(0, 3000);
    for (const std::string node : {"mon-us-0", "mon-us-1", "mon-us-3"}) {
        EXPECT_EQ(upValue(answer->body, node), "1") << node << "\n" << answer->body.substr(0, 3000);
    }
}

/// The message of the finding of `check` about `subject`, "" when there is none.
std::string message(const nlohmann::json& report, const std::string& check, const std::string& subject) {
    for (const auto& finding : report.value("findings", nlohmann::json::array())) {
        if (finding["check"] == check && finding["subject"] == subject) {
            return finding["message"].get<std::string>();
        }
    }
    return "";
}

TEST_F(Monitoring, RetentionOverdueIsAWarningAndFiresRetentionStalled) {
    struct Truncate {
        ~Truncate() {
            fleet().chfleet({"query", "-f", fleet().fleetPath(), "--all", "TRUNCATE TABLE mon.events_local"});
        }
    } truncate;
    // A month of rows two years old: past events' 365 days by far more than retention_stalled_hours.
    auto connection = fleet().connect("mon-us-0");
    ch::execute(*connection,
                "INSERT INTO mon.events_us_distributed SELECT concat('old-', toString(number % 50)), "
                "toDateTime('2024-01-15 00:00:00') + number, number FROM system.numbers LIMIT 1000",
                {{"insert_distributed_sync", "1"}});
    int exit_code = -1;
    auto report = health(exit_code);
    EXPECT_EQ(exit_code, 1) << report.dump(2);
    EXPECT_EQ(findings(report, "retention", "warning"), std::set<std::string>{"primary/us-east-1"})
        << report.dump(2);
    auto text = message(report, "retention", "primary/us-east-1");
    EXPECT_EQ(text.rfind("events: ", 0), 0u) << text;
    EXPECT_NE(text.find("expired partitions still present, overdue "), std::string::npos) << text;
    EXPECT_NE(text.find("(threshold 24 h)"), std::string::npos) << text;
    // The exporter serves the same figure; the rendered rule fires on it.
    EXPECT_TRUE(waitUntil([&] {
        return Env::alerts("ChfleetRetentionStalled", "table").count("events") == 1;
    })) << Env::api("/api/v1/alerts").dump();
    auto overdue = Env::query("chfleet_retention_overdue_seconds{site=\"primary\",region=\"us-east-1\"}");
    ASSERT_EQ(overdue.size(), 1u) << overdue.dump();
    EXPECT_GT(std::stod(overdue[0]["value"][1].get<std::string>()), 300.0 * 86400) << overdue.dump();
}

TEST_F(Monitoring, AnErasurePendingOnAStoppedNodeIsCriticalPastItsDeadline) {
    ::setenv("CHFLEET_ERASE_SALT", "monitoring-test-salt-41d2", 1);
    const std::string down = "mon-us-1";
    {
        Restart restart{down};
        fleet().sandbox().kill(down);
        // The ID on standard input: never in a process's arguments.
        auto run = process::run({CHFLEET_BINARY, "erase", "run", "-f", Env::fleetFile(), "--reason",
                                 "ticket 18", "-", "--log-level", "error"},
                                {}, "acme-gone\n");
        ASSERT_EQ(run.exit_code, 1) << run.output;  // pending somewhere
        int exit_code = -1;
        auto now = health(exit_code);
        auto pending = findings(now, "erasures", "info");
        ASSERT_EQ(pending.size(), 1u) << now.dump(2);
        EXPECT_NE(message(now, "erasures", *pending.begin()).find("pending on " + down), std::string::npos)
            << now.dump(2);
        // The same erasure a day and an hour later: past erasure_pending_hours (24).
        auto later = health(exit_code, Env::fleetFile(), "+25h");
        EXPECT_EQ(exit_code, 11) << later.dump(2);
        EXPECT_EQ(findings(later, "erasures", "critical"), pending) << later.dump(2);
        auto text = message(later, "erasures", *pending.begin());
        EXPECT_NE(text.find("(25 h ago, threshold 24 h), pending on " + down), std::string::npos) << text;
        EXPECT_TRUE(waitUntil([&] {
            auto gauge = Env::query("chfleet_erase_pending_erasures{site=\"primary\"} == 1");
            return gauge.size() == 1;
        }));
    }
    auto complete =
        fleet().chfleet({"erase", "run", "-f", Env::fleetFile(), "--pending", "--log-level", "error"});
    EXPECT_EQ(complete.exit_code, 0) << complete.output;
    int exit_code = -1;
    auto after = health(exit_code, Env::fleetFile(), "+25h");
    EXPECT_TRUE(findings(after, "erasures", "critical").empty()) << after.dump(2);
    EXPECT_EQ(findings(after, "erasures", "ok"), std::set<std::string>{"erase"}) << after.dump(2);
}

TEST_F(Monitoring, TheAgeOfTheLastGoodBackupIsJudgedFromTheRepository) {
    const std::string repository = fleet().sandbox().dir() + "/monitoring/backups";
    std::filesystem::remove_all(repository);
    const std::string file = fleet().sandbox().dir() + "/fleet-backup.yaml";
    chfleet::files::writeAtomically(
        file, chfleet::files::read(Env::fleetFile()) +
                  "backup:\n  repositories:\n    us-east-1: {path: " + repository + "}\n");
    auto create = fleet().chfleet({"backup", "create", "-f", file, "daily-1", "--log-level", "error"});
    ASSERT_EQ(create.exit_code, 0) << create.output;
    int exit_code = -1;
    auto fresh = health(exit_code, file);
    EXPECT_EQ(exit_code, 0) << fresh.dump(2);
    EXPECT_EQ(findings(fresh, "backups", "ok"), std::set<std::string>{"us-east-1"}) << fresh.dump(2);
    // The same repository 27 hours later: older than backup_age_hours (26).
    auto old = health(exit_code, file, "+27h");
    EXPECT_EQ(exit_code, 11) << old.dump(2);
    EXPECT_EQ(findings(old, "backups", "critical"), std::set<std::string>{"us-east-1"}) << old.dump(2);
    auto text = message(old, "backups", "us-east-1");
    EXPECT_NE(text.find("the last good backup is 27 h old (threshold 26 h)"), std::string::npos) << text;
}

}  // namespace
