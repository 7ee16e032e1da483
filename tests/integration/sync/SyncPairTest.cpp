// chfleet sync on the classic CH-Sync pair (examples/pair: one server per site), run as an operator runs it:
// the seed's four failover scenarios, content differences, union versus mirror, crashes of chfleet and of the
// destination server in the middle of a repair, the DNS-decided active site (a real dnsmasq), a corrupt state
// file and webhook notifications received by a real HTTP server.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "../dns/DnsmasqFixture.h"
#include "TestFleet.h"
#include "clickhouse/HttpConnection.h"
#include "clickhouse/Result.h"
#include "clickhouse/RetryPolicy.h"
#include "common/Files.h"
#include "common/Process.h"
#include "shared/FreePort.h"
#include "shared/WaitUntil.h"
#include "topology/NodeConnection.h"

using chfleet::testing::eventually;
using chfleet::testing::FleetEnvironment;
using chfleet::testing::waitUntil;
namespace ch = chfleet::clickhouse;

namespace {

auto* const environment =
    ::testing::AddGlobalTestEnvironment(new FleetEnvironment("examples/pair/fleet.yaml"));

chfleet::testing::TestFleet& fleet() {
    return FleetEnvironment::fleet();
}

const std::string kTable = "telemetry.http_telemetry_local";
const std::string kPrimary = "primary-ch-0";
const std::string kDr = "dr-ch-0";

/// count and checksum of every row of the table on a node: what "equal" means.
std::string contents(const std::string& node) {
    return fleet().scalar(
        node, "SELECT concat(toString(count()), '/', toString(sum(cityHash64(*)))) FROM " + kTable);
}

/// Rows spread over the last `days` days (inside the table's 30-day retention); the same arguments give the
/// same rows, so running it on both sites is a dual write.
void insertRows(const std::string& node, uint64_t count, uint64_t seed, int days = 3) {
    auto connection = fleet().connect(node);
    ch::execute(*connection,
                fmt::format("INSERT INTO {} SELECT toDateTime(today() - (number % {})) + number % 86000, "
                            "concat('bigip-', toString(number % 5)), 'vs-{}', "
                            "concat('10.0.', toString(number % 250), '.1'), 200, number % 977 "
                            "FROM system.numbers LIMIT {}",
                            kTable, days, seed, count));
}

class SyncPair : public ::testing::Test {
  protected:
    void SetUp() override {
        // A test that failed half-way may have left a server down: start what is not running.
        for (const auto& status : fleet().sandbox().status()) {
            if (!status.alive) {
                fleet().sandbox().start(status.record.name);
            }
        }
        static bool schema_applied = false;
        if (!schema_applied) {
            auto apply = fleet().chfleet({"schema", "apply", "-f", fleet().fleetPath()});
            ASSERT_EQ(apply.exit_code, 0) << apply.output;
            schema_applied = true;
        }
        for (const auto& node : {kPrimary, kDr}) {
            for (auto& name : tablesOf(node)) {
                if (name != "http_telemetry_local" && name.find("distributed") == std::string::npos) {
                    ch::execute(*fleet().connect(node), "DROP TABLE IF EXISTS telemetry.`" + name + "`");
                }
            }
            // Right after a replica restarts, a replicated TRUNCATE may meet a leader election: retried.
            // After a kill in the middle of a repair, an 18.16 replica's queue can loop on an entry ("Part …
            // already exists") and TRUNCATE then waits for it for ever: bounded, and past the bound the
            // node's table is dropped and created again by schema apply (a fresh replica has an empty queue).
            auto endpoint = chfleet::topology::endpointFor(fleet().fleet(), *fleet().fleet().node(node));
            endpoint.total_timeout = std::chrono::seconds(60);
            ch::HttpConnection connection(endpoint);
            try {
                ch::withRetry(ch::RetryPolicy{}, node,
                              [&] { ch::execute(connection, "TRUNCATE TABLE " + kTable); });
            } catch (const chfleet::Exception& e) {
                std::cerr << "TRUNCATE on " << node << " did not finish (" << e.what()
                          << "): the table is created again\n";
                ch::execute(*fleet().connect(node), "DROP TABLE " + kTable);
                auto apply = fleet().chfleet({"schema", "apply", "-f", fleet().fleetPath()});
                ASSERT_EQ(apply.exit_code, 0) << apply.output;
            }
        }
        char pattern[] = "/tmp/chfleet-sync-state-XXXXXX";
        state_dir_ = ::mkdtemp(pattern);
    }
    void TearDown() override { std::filesystem::remove_all(state_dir_); }

    std::vector<std::string> tablesOf(const std::string& node) {
        auto result =
            ch::query(*fleet().connect(node), "SELECT name FROM system.tables WHERE database = 'telemetry'");
        std::vector<std::string> names;
        for (size_t row = 0; row < result.rowCount(); ++row) {
            names.push_back(result.getString(row, "name"));
        }
        return names;
    }

    std::string statePath() const { return state_dir_ + "/state.json"; }

    chfleet::process::Finished sync(std::vector<std::string> args,
                                    std::map<std::string, std::string> env = {}) {
        std::vector<std::string> argv{CHFLEET_BINARY, "sync"};
        argv.insert(argv.end(), args.begin(), args.end());
        argv.insert(argv.end(), {"-f", fleet().fleetPath(), "--state-file", statePath()});
        return chfleet::process::run(argv, env, {}, chfleet::testing::TestFleet::kChfleetTimeout);
    }

    nlohmann::json state() { return nlohmann::json::parse(chfleet::files::read(statePath())); }

    std::string state_dir_;
};

TEST_F(SyncPair, Scenario1DualWriteIsCleanAndFailbackReadyAfterThreeCleanCycles) {
    insertRows(kPrimary, 3000, 1);
    insertRows(kDr, 3000, 1);
    auto check = sync({"check", "--active", "primary"});
    EXPECT_EQ(check.exit_code, 0) << check.output;
    auto before = contents(kDr);
    for (int cycle = 1; cycle <= 3; ++cycle) {
        auto run = sync({"run", "--once", "--active", "primary"});
        ASSERT_EQ(run.exit_code, 0) << run.output;
        EXPECT_EQ(state()["consecutive_clean"].get<int>(), cycle);
    }
    EXPECT_TRUE(state()["failback_ready"].get<bool>());
    // What the state says is what the servers show: both sites hold the same 3000 rows, and nothing was
    // copied (the DR's rows are the very ones it had).
    EXPECT_EQ(fleet().scalar(kPrimary, "SELECT count() FROM " + kTable), "3000");
    EXPECT_EQ(contents(kDr), contents(kPrimary));
    EXPECT_EQ(contents(kDr), before);
    EXPECT_EQ(state()["partitions_synced"].get<int>(), 0);
    EXPECT_TRUE(state()["last_error"].is_null());
    EXPECT_EQ(state()["active_site"], "primary");
}

TEST_F(SyncPair, Scenario2DrDownThenBackReceivesWhatItMissed) {
    insertRows(kPrimary, 1000, 2);
    insertRows(kDr, 1000, 2);
    fleet().sandbox().kill(kDr);
    insertRows(kPrimary, 2000, 3);  // written while the DR was down
    auto while_down = sync({"run", "--once", "--active", "primary"});
    EXPECT_EQ(while_down.exit_code, 1) << while_down.output;
    EXPECT_NE(state()["last_error"].get<std::string>().find("no replica"), std::string::npos)
        << state().dump();
    EXPECT_EQ(state()["consecutive_clean"].get<int>(), 0);

    fleet().sandbox().start(kDr);
    auto check = sync({"check", "--active", "primary"});
    EXPECT_EQ(check.exit_code, 3) << check.output;
    auto run = sync({"run", "--once", "--active", "primary"});
    EXPECT_EQ(run.exit_code, 0) << run.output;
    EXPECT_EQ(contents(kDr), contents(kPrimary));
    EXPECT_GT(state()["partitions_synced"].get<int>(), 0);
    EXPECT_EQ(state()["rows_synced"].get<int>(), 2000);
    EXPECT_EQ(sync({"check", "--active", "primary"}).exit_code, 0);
}

TEST_F(SyncPair, Scenario3FailoverToDrThenPrimaryBackReceivesTheDrWrites) {
    insertRows(kPrimary, 1000, 4);
    insertRows(kDr, 1000, 4);
    fleet().sandbox().kill(kPrimary);
    insertRows(kDr, 1500, 5);  // the DR took the writes during the failover
    fleet().sandbox().start(kPrimary);
    auto run = sync({"run", "--once", "--active", "dr"});
    EXPECT_EQ(run.exit_code, 0) << run.output;
    EXPECT_EQ(contents(kPrimary), contents(kDr));
    EXPECT_EQ(state()["active_site"], "dr");
    EXPECT_EQ(fleet().scalar(kPrimary, "SELECT count() FROM " + kTable), "2500");
}

TEST_F(SyncPair, Scenario4NewTableDuringFailoverWithAndWithoutAutoCreate) {
    auto dr = fleet().connect(kDr);
    ch::execute(*dr,
                "CREATE TABLE telemetry.dns_telemetry (timestamp DateTime, query String) ENGINE = "
                "MergeTree PARTITION BY toYYYYMMDD(timestamp) ORDER BY timestamp");
    ch::execute(*dr,
                "INSERT INTO telemetry.dns_telemetry SELECT now() - number, toString(number) FROM "
                "system.numbers LIMIT 100");
    auto run = sync({"run", "--once", "--active", "dr", "--json"});
    EXPECT_EQ(run.exit_code, 3) << run.output;
    EXPECT_NE(run.output.find("primary: telemetry.dns_telemetry"), std::string::npos) << run.output;
    EXPECT_EQ(state()["new_tables_detected"][0], "primary: telemetry.dns_telemetry");
    auto tables = tablesOf(kPrimary);
    EXPECT_EQ(std::count(tables.begin(), tables.end(), "dns_telemetry"), 0) << "created without auto-create";

    auto created = sync({"run", "--once", "--active", "dr", "--auto-create"});
    EXPECT_EQ(created.exit_code, 0) << created.output;
    EXPECT_EQ(state()["tables_created"].get<int>(), 1);
    auto synced = sync({"run", "--once", "--active", "dr"});
    EXPECT_EQ(synced.exit_code, 0) << synced.output;
    EXPECT_EQ(fleet().scalar(kPrimary, "SELECT count() FROM telemetry.dns_telemetry"), "100");
}

TEST_F(SyncPair, EqualCountDivergentPartitionIsFoundAndRepaired) {
    insertRows(kPrimary, 2000, 6, 1);
    insertRows(kDr, 2000, 6, 1);
    // One row changed on the DR: same count, other content.
    ch::execute(*fleet().connect(kDr),
                "ALTER TABLE " + kTable + " UPDATE latency_ms = 4242 WHERE latency_ms = 7");
    // latency_ms = number % 977 is 7 for numbers 7, 984 and 1961.
    ASSERT_EQ(
        eventually(
            [&] { return fleet().scalar(kDr, "SELECT count() FROM " + kTable + " WHERE latency_ms = 4242"); },
            std::string("3")),
        "3")
        << "the mutation that makes the DR differ never ran";
    ASSERT_EQ(fleet().scalar(kPrimary, "SELECT count() FROM " + kTable),
              fleet().scalar(kDr, "SELECT count() FROM " + kTable));
    auto check = sync({"check", "--active", "primary", "--json"});
    EXPECT_EQ(check.exit_code, 3) << check.output;
    EXPECT_NE(check.output.find("content differs (same row count)"), std::string::npos) << check.output;
    auto run = sync({"run", "--once", "--active", "primary", "--policy", "mirror"});
    EXPECT_EQ(run.exit_code, 0) << run.output;
    EXPECT_EQ(contents(kDr), contents(kPrimary));
}

TEST_F(SyncPair, PassiveOnlyRowsAreKeptUnderUnionAndRemovedOnlyUnderMirror) {
    insertRows(kPrimary, 1000, 7);
    insertRows(kDr, 1000, 7);
    insertRows(kDr, 300, 8);  // only the passive site has these
    auto run = sync({"run", "--once", "--active", "primary"});
    EXPECT_EQ(run.exit_code, 0) << run.output;
    EXPECT_EQ(fleet().scalar(kDr, "SELECT count() FROM " + kTable), "1300")
        << "union removed passive-only rows";
    EXPECT_EQ(fleet().scalar(kPrimary, "SELECT count() FROM " + kTable), "1300")
        << "union gives both every row";
    EXPECT_EQ(state()["rows_removed"].get<int>(), 0);

    insertRows(kDr, 200, 9);
    auto mirror = sync({"run", "--once", "--active", "primary", "--policy", "mirror"});
    EXPECT_EQ(mirror.exit_code, 0) << mirror.output;
    EXPECT_EQ(contents(kDr), contents(kPrimary));
    EXPECT_EQ(fleet().scalar(kDr, "SELECT count() FROM " + kTable), "1300");
    EXPECT_EQ(state()["rows_removed"].get<int>(), 200);
}

/// True while the DR server runs a repair's copy into a staging table (the statement is visible there).
bool copyRunningOnDr() {
    return fleet().scalar(kDr,
                          "SELECT count() FROM system.processes WHERE query LIKE 'INSERT INTO %' AND "
                          "position(query, '_chfleet_stage_') > 0") != "0";
}

/// True once a staging table exists on the DR (the repair has begun and the table is still untouched).
bool stagingTableOnDr() {
    return fleet().scalar(kDr,
                          "SELECT count() FROM system.tables WHERE database = 'telemetry' AND "
                          "startsWith(name, '_chfleet_stage_')") != "0";
}

TEST_F(SyncPair, KillingChfleetInTheMiddleOfARepairThenRerunningConverges) {
    insertRows(kPrimary, 3'000'000, 10, 2);
    struct KillPoint {
        const char* name;
        bool (*reached)();
    };
    // Each kill lands once the repair has visibly started on the DR, at a different step of it.
    for (KillPoint point : {KillPoint{"while a staging table exists", stagingTableOnDr},
                            KillPoint{"while the copy statement runs", copyRunningOnDr},
                            KillPoint{"while the copy statement runs (again)", copyRunningOnDr}}) {
        std::vector<std::string> argv{CHFLEET_BINARY, "sync",     "run", "--once",
                                      "--active",     "primary",  "-f",  fleet().fleetPath(),
                                      "--state-file", statePath()};
        auto pid = chfleet::process::spawnDetached(argv, state_dir_ + "/killed.log", state_dir_);
        bool reached =
            waitUntil([&] { return point.reached() || !chfleet::process::isRunning(pid, statePath()); });
        bool killed = reached && chfleet::process::signalIfRunning(pid, statePath(), SIGKILL);
        ASSERT_TRUE(waitUntil([&] { return !chfleet::process::isRunning(pid, statePath()); }))
            << "chfleet still runs after SIGKILL";
        // The server may finish a copy the dead chfleet started (into a staging table, never into the table).
        ASSERT_TRUE(waitUntil([] { return !copyRunningOnDr(); })) << "an orphaned copy never ended";
        auto rows = std::stoull(fleet().scalar(kDr, "SELECT count() FROM " + kTable));
        if (!killed) {
            // The run ended by itself before the step was seen: only possible once an earlier kill left
            // nothing to repair. It must then have completed everything.
            EXPECT_EQ(rows, 3'000'000u) << point.name << ": the run ended early without repairing";
            continue;
        }
        // Whatever the instant: each partition is as it was or as repaired, never half or double.
        EXPECT_TRUE(rows == 0 || rows == 1'500'000 || rows == 3'000'000) << "after a kill " << point.name;
        if (std::string(point.name) == "while a staging table exists") {
            EXPECT_LT(rows, 3'000'000u)
                << "the first kill must land before the repair ends, or it proves nothing";
        }
    }
    auto rerun = sync({"run", "--once", "--active", "primary"});
    EXPECT_EQ(rerun.exit_code, 0) << rerun.output;
    EXPECT_EQ(contents(kDr), contents(kPrimary));
    EXPECT_EQ(sync({"check", "--active", "primary"}).exit_code, 0);
    auto tables = tablesOf(kDr);
    for (const auto& name : tables) {
        EXPECT_EQ(name.find("_chfleet_stage_"), std::string::npos) << "leftover staging table " << name;
    }
}

TEST_F(SyncPair, KillingTheDestinationServerDuringARepairLosesNothing) {
    insertRows(kPrimary, 3'000'000, 11, 2);
    std::vector<std::string> argv{CHFLEET_BINARY, "sync",     "run", "--once",
                                  "--active",     "primary",  "-f",  fleet().fleetPath(),
                                  "--state-file", statePath()};
    auto pid = chfleet::process::spawnDetached(argv, state_dir_ + "/run.log", state_dir_);
    ASSERT_TRUE(waitUntil(copyRunningOnDr)) << "the repair never started copying on the DR";
    fleet().sandbox().kill(kDr);
    // chfleet notices the lost server, gives up this cycle and exits (its retries are bounded).
    EXPECT_TRUE(
        waitUntil([&] { return !chfleet::process::isRunning(pid, statePath()); }, std::chrono::minutes(5)))
        << "sync run still runs minutes after its destination died";
    chfleet::process::signalIfRunning(pid, statePath(), SIGKILL);
    fleet().sandbox().start(kDr);
    auto rerun = sync({"run", "--once", "--active", "primary"});
    EXPECT_EQ(rerun.exit_code, 0) << rerun.output;
    EXPECT_EQ(contents(kDr), contents(kPrimary));
    EXPECT_EQ(fleet().scalar(kDr, "SELECT count() FROM " + kTable), "3000000");
}

TEST_F(SyncPair, TheActiveSiteComesFromDnsAndAnUnknownAnswerMeansNoRepair) {
    insertRows(kPrimary, 500, 12);
    chfleet::testing::DnsmasqFixture dns(
        chfleet::testing::DnsmasqFixture::Records{{"failover.chfleet.test", "127.0.0.5"}});
    std::map<std::string, std::string> env{{"DNS_RECORD", "failover.chfleet.test"},
                                           {"DNS_SERVER", dns.server()},
                                           {"PRIMARY_IP", "127.0.0.7"},
                                           {"DR_IP", "127.0.0.8"}};
    auto unknown = sync({"run", "--once"}, env);
    EXPECT_EQ(unknown.exit_code, 3) << unknown.output;
    EXPECT_NE(state()["last_error"].get<std::string>().find("127.0.0.5"), std::string::npos)
        << state().dump();
    EXPECT_EQ(state()["active_site"], "unknown");
    EXPECT_EQ(fleet().scalar(kDr, "SELECT count() FROM " + kTable), "0") << "repaired without an active site";

    dns.restart(chfleet::testing::DnsmasqFixture::Records{{"failover.chfleet.test", "127.0.0.7"}});
    auto primary = sync({"run", "--once"}, env);
    EXPECT_EQ(primary.exit_code, 0) << primary.output;
    EXPECT_EQ(state()["active_site"], "primary");
    EXPECT_EQ(contents(kDr), contents(kPrimary));
}

TEST_F(SyncPair, ACorruptStateFileGivesOneWarningAndAFreshState) {
    chfleet::files::writeAtomically(statePath(), "{\"consecutive_clean\": \"not a number\", truncated");
    auto run = sync({"run", "--once", "--active", "primary"});
    EXPECT_EQ(run.exit_code, 0) << run.output;
    EXPECT_NE(run.output.find(statePath()), std::string::npos) << run.output;
    EXPECT_EQ(state()["consecutive_clean"].get<int>(), 1);
    bool kept = false;
    for (const auto& entry : std::filesystem::directory_iterator(state_dir_)) {
        kept |= entry.path().filename().string().find("state.json.corrupt-") == 0;
    }
    EXPECT_TRUE(kept) << "the corrupt file must be kept aside";
}

TEST_F(SyncPair, WebhooksReachARealReceiverAndAFailingOneStopsNothing) {
    httplib::Server receiver;
    std::mutex mutex;
    std::vector<std::string> texts;
    receiver.Post("/hook/secret-token", [&](const httplib::Request& request, httplib::Response& response) {
        std::lock_guard lock(mutex);
        texts.push_back(nlohmann::json::parse(request.body)["text"]);
        response.set_content("ok", "text/plain");
    });
    int port = receiver.bind_to_any_port("127.0.0.1");
    std::thread serving([&] { receiver.listen_after_bind(); });
    insertRows(kPrimary, 800, 13);
    auto run = sync({"run", "--once", "--active", "primary"},
                    {{"NOTIFY_WEBHOOK", "http://127.0.0.1:" + std::to_string(port) + "/hook/secret-token"}});
    receiver.stop();
    serving.join();
    EXPECT_EQ(run.exit_code, 0) << run.output;
    EXPECT_EQ(run.output.find("secret-token"), std::string::npos) << "the webhook token was logged";
    std::lock_guard lock(mutex);
    ASSERT_EQ(texts.size(), 2u);
    EXPECT_NE(texts[0].find("data gaps"), std::string::npos) << texts[0];
    EXPECT_NE(texts[1].find("Sync complete"), std::string::npos) << texts[1];

    insertRows(kPrimary, 100, 14);
    auto failing =
        sync({"run", "--once", "--active", "primary"}, {{"NOTIFY_WEBHOOK", "http://127.0.0.1:9/hook"}});
    EXPECT_EQ(failing.exit_code, 0) << failing.output;
    EXPECT_EQ(contents(kDr), contents(kPrimary));
}

}  // namespace

namespace {

TEST_F(SyncPair, TheDaemonServesMetricsAndHealthAndStopsCleanlyOnSigterm) {
    insertRows(kPrimary, 600, 15);
    int port = chfleet::testing::freeLoopbackPort();  // the daemon's /metrics
    std::vector<std::string> argv{CHFLEET_BINARY,
                                  "sync",
                                  "run",
                                  "--daemon",
                                  "--active",
                                  "primary",
                                  "--interval",
                                  "1",
                                  "--metrics-listen",
                                  "127.0.0.1:" + std::to_string(port),
                                  "-f",
                                  fleet().fleetPath(),
                                  "--state-file",
                                  statePath()};
    auto pid = chfleet::process::spawnDetached(argv, state_dir_ + "/daemon.log", state_dir_);
    httplib::Client client("127.0.0.1", port);
    client.set_connection_timeout(1);
    client.set_read_timeout(5);
    // Cycle 1 repairs the 3 partitions; cycles 2 to 4 are clean, and after the third clean one the daemon
    // says failback is ready (the gauge starts at 0: only a 1 shows it changed).
    std::string metrics;
    bool ready = waitUntil([&] {
        auto response = client.Get("/metrics");
        metrics = response ? response->body : std::string();
        return metrics.find("\nchfleet_sync_failback_ready 1\n") != std::string::npos;  // not the HELP line
    });
    ASSERT_TRUE(ready) << metrics << chfleet::files::read(state_dir_ + "/daemon.log");
    EXPECT_NE(metrics.find(
                  "\nchfleet_sync_partitions_repaired_total{table=\"telemetry.http_telemetry_local\"} 3\n"),
              std::string::npos)
        << metrics;
    // The last cycle was clean, a moment ago (the gauge exists from the start: its value is what counts).
    const std::string since = "\nchfleet_sync_seconds_since_last_clean_cycle ";
    auto at = metrics.find(since);
    ASSERT_NE(at, std::string::npos) << metrics;
    double seconds = std::stod(metrics.substr(at + since.size()));
    EXPECT_GE(seconds, 0.0) << metrics;
    EXPECT_LT(seconds, 60.0) << metrics;
    // The last cycle's own duration: a clean cycle of one table takes well under a minute, and not nothing.
    const std::string took = "\nchfleet_sync_last_cycle_seconds ";
    at = metrics.find(took);
    ASSERT_NE(at, std::string::npos) << metrics;
    double cycle = std::stod(metrics.substr(at + took.size()));
    EXPECT_GT(cycle, 0.0) << metrics;
    EXPECT_LT(cycle, 60.0) << metrics;
    EXPECT_EQ(contents(kDr), contents(kPrimary));
    EXPECT_EQ(fleet().scalar(kDr, "SELECT count() FROM " + kTable), "600");
    auto health = client.Get("/healthz");
    ASSERT_TRUE(health);
    EXPECT_EQ(health->status, 200) << health->body;

    chfleet::process::signalIfRunning(pid, statePath(), SIGTERM);
    EXPECT_TRUE(waitUntil([&] { return !chfleet::process::isRunning(pid, statePath()); }))
        << "the daemon ignored SIGTERM";
    chfleet::process::signalIfRunning(pid, statePath(), SIGKILL);
    auto log = chfleet::files::read(state_dir_ + "/daemon.log");
    EXPECT_NE(log.find("stopping: signal received"), std::string::npos) << log;
    EXPECT_NE(log.find("stopped"), std::string::npos) << log;
    EXPECT_NE(log.find("cycle finished in "), std::string::npos) << log;
    EXPECT_EQ(contents(kDr), contents(kPrimary));
}

}  // namespace

namespace {

TEST_F(SyncPair, PartitionsPastRetentionAreNeverCopiedBack) {
    // http_telemetry keeps 30 days: a 40-day-old partition only the primary still has stays there.
    ch::execute(*fleet().connect(kPrimary),
                "INSERT INTO " + kTable +
                    " SELECT toDateTime(today() - 40) + number, 'old', 'vs', '10.0.0.1', 200, 1 "
                    "FROM system.numbers LIMIT 100");
    insertRows(kPrimary, 200, 16);
    auto run = sync({"run", "--once", "--active", "primary"});
    EXPECT_EQ(run.exit_code, 0) << run.output;
    EXPECT_EQ(fleet().scalar(kDr, "SELECT count() FROM " + kTable + " WHERE device = 'old'"), "0");
    EXPECT_EQ(fleet().scalar(kDr, "SELECT count() FROM " + kTable), "200");
}

TEST_F(SyncPair, AnExistingChSyncEnvironmentWorksUnchanged) {
    insertRows(kPrimary, 700, 17);
    const auto& primary = *fleet().fleet().node(kPrimary);
    const auto& dr = *fleet().fleet().node(kDr);
    auto password = fleet().sandbox().password();
    // The DR site's CH-Sync .env, as CH-Sync's setup.sh writes it; the password comes from the environment.
    std::string env_file = state_dir_ + "/.env";
    chfleet::files::writeAtomically(
        env_file, fmt::format("# CH-Sync on the DR site\nROLE=dr\n"
                              "LOCAL_CH_URL=http://127.0.0.1:{}\n"
                              "REMOTE_CH_URL=http://127.0.0.1:{}\n"
                              "REMOTE_CH_HOST=127.0.0.1\nREMOTE_CH_PORT={}\n"
                              "LOCAL_CH_USER=chfleet\nREMOTE_CH_USER=chfleet\n"
                              "STATE_FILE={}\nCHSYNC_ACTIVE=primary\nLOG_LEVEL=INFO\n",
                              dr.http_port, primary.http_port, primary.tcp_port, statePath()));
    auto run = chfleet::process::run({CHFLEET_BINARY, "sync", "run", "--once", "--env-file", env_file},
                                     {{"LOCAL_CH_PASSWORD", password}, {"REMOTE_CH_PASSWORD", password}}, {},
                                     chfleet::testing::TestFleet::kChfleetTimeout);
    EXPECT_EQ(run.exit_code, 0) << run.output;
    EXPECT_EQ(run.output.find(password), std::string::npos) << "a password was printed";
    EXPECT_EQ(chfleet::files::read(statePath()).find(password), std::string::npos)
        << "a password in the state";
    EXPECT_EQ(contents(kDr), contents(kPrimary));
    auto status = chfleet::process::run({CHFLEET_BINARY, "sync", "status", "--env-file", env_file, "--json"},
                                        {}, {}, chfleet::testing::TestFleet::kChfleetTimeout);
    EXPECT_EQ(status.exit_code, 0) << status.output;
    EXPECT_EQ(nlohmann::json::parse(status.output)["rows_synced"].get<int>(), 700);
}

}  // namespace

namespace {

TEST_F(SyncPair, ColumnsNamedLikeInternalAliasesAreComparedAndCopiedRight) {
    // ClickHouse aliases shadow columns of the same name: chfleet's own aliases must never meet a user's
    // column.
    for (const auto& node : {kPrimary, kDr}) {
        ch::execute(
            *fleet().connect(node),
            "CREATE TABLE telemetry.short_names (d Date, p String, c UInt64, h UInt64, s String, t String, "
            "n UInt8) ENGINE = MergeTree PARTITION BY d ORDER BY c");
    }
    auto primary = fleet().connect(kPrimary);
    ch::execute(*primary,
                "INSERT INTO telemetry.short_names SELECT today() - number % 2, 'p', number, number * 3, "
                "'s', 't', 1 FROM system.numbers LIMIT 1000");
    ch::execute(*fleet().connect(kDr),
                "INSERT INTO telemetry.short_names SELECT today(), 'p', 1, 1, 's', 't', 2 "
                "FROM system.numbers LIMIT 1");
    auto run = sync({"run", "--once", "--active", "primary", "--policy", "mirror"});
    EXPECT_EQ(run.exit_code, 0) << run.output;
    auto sums = [&](const std::string& node) {
        return fleet().scalar(node,
                              "SELECT concat(toString(count()), '/', toString(sum(cityHash64(d, p, c, h, s, "
                              "t, n)))) FROM telemetry.short_names");
    };
    EXPECT_EQ(sums(kDr), sums(kPrimary));
    EXPECT_EQ(sync({"check", "--active", "primary"}).exit_code, 0);
}

/// Queries a node started, by its own count.
uint64_t queriesStarted(const std::string& node) {
    return std::stoull(fleet().scalar(node, "SELECT value FROM system.events WHERE event = 'Query'"));
}

TEST_F(SyncPair, AStatelessCheckCostsTheSameQueriesAt200TablesAsAt20) {
    auto tables_on_both = [](int from, int to) {
        for (const auto& node : {kPrimary, kDr}) {
            auto connection = fleet().connect(node);
            for (int t = from; t <= to; ++t) {
                auto name = fmt::format("telemetry.many_{}", t);
                ch::execute(*connection, "CREATE TABLE " + name +
                                             " (d Date, k UInt64, v String) ENGINE = MergeTree "
                                             "PARTITION BY d ORDER BY k");
                ch::execute(*connection, fmt::format("INSERT INTO {} SELECT today() - number % 3, number, "
                                                     "toString(number * {}) FROM system.numbers LIMIT 30",
                                                     name, t));
            }
        }
    };
    // One row differs in one table: found among all the others, whatever their number.
    auto cost_of_check = [&](int expected_tables) {
        auto primary_before = queriesStarted(kPrimary);
        auto dr_before = queriesStarted(kDr);
        auto check = sync({"check", "--active", "primary", "--json"});  // no state file: every checksum
        EXPECT_EQ(check.exit_code, 3) << check.output;
        auto report = nlohmann::json::parse(check.output.substr(check.output.find('{')));
        EXPECT_EQ(report["tables_checked"].get<int>(), expected_tables) << check.output;
        EXPECT_EQ(report["differences"].size(), 2u) << check.output;
        // Each reading of the counter counts itself once.
        uint64_t primary = queriesStarted(kPrimary) - primary_before - 1;
        uint64_t dr = queriesStarted(kDr) - dr_before - 1;
        EXPECT_EQ(report["queries_per_site"]["primary"].get<uint64_t>(), primary);
        EXPECT_EQ(report["queries_per_site"]["dr"].get<uint64_t>(), dr);
        return std::pair{primary, dr};
    };
    insertRows(kPrimary, 500, 20);
    insertRows(kDr, 500, 20);
    tables_on_both(1, 19);
    ch::execute(*fleet().connect(kDr), "INSERT INTO telemetry.many_7 VALUES (today(), 1000, 'only on dr')");
    ASSERT_FALSE(std::filesystem::exists(statePath()));
    auto at_20 = cost_of_check(20);
    tables_on_both(20, 199);
    auto at_200 = cost_of_check(200);
    EXPECT_EQ(at_200, at_20);
    // Inventory (tables, parts), then columns and checksums: four statements per site.
    EXPECT_EQ(at_20.first, 4u);
    EXPECT_EQ(at_20.second, 4u);
}

/// Sends SIGSTOP to a sandbox server (a frozen host) and SIGCONT when it goes out of scope, whatever happens.
class FrozenServer {
  public:
    explicit FrozenServer(const std::string& node) {
        for (const auto& status : fleet().sandbox().status()) {
            if (status.record.name == node) {
                pid_ = status.record.pid;
            }
        }
        if (pid_ > 0) {
            ::kill(pid_, SIGSTOP);
        }
    }
    ~FrozenServer() {
        if (pid_ > 0) {
            ::kill(pid_, SIGCONT);
        }
    }
    FrozenServer(const FrozenServer&) = delete;
    FrozenServer& operator=(const FrozenServer&) = delete;
    bool frozen() const { return pid_ > 0; }

  private:
    pid_t pid_ = 0;
};

/// An nftables table of the test's own that drops every packet of established connections to one port on
/// loopback: a connection is made, then nothing gets through (a partition after connecting). Deleted when it
/// goes out of scope, whatever happens.
class DroppedConnections {
  public:
    explicit DroppedConnections(uint16_t port) : table_(fmt::format("chfleet_test_{}", ::getpid())) {
        auto nft = [](const std::vector<std::string>& args) {
            std::vector<std::string> argv{"/usr/sbin/nft"};
            argv.insert(argv.end(), args.begin(), args.end());
            return chfleet::process::run(argv);
        };
        created_ = nft({"add", "table", "inet", table_}).exit_code == 0;
        if (!created_) {
            return;
        }
        active_ = nft({"add", "chain", "inet", table_, "out",
                       "{ type filter hook output priority 0 ; policy accept ; }"})
                          .exit_code == 0 &&
                  nft({"add", "rule", "inet", table_, "out", "tcp", "dport", std::to_string(port), "ct",
                       "state", "established", "drop"})
                          .exit_code == 0;
    }
    ~DroppedConnections() {
        if (created_) {
            chfleet::process::run({"/usr/sbin/nft", "delete", "table", "inet", table_});
        }
    }
    DroppedConnections(const DroppedConnections&) = delete;
    DroppedConnections& operator=(const DroppedConnections&) = delete;
    bool active() const { return active_; }

  private:
    std::string table_;
    bool created_ = false;
    bool active_ = false;
};

uint16_t httpPortOf(const std::string& node) {
    return fleet().fleet().node(node)->http_port;
}

/// A check of a pair whose DR stopped answering: reported as unreachable within the stall timeout (5 s here),
/// with the node named, and the exit code `expected_exit` (sync: 1, a failed cycle; query: 6, a timeout).
void expectUnreachableInBoundedTime(const std::function<chfleet::process::Finished()>& check,
                                    int expected_exit = 1) {
    auto start = std::chrono::steady_clock::now();
    auto result = check();
    auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_EQ(result.exit_code, expected_exit) << result.output;
    EXPECT_NE(result.output.find("stopped answering"), std::string::npos) << result.output;
    EXPECT_NE(result.output.find(fmt::format("127.0.0.1:{}", httpPortOf(kDr))), std::string::npos)
        << result.output;
    EXPECT_LT(seconds, 20.0) << result.output;
}

TEST_F(SyncPair, AFrozenServerIsReportedUnreachableInBoundedTime) {
    insertRows(kPrimary, 1000, 21);
    insertRows(kDr, 1000, 21);
    std::map<std::string, std::string> short_stall{{"CHFLEET_STALL_TIMEOUT_MS", "5000"}};
    {
        FrozenServer frozen(kDr);
        ASSERT_TRUE(frozen.frozen());
        expectUnreachableInBoundedTime([&] {
            return sync({"check", "--active", "primary", "--stall-timeout", "5"});
        });
        // Every subcommand talks through the same client.
        expectUnreachableInBoundedTime(
            [&] {
                return chfleet::process::run(
                    {CHFLEET_BINARY, "query", "-f", fleet().fleetPath(), kDr, "SELECT 1"}, short_stall);
            },
            6);
        // Statements under a retry policy (schema apply retries timeouts) are not retried once their server
        // stopped answering: one stall timeout, not one per attempt. The other node is still applied.
        expectUnreachableInBoundedTime([&] {
            return chfleet::process::run(
                {CHFLEET_BINARY, "--stall-timeout", "5", "schema", "apply", "-f", fleet().fleetPath()});
        });
    }
    // The bound is on silence, not on length: a statement that runs longer than the stall timeout on a server
    // that answers is not cut.
    auto slow = chfleet::process::run({CHFLEET_BINARY, "query", "-f", fleet().fleetPath(), kPrimary,
                                       "SELECT count() FROM (SELECT sleepEachRow(0.5) FROM system.numbers "
                                       "LIMIT 16) SETTINGS max_block_size = 1"},
                                      {{"CHFLEET_STALL_TIMEOUT_MS", "2000"}});
    EXPECT_EQ(slow.exit_code, 0) << slow.output;
    EXPECT_NE(slow.output.find("16"), std::string::npos) << slow.output;
    // Thawed, the pair is checked as usual.
    auto check = sync({"check", "--active", "primary"});
    EXPECT_EQ(check.exit_code, 0) << check.output;
    // The freeze outlived the DR's keeper session: the next test writes there once it has a new one.
    EXPECT_TRUE(waitUntil([] {
        return fleet().scalar(
                   kDr, "SELECT count() FROM system.replicas WHERE is_readonly OR is_session_expired") == "0";
    }));
}

TEST_F(SyncPair, AConnectionWhosePacketsAreDroppedIsReportedUnreachableInBoundedTime) {
    insertRows(kPrimary, 1000, 22);
    insertRows(kDr, 1000, 22);
    {
        DroppedConnections dropped(httpPortOf(kDr));
        if (!dropped.active()) {
            GTEST_SKIP() << "nftables is not usable here (needs root and the nft tool)";
        }
        expectUnreachableInBoundedTime([&] {
            return sync({"check", "--active", "primary"}, {{"CHFLEET_STALL_TIMEOUT_MS", "5000"}});
        });
    }
    auto check = sync({"check", "--active", "primary"});
    EXPECT_EQ(check.exit_code, 0) << check.output;
}

}  // namespace
