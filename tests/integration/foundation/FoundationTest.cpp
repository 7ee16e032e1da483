// The foundation on the real sandbox of examples/teei: 12 clickhouse-server 18.16 processes and 2 ZooKeepers.
// The environment applies the schema once; every test stands alone on the shared fleet and leaves it as it
// found it.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "TestFleet.h"
#include "clickhouse/CityHash.h"
#include "clickhouse/Quoting.h"
#include "clickhouse/Result.h"
#include "common/Exception.h"

using chfleet::testing::FleetEnvironment;
namespace ch = chfleet::clickhouse;

namespace {

/// The teei sandbox with its schema applied, shared by every test of this binary.
auto* const environment = ::testing::AddGlobalTestEnvironment(
    new FleetEnvironment("examples/teei/fleet.yaml", chfleet::testing::Schema::Applied));

chfleet::testing::TestFleet& fleet() {
    return FleetEnvironment::fleet();
}

/// TabSeparated rows of (company_id, timestamp, event_type) for `count` events of `companies` companies.
std::string eventRows(const std::string& prefix, int companies, int count) {
    std::string body;
    for (int i = 0; i < count; ++i) {
        body += prefix + "-company-" + std::to_string(i % companies) + "\t2026-11-0" +
                std::to_string(1 + i % 9) + " 10:00:00\tpage_view\n";
    }
    return body;
}

void insertEvents(const std::string& node, const std::string& table, const std::string& rows) {
    auto connection = fleet().connect(node);
    connection->execute(
        "INSERT INTO teei." + table + " (company_id, timestamp, event_type) FORMAT TabSeparated", rows,
        {{"insert_distributed_sync", "1"}});
}

}  // namespace

TEST(Foundation, EveryNodeRunsWithItsRenderedConfig) {
    for (const auto& status : fleet().sandbox().status()) {
        EXPECT_TRUE(status.alive) << status.record.name;
    }
    for (const auto* node : fleet().fleet().nodes()) {
        auto macros =
            ch::query(*fleet().connect(node->name), "SELECT macro, substitution FROM system.macros");
        std::map<std::string, std::string> values;
        for (size_t row = 0; row < macros.rowCount(); ++row) {
            values[macros.getString(row, "macro")] = macros.getString(row, "substitution");
        }
        EXPECT_EQ(values["region"], node->region) << node->name;
        EXPECT_EQ(values["shard"], std::to_string(node->shard)) << node->name;
        EXPECT_EQ(values["replica"], node->name) << node->name;
    }
}

TEST(Foundation, SystemClustersShowTheThreeClusters) {
    auto clusters =
        ch::query(*fleet().connect("clickhouse-us-0"),
                  "SELECT cluster, uniqExact(shard_num) AS shards, count() AS replicas "
                  "FROM system.clusters WHERE cluster LIKE 'teei_%' GROUP BY cluster ORDER BY cluster");
    std::map<std::string, std::pair<uint64_t, uint64_t>> seen;
    for (size_t row = 0; row < clusters.rowCount(); ++row) {
        seen[clusters.getString(row, "cluster")] = {clusters.getUInt64(row, "shards"),
                                                    clusters.getUInt64(row, "replicas")};
    }
    EXPECT_EQ(seen["teei_us_cluster"], std::make_pair(uint64_t{3}, uint64_t{6}));
    EXPECT_EQ(seen["teei_eu_cluster"], std::make_pair(uint64_t{2}, uint64_t{4}));
    EXPECT_EQ(seen["teei_global_cluster"], std::make_pair(uint64_t{5}, uint64_t{10}));
    // The DR site's own three clusters, plus the primary's regional clusters (sync reads the peer site
    // through them) but not the primary's global cluster.
    auto dr =
        ch::query(*fleet().connect("dr-eu-0"),
                  "SELECT cluster, uniqExact(shard_num) AS shards FROM system.clusters WHERE cluster LIKE "
                  "'teei_%' GROUP BY cluster ORDER BY cluster");
    std::map<std::string, uint64_t> dr_clusters;
    for (size_t row = 0; row < dr.rowCount(); ++row) {
        dr_clusters[dr.getString(row, "cluster")] = dr.getUInt64(row, "shards");
    }
    EXPECT_EQ(dr_clusters, (std::map<std::string, uint64_t>{{"teei_dr_eu_cluster", 1},
                                                            {"teei_dr_global_cluster", 2},
                                                            {"teei_dr_us_cluster", 1},
                                                            {"teei_eu_cluster", 2},
                                                            {"teei_us_cluster", 3}}));
}

TEST(Foundation, SchemaApplyTwiceIsANoOpTheSecondTime) {
    const auto& first = FleetEnvironment::schemaApply();  // on the fresh fleet, before any test
    ASSERT_EQ(first.exit_code, 0) << first.output;
    auto first_json = nlohmann::json::parse(first.output.substr(first.output.find('{')));
    EXPECT_GT(first_json["created"].get<int>(), 100);
    EXPECT_EQ(first_json["failed_nodes"].get<int>(), 0);
    // What it reports created is there: every primary node has the tables and views of its region.
    for (const auto* node : fleet().fleet().site("primary")->nodes()) {
        std::string alias = node->region == "us-east-1" ? "us" : "eu";
        EXPECT_EQ(fleet().scalar(node->name,
                                 "SELECT count() FROM system.tables WHERE database = 'teei' AND name IN "
                                 "('events_local', 'events_distributed', 'events_" +
                                     alias + "_distributed', 'mv_daily_company_metrics_local')"),
                  "4")
            << node->name;
    }

    auto second = fleet().chfleet({"schema", "apply", "-f", fleet().fleetPath()});
    ASSERT_EQ(second.exit_code, 0) << second.output;
    EXPECT_NE(second.output.find("nothing to do"), std::string::npos) << second.output;

    auto diff = fleet().chfleet({"schema", "diff", "-f", fleet().fleetPath()});
    EXPECT_EQ(diff.exit_code, 0) << diff.output;
    EXPECT_NE(diff.output.find("no drift"), std::string::npos) << diff.output;
}

TEST(Foundation, EuRowsLandOnlyOnEuShardsOnTheShardCityHashPicks) {
    insertEvents("clickhouse-eu-0", "events_eu_distributed", eventRows("eu", 40, 400));
    // Every EU row is on the EU shard cityHash64(company_id) % 2 names (the server's own function), on both
    // replicas; no US node holds any of them.
    for (const auto* node : fleet().fleet().nodes()) {
        if (node->site != "primary") {
            continue;
        }
        auto connection = fleet().connect(node->name);
        ch::execute(*connection, "SYSTEM SYNC REPLICA teei.events_local");
        auto counts =
            ch::query(*connection, "SELECT count() AS total, countIf(cityHash64(company_id) % 2 + 1 != " +
                                       std::to_string(node->shard) +
                                       ") AS misplaced FROM teei.events_local WHERE company_id LIKE 'eu-%'");
        if (node->region == "eu-central-1") {
            EXPECT_GT(counts.getUInt64(0, "total"), 0u) << node->name;
            EXPECT_EQ(counts.getUInt64(0, "misplaced"), 0u) << node->name;
        } else {
            EXPECT_EQ(counts.getUInt64(0, "total"), 0u) << node->name << " holds EU rows";
        }
    }
    for (int shard = 1; shard <= 2; ++shard) {
        auto first = fleet().scalar(fmt::format("clickhouse-eu-{}", (shard - 1) * 2),
                                    "SELECT count() FROM teei.events_local WHERE company_id LIKE 'eu-%'");
        auto second = fleet().scalar(fmt::format("clickhouse-eu-{}", (shard - 1) * 2 + 1),
                                     "SELECT count() FROM teei.events_local WHERE company_id LIKE 'eu-%'");
        EXPECT_EQ(first, second) << "replicas of EU shard " << shard << " differ";
    }
    EXPECT_EQ(fleet().scalar("clickhouse-us-0",
                             "SELECT count() FROM teei.events_distributed WHERE company_id LIKE 'eu-%'"),
              "400");
}

TEST(Foundation, AnInsertThroughTheGlobalTableFails) {
    auto connection = fleet().connect("clickhouse-us-0");
    try {
        connection->execute(
            "INSERT INTO teei.events_distributed (company_id, timestamp, event_type) FORMAT "
            "TabSeparated",
            eventRows("global", 3, 3));
        FAIL() << "the insert through the global table was accepted";
    } catch (const chfleet::ServerException& e) {
        EXPECT_NE(std::string(e.what()).find("sharding key"), std::string::npos) << e.what();
    }
    EXPECT_EQ(fleet().scalar("clickhouse-us-0",
                             "SELECT count() FROM teei.events_distributed WHERE company_id LIKE 'global-%'"),
              "0");
}

TEST(Foundation, SchemaDiffFindsAColumnDroppedOnOneReplica) {
    // Replicated ALTERs reach every replica, so the drift is made where it cannot replicate: one node's
    // regional Distributed table is re-created without a column.
    auto connection = fleet().connect("clickhouse-us-1");
    ch::execute(*connection, "DROP TABLE teei.events_us_distributed");
    ch::execute(*connection,
                "CREATE TABLE teei.events_us_distributed AS teei.events_local "
                "ENGINE = Distributed('teei_us_cluster', 'teei', 'events_local', cityHash64(company_id))");
    ch::execute(*connection, "ALTER TABLE teei.events_us_distributed DROP COLUMN event_type");

    auto diff = fleet().chfleet({"schema", "diff", "-f", fleet().fleetPath(), "--json"});
    EXPECT_EQ(diff.exit_code, 1) << diff.output;
    auto report = nlohmann::json::parse(diff.output.substr(diff.output.find('{')));
    EXPECT_TRUE(report["drift"].get<bool>());
    bool against_file = false, against_replica = false;
    for (const auto& finding : report["findings"]) {
        EXPECT_EQ(finding["node"], "clickhouse-us-1") << finding.dump();
        EXPECT_EQ(finding["table"], "events_us_distributed") << finding.dump();
        if (finding["what"] == "column event_type missing") {
            against_file |= finding["against"] == "file";
            against_replica |= finding["against"] == "replica clickhouse-us-0";
        }
    }
    EXPECT_TRUE(against_file) << diff.output;
    EXPECT_TRUE(against_replica) << diff.output;

    // Put it back the way schema apply makes it; the fleet is clean again.
    ch::execute(*connection, "DROP TABLE teei.events_us_distributed");
    auto apply = fleet().chfleet({"schema", "apply", "-f", fleet().fleetPath()});
    EXPECT_EQ(apply.exit_code, 0) << apply.output;
    EXPECT_EQ(fleet().chfleet({"schema", "diff", "-f", fleet().fleetPath()}).exit_code, 0);
}

TEST(Foundation, AKilledReplicaRejoinsAndCatchesUp) {
    struct StartedAgainAtTheEnd {  // whatever fails below, the next test finds every server up
        ~StartedAgainAtTheEnd() {
            for (const auto& status : fleet().sandbox().status()) {
                if (!status.alive) {
                    fleet().sandbox().start(status.record.name);
                }
            }
        }
    } started_again_at_the_end;
    fleet().sandbox().kill("clickhouse-us-3");
    // Rows for shard 2 while its second replica is down: they land on clickhouse-us-2.
    insertEvents("clickhouse-us-2", "events_local", eventRows("us-killed", 7, 700));
    fleet().sandbox().start("clickhouse-us-3");
    auto connection = fleet().connect("clickhouse-us-3");
    ch::execute(*connection, "SYSTEM SYNC REPLICA teei.events_local");
    EXPECT_EQ(
        ch::scalar(*connection, "SELECT count() FROM teei.events_local WHERE company_id LIKE 'us-killed-%'"),
        "700");
    auto status = fleet().chfleet({"sandbox", "status", "--dir", fleet().sandbox().dir(), "--json"});
    ASSERT_EQ(status.exit_code, 0) << status.output;
    auto processes = nlohmann::json::parse(status.output)["processes"];
    for (const auto& process : processes) {
        EXPECT_TRUE(process["alive"].get<bool>()) << process.dump();
        EXPECT_GT(process["rss_bytes"].get<uint64_t>(), 0u) << process.dump();
    }
}

TEST(Foundation, HostileIdentifiersAndValuesRoundTrip) {
    auto connection = fleet().connect("dr-us-0");
    const std::vector<std::string> values = {"plain",
                                             "it's",
                                             "back\\slash",
                                             "`tick`",
                                             "new\nline",
                                             "tab\there",
                                             std::string("nul\0byte", 8),
                                             "'; DROP TABLE teei.events_local; --",
                                             "ünïcødé",
                                             std::string("\xff\xfe invalid utf8"),
                                             ""};
    const std::string database = "hostile `db` 'x'\n";
    const std::string table = "t; DROP TABLE x --";
    ch::execute(*connection, "CREATE DATABASE IF NOT EXISTS " + ch::quoteIdentifier(database));
    ch::execute(*connection, "CREATE TABLE " + ch::qualifiedName(database, table) + " (" +
                                 ch::quoteIdentifier("col 'x'") + " String) ENGINE = Memory");
    // Through SQL literals ...
    for (const auto& value : values) {
        ch::execute(*connection, "INSERT INTO " + ch::qualifiedName(database, table) + " VALUES (" +
                                     ch::quoteString(value) + ")");
    }
    // ... and through a TabSeparated body.
    std::string body;
    for (const auto& value : values) {
        body += ch::escapeTsvField(value) + "\n";
    }
    connection->execute("INSERT INTO " + ch::qualifiedName(database, table) + " FORMAT TabSeparated", body);

    auto rows = ch::query(*connection, "SELECT " + ch::quoteIdentifier("col 'x'") + " AS v FROM " +
                                           ch::qualifiedName(database, table));
    std::multiset<std::string> expected(values.begin(), values.end());
    expected.insert(values.begin(), values.end());
    std::multiset<std::string> actual;
    for (size_t row = 0; row < rows.rowCount(); ++row) {
        actual.insert(rows.getString(row, "v"));
    }
    EXPECT_EQ(actual, expected);
    EXPECT_EQ(ch::scalar(*connection,
                         "SELECT name FROM system.tables WHERE database = " + ch::quoteString(database)),
              table);
    ch::execute(*connection, "DROP DATABASE " + ch::quoteIdentifier(database));
}

TEST(Foundation, QuerySubcommandAnswersFromTheNamedNode) {
    auto result = fleet().chfleet({"query", "-f", fleet().fleetPath(), "dr-eu-0",
                                   "SELECT substitution FROM system.macros WHERE macro = 'region'"});
    EXPECT_EQ(result.exit_code, 0) << result.output;
    EXPECT_EQ(result.output, "eu-central-1\n");
    auto unknown = fleet().chfleet({"query", "-f", fleet().fleetPath(), "no-such-node", "SELECT 1"});
    EXPECT_EQ(unknown.exit_code, 2);
    EXPECT_NE(unknown.output.find("no node named 'no-such-node'"), std::string::npos) << unknown.output;
}

TEST(Foundation, ChfleetsCityHash64EqualsTheServersForEveryLengthUpTo300) {
    // Whatever places rows on shards itself must hash exactly as the server's sharding key does.
    std::vector<std::string> samples;
    std::string values;
    for (size_t length = 0; length <= 300; ++length) {
        std::string text;
        for (size_t i = 0; i < length; ++i) {
            text += static_cast<char>((i * 131 + length * 7 + 3) % 256);
        }
        values += (length == 0 ? "" : ", ") + ch::quoteString(text);
        samples.push_back(text);
    }
    auto result = ch::query(
        *fleet().connect("clickhouse-us-0"),
        "SELECT toString(cityHash64(v)) AS h, length(v) AS n FROM (SELECT arrayJoin([" + values + "]) AS v)");
    ASSERT_EQ(result.rowCount(), samples.size());
    for (size_t row = 0; row < result.rowCount(); ++row) {
        auto length = result.getUInt64(row, "n");
        EXPECT_EQ(std::to_string(ch::cityHash64(samples[length])), result.getString(row, "h"))
            << "length " << length;
    }
}
