// chfleet retention on the teei sandbox (examples/teei: primary US 3x2 + EU 2x2, DR US 1x1 + EU 1x1, all
// ClickHouse 18.16, no TTL). Synthetic old rows are written through each region's Distributed table on both
// sites; what stays and what goes is read from every replica's own local table.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "TestFleet.h"
#include "clickhouse/Result.h"
#include "shared/WaitUntil.h"

using chfleet::testing::FleetEnvironment;
namespace ch = chfleet::clickhouse;

namespace {

auto* const environment = ::testing::AddGlobalTestEnvironment(
    new FleetEnvironment("examples/teei/fleet.yaml", chfleet::testing::Schema::Applied));

chfleet::testing::TestFleet& fleet() {
    return FleetEnvironment::fleet();
}

constexpr uint64_t kDay = 86400;

/// `chfleet retention ARGS -f FLEET --state-file STATE --log-level warn`.
chfleet::process::Finished retention(std::vector<std::string> args, const std::string& state) {
    args.insert(args.begin(), "retention");
    args.insert(args.end(), {"-f", fleet().fleetPath(), "--state-file", state, "--log-level", "warn"});
    return fleet().chfleet(args);
}

nlohmann::json printedJson(const chfleet::process::Finished& finished) {
    size_t begin = finished.output.find("{\n");
    size_t end = finished.output.rfind("\n}");
    if (begin == std::string::npos || end == std::string::npos) {
        ADD_FAILURE() << "no JSON in:\n" << finished.output;
        return nlohmann::json::object();
    }
    return nlohmann::json::parse(finished.output.substr(begin, end + 2 - begin));
}

const nlohmann::json& entry(const nlohmann::json& report, const std::string& site, const std::string& region,
                            const std::string& table) {
    for (const auto& item : report.at("tables")) {
        if (item.at("site") == site && item.at("region") == region && item.at("table") == table) {
            return item;
        }
    }
    throw std::runtime_error("no entry " + site + "/" + region + "/" + table);
}

/// Every node of the fleet, with its region's alias.
std::vector<std::pair<std::string, std::string>> nodesWithAlias() {
    std::vector<std::pair<std::string, std::string>> nodes;
    for (const auto& site : fleet().fleet().sites) {
        for (const auto& region : site.regions) {
            for (const auto& node : region.nodes) {
                nodes.emplace_back(node.name, region.alias);
            }
        }
    }
    return nodes;
}

/// The first node of each region of each site, with its region's alias: where the test writes.
std::vector<std::pair<std::string, std::string>> writers() {
    std::vector<std::pair<std::string, std::string>> nodes;
    for (const auto& site : fleet().fleet().sites) {
        for (const auto& region : site.regions) {
            nodes.emplace_back(region.nodes.front().name, region.alias);
        }
    }
    return nodes;
}

uint64_t count(const std::string& node, const std::string& from_where) {
    return std::stoull(fleet().scalar(node, "SELECT count() FROM teei." + from_where));
}

/// Every node's active parts of the tables with a retention: name and rows, one text per node.
std::map<std::string, std::string> partsEverywhere() {
    std::map<std::string, std::string> parts;
    for (const auto& [node, alias] : nodesWithAlias()) {
        parts[node] =
            fleet().scalar(node,
                           "SELECT toString(groupArray((table, name, rows))) FROM (SELECT table, name, "
                           "rows FROM system.parts WHERE active AND database = 'teei' ORDER BY table, "
                           "name)");
    }
    return parts;
}

void insert(const std::string& node, const std::string& sql) {
    auto connection = fleet().connect(node);
    ch::execute(*connection, sql, {{"insert_distributed_sync", "1"}});
}

// The seed's policies on synthetic rows: US aggregates 3 years old are kept, EU aggregates 3 years old are
// dropped, raw events 100 days old are dropped everywhere, and an events partition with rows on both sides of
// the 90-day horizon is kept (until --trim removes its expired rows). Dry runs change nothing. A sync from a
// site that still holds expired partitions never copies them back.
TEST(Retention, SeedPoliciesOnBothSites) {
    std::string state = fleet().sandbox().dir() + "/retention-state.json";
    std::string node0 = writers().front().first;
    uint64_t now = std::stoull(fleet().scalar(node0, "SELECT toUInt32(now())"));
    uint64_t three_years = now - 3 * 365 * kDay;
    uint64_t recent = now - 2 * kDay;
    // The month the 90-day horizon falls in, on the servers' clock: one row halfway between its start and the
    // horizon (past), one halfway between the horizon and its end (inside the policy for days or at least
    // half an hour).
    uint64_t horizon = now - 90 * kDay;
    uint64_t month_start = std::stoull(fleet().scalar(
        node0, "SELECT toUInt32(toDateTime(toStartOfMonth(toDateTime(" + std::to_string(horizon) + "))))"));
    uint64_t month_end =
        std::stoull(fleet().scalar(node0, "SELECT toUInt32(toDateTime(addMonths(toStartOfMonth(toDateTime(" +
                                              std::to_string(horizon) + ")), 1)))"));
    uint64_t straddle_old = (month_start + horizon) / 2;
    uint64_t straddle_new = (horizon + month_end) / 2;
    // Raw events 100 days old, or older when that day still lies in the horizon's month (then its partition
    // straddles the horizon and is rightly kept): the day before that month.
    uint64_t hundred_days = std::min(now - 100 * kDay, month_start - kDay);

    const int kCompanies = 12;  // spread over every shard of each region
    for (const auto& [node, alias] : writers()) {
        std::string companies =
            "concat('" + alias + "-', toString(number % " + std::to_string(kCompanies) + "))";
        insert(node, "INSERT INTO teei.metrics_company_period_" + alias +
                         "_distributed (company_id, metric_name, created_at) SELECT " + companies +
                         ", concat('old-', toString(number)), toDateTime(" + std::to_string(three_years) +
                         ") FROM system.numbers LIMIT 24");
        insert(node, "INSERT INTO teei.metrics_company_period_" + alias +
                         "_distributed (company_id, metric_name, created_at) SELECT " + companies +
                         ", concat('new-', toString(number)), toDateTime(" + std::to_string(recent) +
                         ") FROM system.numbers LIMIT 24");
        insert(node, "INSERT INTO teei.events_" + alias +
                         "_distributed (company_id, event_type, timestamp) SELECT " + companies +
                         ", 'old', toDateTime(" + std::to_string(hundred_days) +
                         " + number) FROM system.numbers "
                         "LIMIT 36");
        insert(node,
               "INSERT INTO teei.events_" + alias +
                   "_distributed (company_id, event_type, timestamp) SELECT " + companies +
                   ", if(number % 2 = 0, 'straddle-old', 'straddle-new'), toDateTime(if(number % 2 = 0, " +
                   std::to_string(straddle_old) + ", " + std::to_string(straddle_new) +
                   ")) FROM system.numbers LIMIT 48");
        insert(node, "INSERT INTO teei.events_" + alias +
                         "_distributed (company_id, event_type, timestamp) SELECT " + companies +
                         ", 'recent', toDateTime(" + std::to_string(recent) +
                         ") FROM system.numbers LIMIT 24");
        // Events three years old: gone with their partition, and the daily aggregates the view made of them
        // (730 days in the EU, 2555 in the US) go in the EU only.
        insert(node, "INSERT INTO teei.events_" + alias +
                         "_distributed (company_id, event_type, timestamp) SELECT " + companies +
                         ", 'ancient', toDateTime(" + std::to_string(three_years) +
                         ") FROM system.numbers LIMIT 24");
    }
    // Every replica holds its shard's rows before anything is judged.
    for (const auto& [node, alias] : nodesWithAlias()) {
        auto connection = fleet().connect(node);
        for (const char* table :
             {"events_local", "metrics_company_period_local", "`.inner.mv_daily_company_metrics_local`"}) {
            ch::execute(*connection, std::string("SYSTEM SYNC REPLICA teei.") + table);
        }
    }

    // Status before any run: the 100-day-old events have been expired for ten days (beyond the default
    // one-day grace): stalled, exit 1.
    auto before = retention({"status", "--json"}, state);
    EXPECT_EQ(before.exit_code, 1) << before.output;
    auto before_report = printedJson(before);
    EXPECT_TRUE(entry(before_report, "primary", "eu-central-1", "events").at("stalled")) << before.output;
    EXPECT_EQ(entry(before_report, "primary", "us-east-1", "metrics_company_period").at("expired"), 0);
    EXPECT_TRUE(entry(before_report, "primary", "us-east-1", "events").at("last_run").is_null());

    // Dry run: reports the drops, changes no part anywhere, records no run.
    auto parts_before = partsEverywhere();
    auto dry = retention({"run", "--dry-run", "--json"}, state);
    ASSERT_EQ(dry.exit_code, 0) << dry.output;
    auto dry_report = printedJson(dry);
    EXPECT_GE(entry(dry_report, "primary", "eu-central-1", "metrics_company_period").at("expired"), 1)
        << dry.output;
    EXPECT_EQ(entry(dry_report, "dr", "us-east-1", "metrics_company_period").at("expired"), 0);
    EXPECT_EQ(partsEverywhere(), parts_before);
    EXPECT_FALSE(std::filesystem::exists(state));

    // The primary alone: its expired partitions go; the DR still has its own. A sync from the DR as the
    // active site must not bring them back.
    auto primary = retention({"run", "--site", "primary", "--json"}, state);
    ASSERT_EQ(primary.exit_code, 0) << primary.output;
    auto sync = fleet().chfleet({"sync", "run", "--once", "-f", fleet().fleetPath(), "--active", "dr",
                                 "--state-file", fleet().sandbox().dir() + "/sync-state.json"});
    EXPECT_EQ(
        count("clickhouse-eu-0", "metrics_company_period_eu_distributed WHERE metric_name LIKE 'old-%'"), 0u)
        << sync.output;
    EXPECT_EQ(count("clickhouse-us-0", "events_us_distributed WHERE event_type = 'old'"), 0u) << sync.output;
    EXPECT_EQ(count("dr-eu-0", "metrics_company_period_local WHERE metric_name LIKE 'old-%'"), 24u);

    auto run = retention({"run", "--json"}, state);
    ASSERT_EQ(run.exit_code, 0) << run.output;
    auto run_report = printedJson(run);
    EXPECT_GE(entry(run_report, "dr", "eu-central-1", "metrics_company_period").at("dropped"), 1)
        << run.output;
    EXPECT_GE(entry(run_report, "primary", "us-east-1", "events").at("straddling"), 1) << run.output;

    // What every replica holds now.
    for (const auto& [node, alias] : nodesWithAlias()) {
        SCOPED_TRACE(node);
        EXPECT_EQ(count(node, "events_local WHERE event_type IN ('old', 'ancient')"), 0u);
        if (alias == "eu") {
            EXPECT_EQ(count(node, "metrics_company_period_local WHERE metric_name LIKE 'old-%'"), 0u);
        }
    }
    for (const auto& [node, alias] : writers()) {
        SCOPED_TRACE(node);
        EXPECT_EQ(count(node, "events_" + alias + "_distributed WHERE event_type LIKE 'straddle-%'"), 48u);
        EXPECT_EQ(count(node, "events_" + alias + "_distributed WHERE event_type = 'recent'"), 24u);
        EXPECT_EQ(
            count(node, "metrics_company_period_" + alias + "_distributed WHERE metric_name LIKE 'new-%'"),
            24u);
        EXPECT_EQ(
            count(node, "metrics_company_period_" + alias + "_distributed WHERE metric_name LIKE 'old-%'"),
            alias == "us" ? 24u : 0u);
        EXPECT_EQ(
            count(node, "mv_daily_company_metrics_" + alias + "_distributed WHERE metric_name = 'ancient'"),
            alias == "us" ? uint64_t{kCompanies} : 0u);
    }
    // The replicas of each shard agree (the drop was confirmed on each).
    for (const auto& site : fleet().fleet().sites) {
        for (const auto& region : site.regions) {
            for (int shard = 1; shard <= region.shards; ++shard) {
                for (int replica = 2; replica <= region.replicas; ++replica) {
                    EXPECT_EQ(count(region.node(shard, replica)->name, "metrics_company_period_local"),
                              count(region.node(shard, 1)->name, "metrics_company_period_local"));
                    EXPECT_EQ(count(region.node(shard, replica)->name, "events_local"),
                              count(region.node(shard, 1)->name, "events_local"));
                }
            }
        }
    }

    // Status after the run: nothing stalled, the run recorded.
    auto after = retention({"status", "--json"}, state);
    EXPECT_EQ(after.exit_code, 0) << after.output;
    auto after_report = printedJson(after);
    const auto& eu_events = entry(after_report, "primary", "eu-central-1", "events");
    EXPECT_FALSE(eu_events.at("stalled"));
    EXPECT_FALSE(eu_events.at("last_run").is_null());
    EXPECT_EQ(eu_events.at("expired"), 0);
    EXPECT_GE(eu_events.at("straddling"), 1);

    // --trim: the straddling partitions' expired rows go (a mutation per shard), the rest stays.
    auto trim = retention({"run", "--trim"}, state);
    ASSERT_EQ(trim.exit_code, 0) << trim.output;
    for (const auto& [node, alias] : nodesWithAlias()) {
        SCOPED_TRACE(node);
        EXPECT_EQ(
            chfleet::testing::eventually(
                [&, n = node] { return count(n, "events_local WHERE event_type = 'straddle-old'"); }, 0u),
            0u);
    }
    for (const auto& [node, alias] : writers()) {
        EXPECT_EQ(count(node, "events_" + alias + "_distributed WHERE event_type = 'straddle-new'"), 24u);
    }
}

// A shard with a replica down is left alone (the replica may hold rows the others have not fetched): its
// expired partitions stay, the run exits 1 naming it, and the other shards of the region are still cleaned.
TEST(Retention, AShardWithAReplicaDownIsLeftAlone) {
    std::string state = fleet().sandbox().dir() + "/retention-state-down.json";
    const auto& eu = *fleet().fleet().site("primary")->region("eu-central-1");
    const std::string down = eu.node(1, 2)->name;
    const std::string shard1 = eu.node(1, 1)->name;
    const std::string shard2 = eu.node(2, 1)->name;
    uint64_t now = std::stoull(fleet().scalar(shard1, "SELECT toUInt32(now())"));
    insert(shard1,
           "INSERT INTO teei.metrics_company_period_eu_distributed (company_id, metric_name, created_at) "
           "SELECT concat('eu-down-', toString(number % 12)), concat('down-', toString(number)), "
           "toDateTime(" +
               std::to_string(now - 3 * 365 * kDay) + ") FROM system.numbers LIMIT 24");
    for (int shard = 1; shard <= eu.shards; ++shard) {
        for (int replica = 1; replica <= eu.replicas; ++replica) {
            auto connection = fleet().connect(eu.node(shard, replica)->name);
            ch::execute(*connection, "SYSTEM SYNC REPLICA teei.metrics_company_period_local");
        }
    }
    uint64_t on_shard1 = count(shard1, "metrics_company_period_local WHERE metric_name LIKE 'down-%'");
    ASSERT_GT(on_shard1, 0u);
    ASSERT_GT(count(shard2, "metrics_company_period_local WHERE metric_name LIKE 'down-%'"), 0u);

    struct RestartOnExit {
        std::string node;
        ~RestartOnExit() {
            try {
                fleet().sandbox().start(node);
            } catch (const std::exception& e) {
                ADD_FAILURE() << "could not restart " << node << ": " << e.what();
            }
        }
    };
    {
        RestartOnExit restart{down};
        fleet().sandbox().kill(down);
        auto run = retention({"run", "--site", "primary", "--json"}, state);
        EXPECT_EQ(run.exit_code, 1) << run.output;
        auto report = printedJson(run);
        const auto& errors = entry(report, "primary", "eu-central-1", "metrics_company_period").at("errors");
        ASSERT_EQ(errors.size(), 1u) << run.output;
        EXPECT_EQ(errors[0],
                  "shard 1 of eu-central-1: a replica did not answer; nothing changed on this shard");
        EXPECT_EQ(count(shard1, "metrics_company_period_local WHERE metric_name LIKE 'down-%'"), on_shard1);
        EXPECT_EQ(count(shard2, "metrics_company_period_local WHERE metric_name LIKE 'down-%'"), 0u);
    }
    // Back up: the next run finishes the job.
    auto again = retention({"run", "--site", "primary"}, state);
    EXPECT_EQ(again.exit_code, 0) << again.output;
    for (int replica = 1; replica <= eu.replicas; ++replica) {
        EXPECT_EQ(
            count(eu.node(1, replica)->name, "metrics_company_period_local WHERE metric_name LIKE 'down-%'"),
            0u);
    }
}

}  // namespace
