// chfleet sync between a sharded primary and a differently sharded DR: examples/teei (primary US 3x2 + EU
// 2x2, DR US 1x1 + EU 1x1). Rows are compared per destination shard and repaired onto the shard the table's
// sharding key names, on every site, through the peer site's cluster defined in each server's config.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "TestFleet.h"
#include "clickhouse/Result.h"
#include "shared/WaitUntil.h"

using chfleet::testing::FleetEnvironment;
namespace ch = chfleet::clickhouse;

namespace {

/// The teei sandbox with its schema applied, shared by every test of this binary.
auto* const environment = ::testing::AddGlobalTestEnvironment(
    new FleetEnvironment("examples/teei/fleet.yaml", chfleet::testing::Schema::Applied));

chfleet::testing::TestFleet& fleet() {
    return FleetEnvironment::fleet();
}

/// count/checksum of a region's events as the site's regional Distributed table sees them.
std::string regionContents(const std::string& node, const std::string& alias) {
    return fleet().scalar(node,
                          "SELECT concat(toString(count()), '/', toString(sum(cityHash64(toString(event_id), "
                          "company_id, user_id, event_type, region, timestamp, payload))))"
                          " FROM teei.events_" +
                              alias + "_distributed");
}

void writeEvents(const std::string& node, const std::string& alias, const std::string& prefix, int count) {
    auto connection = fleet().connect(node);
    ch::execute(
        *connection,
        "INSERT INTO teei.events_" + alias +
            "_distributed (company_id, timestamp, event_type) SELECT concat('" + prefix +
            "-', toString(number % 37)), now() - number * 60, 'page_view' FROM system.numbers LIMIT " +
            std::to_string(count),
        {{"insert_distributed_sync", "1"}});
}

/// `chfleet sync ARGS` with a state file of the running test's own.
chfleet::process::Finished sync(std::vector<std::string> args) {
    std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    args.insert(args.begin(), "sync");
    args.insert(args.end(), {"-f", fleet().fleetPath(), "--state-file",
                             fleet().sandbox().dir() + "/sync-state-" + test + ".json"});
    return fleet().chfleet(args);
}

/// Queries the servers of `site` started, by their own count (system.events 'Query'), summed over its nodes.
uint64_t queriesStarted(const std::string& site) {
    uint64_t total = 0;
    for (const auto* node : fleet().fleet().site(site)->nodes()) {
        total +=
            std::stoull(fleet().scalar(node->name, "SELECT value FROM system.events WHERE event = 'Query'"));
    }
    return total;
}

TEST(SyncSharded, PrimaryToSingleShardDrAndBackOntoTheRightShards) {
    writeEvents("clickhouse-us-0", "us", "us", 3000);
    writeEvents("clickhouse-eu-0", "eu", "eu", 2000);

    auto check = sync({"check", "--active", "primary", "--json"});
    EXPECT_EQ(check.exit_code, 3) << check.output;
    auto run = sync({"run", "--once", "--active", "primary"});
    ASSERT_EQ(run.exit_code, 0) << run.output;
    EXPECT_EQ(regionContents("dr-us-0", "us"), regionContents("clickhouse-us-0", "us"));
    EXPECT_EQ(regionContents("dr-eu-0", "eu"), regionContents("clickhouse-eu-0", "eu"));
    EXPECT_EQ(fleet().scalar("dr-us-0", "SELECT count() FROM teei.events_local WHERE company_id LIKE 'eu-%'"),
              "0")
        << "EU rows on the DR's US server";

    // Failover: the DR takes writes, then the primary gets them back, each row on the shard its key names.
    writeEvents("dr-us-0", "us", "failover", 1200);
    auto back = sync({"run", "--once", "--active", "dr"});
    ASSERT_EQ(back.exit_code, 0) << back.output;
    EXPECT_EQ(regionContents("clickhouse-us-0", "us"), regionContents("dr-us-0", "us"));
    for (int shard = 1; shard <= 3; ++shard) {
        for (int replica = 0; replica < 2; ++replica) {
            std::string node = "clickhouse-us-" + std::to_string((shard - 1) * 2 + replica);
            auto connection = fleet().connect(node);
            ch::execute(*connection, "SYSTEM SYNC REPLICA teei.events_local");
            auto counts =
                ch::query(*connection, "SELECT count() AS total, countIf(cityHash64(company_id) % 3 + 1 != " +
                                           std::to_string(shard) +
                                           ") AS misplaced FROM teei.events_local WHERE company_id LIKE "
                                           "'failover-%'");
            EXPECT_GT(counts.getUInt64(0, "total"), 0u) << node;
            EXPECT_EQ(counts.getUInt64(0, "misplaced"), 0u) << node;
        }
    }
    auto clean = sync({"check", "--active", "dr"});
    EXPECT_EQ(clean.exit_code, 0) << clean.output;
}

TEST(SyncSharded, ACleanCycleCostsAConstantNumberOfQueriesPerSite) {
    writeEvents("clickhouse-us-0", "us", "cost", 500);
    // Whatever ran before: the sites are brought level, then a check finds them clean.
    auto level = sync({"run", "--once", "--active", "primary"});
    ASSERT_EQ(level.exit_code, 0) << level.output;
    auto first = sync({"check", "--active", "primary", "--json"});
    ASSERT_EQ(first.exit_code, 0) << first.output;
    // The second run reuses nothing from the first (check does not write state), so both cost the same: two
    // inventory queries per shard, plus checksums of the partitions not yet verified.
    auto run = sync({"run", "--once", "--active", "primary", "--json"});
    ASSERT_EQ(run.exit_code, 0) << run.output;
    // The servers count what the cycle cost them. Each reading of a node's counter counts itself: one per
    // node before (already in the first total) and one per node after.
    auto primary_before = queriesStarted("primary");
    auto dr_before = queriesStarted("dr");
    auto again = sync({"run", "--once", "--active", "primary", "--json"});
    ASSERT_EQ(again.exit_code, 0) << again.output;
    // Before the cycle, one query per site reads the erasure ledger (sync completes erasures first).
    uint64_t primary_cost =
        queriesStarted("primary") - primary_before - fleet().fleet().site("primary")->nodes().size() - 1;
    uint64_t dr_cost = queriesStarted("dr") - dr_before - fleet().fleet().site("dr")->nodes().size() - 1;
    // Verified partitions: no checksum queries at all; 2 per shard (primary 5 shards, DR 2).
    EXPECT_EQ(primary_cost, 10u) << again.output;
    EXPECT_EQ(dr_cost, 4u) << again.output;
    auto report = nlohmann::json::parse(again.output.substr(again.output.find('{')));
    EXPECT_EQ(report["queries_per_site"]["primary"].get<uint64_t>(), primary_cost) << again.output;
    EXPECT_EQ(report["queries_per_site"]["dr"].get<uint64_t>(), dr_cost) << again.output;
}

TEST(SyncSharded, AFrozenReplicaIsPassedOverAndTheRestOfTheFleetIsRepaired) {
    writeEvents("clickhouse-eu-0", "eu", "frozen", 800);
    pid_t pid = 0;
    for (const auto& status : fleet().sandbox().status()) {
        if (status.record.name == "clickhouse-us-0") {
            pid = status.record.pid;
        }
    }
    ASSERT_GT(pid, 0);
    // SIGSTOP: a frozen host (the first replica of the US site's first shard, the one asked first); SIGCONT
    // whatever happens.
    struct Thaw {
        pid_t pid;
        ~Thaw() { ::kill(pid, SIGCONT); }
    } thaw{pid};
    ASSERT_EQ(::kill(pid, SIGSTOP), 0);
    std::vector<std::string> args{"sync",
                                  "run",
                                  "--once",
                                  "--active",
                                  "primary",
                                  "-f",
                                  fleet().fleetPath(),
                                  "--state-file",
                                  fleet().sandbox().dir() + "/sync-state-frozen.json",
                                  "--stall-timeout",
                                  "5"};
    args.insert(args.begin(), CHFLEET_BINARY);
    auto start = std::chrono::steady_clock::now();
    auto run = chfleet::process::run(args);
    auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_EQ(run.exit_code, 0) << run.output;
    EXPECT_LT(seconds, 60.0) << run.output;
    EXPECT_EQ(regionContents("dr-eu-0", "eu"), regionContents("clickhouse-eu-0", "eu"));
    ::kill(pid, SIGCONT);
    // The freeze may have outlived the replica's keeper session: the next test writes there once it has a
    // new one.
    EXPECT_TRUE(chfleet::testing::waitUntil([] {
        return fleet().scalar(
                   "clickhouse-us-0",
                   "SELECT count() FROM system.replicas WHERE is_readonly OR is_session_expired") == "0";
    }));
}

}  // namespace
