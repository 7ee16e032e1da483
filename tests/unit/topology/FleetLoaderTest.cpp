#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <vector>

#include "../support/TempDir.h"
#include "common/Exception.h"
#include "ingest/IngestSection.h"
#include "retention/RetentionPolicy.h"
#include "topology/Fleet.h"
#include "topology/SqlFragment.h"

namespace chfleet::topology {
namespace {

// A small valid fleet. Line numbers (the tests assert them):
//  1 fleet   2 base_port   3 sites   4 site a   5 global_cluster   6 regions   7 region r1   8 alias
//  9 cluster   10 shards   11 replicas   12 schema   13 database   14 tables   15 table t   16 columns
//  17 column k   18 column ts   19 partition_by   20 order_by   21 region_key
const std::string base_fleet = R"(fleet: t
base_port: 30000
sites:
  - name: a
    global_cluster: a_global
    regions:
      - name: r1
        alias: r1
        cluster: a_r1
        shards: 2
        replicas: 1
schema:
  database: db
  tables:
    - name: t
      columns:
        - {name: k, type: String}
        - {name: ts, type: DateTime}
      partition_by: toYYYYMM(ts)
      order_by: (k, ts)
      region_key: k
)";

/// `text` with the first occurrence of `from` replaced by `to` (which keeps the other lines where they were).
std::string edit(std::string text, const std::string& from, const std::string& to) {
    size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) {
        text.replace(at, from.size(), to);
    }
    return text;
}

std::string problems(const std::string& yaml) {
    return checkFleetText(yaml, "fleet.yaml").describeProblems();
}

// ---- valid files ----

TEST(FleetLoader, BaseFleetIsValid) {
    Fleet fleet = parseFleet(base_fleet, "fleet.yaml");
    EXPECT_EQ(fleet.name, "t");
    ASSERT_EQ(fleet.sites.size(), 1u);
    const Region& region = fleet.sites[0].regions[0];
    EXPECT_EQ(region.nodes.size(), 2u);
    EXPECT_EQ(fleet.schema.tables[0].sharding_key, "cityHash64(k)");
    EXPECT_EQ(fleet.credentials.user, "default");
    EXPECT_TRUE(fleet.credentials.password.empty());
    EXPECT_EQ(fleet.sites[0].regions[0].mark.line, 7);
    EXPECT_EQ(fleet.schema.tables[0].mark.line, 15);
}

TEST(FleetLoader, DerivedPortsFollowSiteOrder) {
    std::string two_sites = edit(base_fleet, "schema:\n", R"(  - name: b
    global_cluster: b_global
    regions:
      - {name: r1, alias: r1, cluster: b_r1, shards: 1, replicas: 2, node_prefix: bee}
schema:
)");
    Fleet fleet = parseFleet(two_sites, "fleet.yaml");
    const Site& a = fleet.sites[0];
    ASSERT_EQ(a.keepers.size(), 1u);
    EXPECT_EQ(a.keepers[0].host, "127.0.0.1");
    EXPECT_EQ(a.keepers[0].port, 30000);
    EXPECT_TRUE(a.keepers[0].derived);
    const Node& a0 = a.regions[0].nodes[0];
    EXPECT_EQ(a0.name, "a-r1-0");
    EXPECT_EQ(a0.host, "127.0.0.1");
    EXPECT_EQ(a0.http_port, 30001);
    EXPECT_EQ(a0.tcp_port, 30002);
    EXPECT_EQ(a0.interserver_port, 30003);
    EXPECT_EQ(a0.shard, 1);
    EXPECT_EQ(a0.site, "a");
    EXPECT_EQ(a0.region, "r1");
    EXPECT_TRUE(a0.derived);
    EXPECT_EQ(a.regions[0].nodes[1].name, "a-r1-1");
    EXPECT_EQ(a.regions[0].nodes[1].shard, 2);
    EXPECT_EQ(a.regions[0].nodes[1].http_port, 30004);
    const Site& b = fleet.sites[1];
    EXPECT_EQ(b.keepers[0].port, 30007);
    EXPECT_EQ(b.regions[0].nodes[0].name, "bee-0");
    EXPECT_EQ(b.regions[0].nodes[0].http_port, 30008);
    EXPECT_EQ(b.regions[0].nodes[1].name, "bee-1");
    EXPECT_EQ(b.regions[0].nodes[1].replica, 2);
    EXPECT_EQ(b.regions[0].nodes[1].interserver_port, 30013);
    EXPECT_EQ(fleet.ports().size(), 1u + 6u + 1u + 6u);
    EXPECT_EQ(fleet.node("bee-1"), &b.regions[0].nodes[1]);
    EXPECT_EQ(b.regions[0].node(1, 2), &b.regions[0].nodes[1]);
}

TEST(FleetLoader, BasePortOptionOverridesTheFile) {
    LoadOptions options;
    options.base_port = 40000;
    Fleet fleet = parseFleet(base_fleet, "fleet.yaml", options);
    EXPECT_EQ(fleet.base_port, 40000);
    EXPECT_EQ(fleet.sites[0].keepers[0].port, 40000);
    EXPECT_EQ(fleet.sites[0].regions[0].nodes[0].http_port, 40001);
}

TEST(FleetLoader, ExplicitNodesAreSortedAndDefaulted) {
    std::string yaml = edit(base_fleet, "        replicas: 1\n", R"(        replicas: 1
        nodes:
          - {name: n2, host: 10.0.0.2, shard: 2, replica: 1}
          - {name: n1, host: 10.0.0.1, http_port: 18123, shard: 1, replica: 1}
)");
    yaml = edit(yaml, "    regions:", "    keepers: [{host: zk1}, {host: zk2, port: 2182}]\n    regions:");
    Fleet fleet = parseFleet(yaml, "fleet.yaml");
    const Region& region = fleet.sites[0].regions[0];
    ASSERT_EQ(region.nodes.size(), 2u);
    EXPECT_EQ(region.nodes[0].name, "n1");
    EXPECT_EQ(region.nodes[0].http_port, 18123);
    EXPECT_EQ(region.nodes[0].tcp_port, 9000);
    EXPECT_EQ(region.nodes[1].interserver_port, 9009);
    EXPECT_FALSE(region.nodes[0].derived);
    EXPECT_EQ(region.nodes[0].mark.line, 15);
    ASSERT_EQ(fleet.sites[0].keepers.size(), 2u);
    EXPECT_EQ(fleet.sites[0].keepers[0].port, 2181);
    EXPECT_EQ(fleet.sites[0].keepers[1].port, 2182);
}

TEST(FleetLoader, DumpRoundTrip) {
    std::string yaml =
        edit(base_fleet, "fleet: t\n", "fleet: t\ncredentials: {user: chfleet, password_env: PW}\n");
    yaml = edit(yaml, "        replicas: 1\n", "        replicas: 1\n        weights: [2, 1]\n");
    yaml = edit(yaml, "      region_key: k\n", R"(      region_key: k
      retention: {column: ts, days: 90, regions: {r1: 30}}
    - name: mv
      kind: materialized_view
      from: t
      columns: [{name: k, type: String}, {name: d, type: Date}, {name: n, type: UInt64, default: "0"}]
      engine: SummingMergeTree(n)
      partition_by: toYYYYMM(d)
      order_by: (k, d)
      region_key: k
      select: |
        SELECT k, toDate(ts) AS d, count() AS n
        FROM {from} GROUP BY k, d
)");
    yaml = edit(yaml, "    regions:", "    keeper_session_timeout_ms: 6000\n    regions:");
    yaml = edit(yaml, "      retention: {column: ts, days: 90",
                "      default_region: r1\n      retention: {column: ts, days: 90");
    yaml += R"(    - name: owners
      columns: [{name: k, type: String}, {name: region, type: String}, {name: updated_at, type: DateTime}]
      engine: ReplacingMergeTree(updated_at)
      order_by: k
      region_key: k
ingest:
  mapping_table: owners
  users:
    - {name: app, password_sha256: 02318a69cb256384b43e1fb78543fcf8b494330cbf5b0c78f7dcf0749b332685}
    - {name: batch, password_sha256: 2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b}
)";
    Fleet fleet = parseFleet(yaml, "fleet.yaml");
    ASSERT_EQ(ingest::ingestConfig(fleet).users.size(), 2u);
    EXPECT_EQ(ingest::defaultRegion(fleet.schema.tables[0]), "r1");
    std::string dumped = dumpFleet(fleet);
    EXPECT_EQ(dumped.find("base_port"), std::string::npos) << dumped;
    Fleet again = parseFleet(dumped, "dumped.yaml");
    EXPECT_EQ(again, fleet) << dumped;
    EXPECT_EQ(again.base_port, 0);
    EXPECT_FALSE(again.sites[0].regions[0].nodes[0].derived);
    EXPECT_EQ(again.sites[0].keeper_session_timeout_ms, 6000);
    EXPECT_EQ(again.schema.tables[1].select, fleet.schema.tables[1].select);
    EXPECT_EQ(dumpFleet(again), dumped);
    EXPECT_EQ(ingest::ingestConfig(again).mapping_table, "owners");
    EXPECT_EQ(ingest::ingestConfig(again).user("batch")->password_sha256,
              ingest::ingestConfig(fleet).user("batch")->password_sha256);
    EXPECT_EQ(ingest::defaultRegion(again.schema.tables[0]), "r1");
    // And it is a real comparison.
    again.sites[0].regions[0].nodes[1].tcp_port += 100;
    EXPECT_FALSE(again == fleet);
    again = fleet;
    ingest::mutableIngestConfig(again).users[1].password_sha256[0] = '0';
    EXPECT_FALSE(again == fleet);
    again = fleet;
    again.schema.tables[0].fields.findMutable<ingest::DefaultRegion>()->region.clear();
    EXPECT_FALSE(again == fleet);
}

TEST(FleetLoader, DumpRoundTripOfTheExamples) {
    for (const char* example : {"/examples/teei/fleet.yaml", "/examples/pair/fleet.yaml"}) {
        Fleet fleet = loadFleet(std::string(CHFLEET_SOURCE_DIR) + example);
        EXPECT_EQ(parseFleet(dumpFleet(fleet), "dumped.yaml"), fleet) << example;
    }
}

TEST(FleetLoader, ExamplesLoadWithoutErrors) {
    FleetCheck teei = checkFleet(std::string(CHFLEET_SOURCE_DIR) + "/examples/teei/fleet.yaml");
    ASSERT_TRUE(teei.valid()) << teei.describeProblems();
    const Fleet& fleet = *teei.fleet;
    ASSERT_EQ(fleet.sites.size(), 2u);
    const Site& primary = fleet.sites[0];
    EXPECT_EQ(primary.global_cluster, "teei_global_cluster");
    EXPECT_EQ(primary.region("us-east-1")->cluster, "teei_us_cluster");
    EXPECT_EQ(primary.region("us-east-1")->nodes.size(), 6u);
    EXPECT_EQ(primary.region("eu-central-1")->nodes.size(), 4u);
    // The seed's pod table: clickhouse-us-2 is shard 2 replica 1, clickhouse-eu-3 shard 2 replica 2.
    EXPECT_EQ(fleet.node("clickhouse-us-2")->shard, 2);
    EXPECT_EQ(fleet.node("clickhouse-us-2")->replica, 1);
    EXPECT_EQ(fleet.node("clickhouse-eu-3")->shard, 2);
    EXPECT_EQ(fleet.node("clickhouse-eu-3")->replica, 2);
    EXPECT_EQ(fleet.node("dr-eu-0")->site, "dr");
    EXPECT_EQ(fleet.nodes().size(), 12u);
    EXPECT_EQ(fleet.ports().size(), 2u + 12u * 3u);
    EXPECT_EQ(fleet.credentials.password.env, "CHFLEET_PASSWORD");
    EXPECT_EQ(fleet.schema.tables.size(), 9u);
    const Table* metrics = fleet.schema.table("metrics_company_period");
    ASSERT_NE(metrics, nullptr);
    EXPECT_EQ(retention::policyOf(*metrics)->daysFor("eu-central-1"), 730);
    EXPECT_EQ(retention::policyOf(*metrics)->daysFor("us-east-1"), 2555);
    EXPECT_EQ(metrics->regionalName(*primary.region("eu-central-1")),
              "metrics_company_period_eu_distributed");
    EXPECT_EQ(fleet.schema.table("mv_daily_company_metrics")->from, "events");
    EXPECT_EQ(ingest::ingestConfig(fleet).mapping_table, "company_region_mapping");
    ASSERT_EQ(ingest::ingestConfig(fleet).users.size(), 1u);
    EXPECT_EQ(ingest::ingestConfig(fleet).users[0].name, "app");
    // printf %s ingest-demo | sha256sum
    EXPECT_EQ(ingest::ingestConfig(fleet).user("app")->password_sha256,
              "02318a69cb256384b43e1fb78543fcf8b494330cbf5b0c78f7dcf0749b332685");
    EXPECT_EQ(ingest::defaultRegion(*fleet.schema.table("query_log")), "us-east-1");
    EXPECT_EQ(ingest::defaultRegion(*fleet.schema.table("events")), "");

    FleetCheck pair = checkFleet(std::string(CHFLEET_SOURCE_DIR) + "/examples/pair/fleet.yaml");
    ASSERT_TRUE(pair.valid()) << pair.describeProblems();
    EXPECT_EQ(pair.fleet->nodes().size(), 2u);
}

TEST(FleetLoader, RelativePasswordFileIsTakenFromTheFleetFileDirectory) {
    chfleet::testing::TempDir dir("chfleet-loader-test");
    std::ofstream(dir / "fleet.yaml")
        << edit(base_fleet, "fleet: t\n", "fleet: t\ncredentials: {user: u, password_file: secrets/pw}\n");
    Fleet fleet = loadFleet((dir / "fleet.yaml").string());
    EXPECT_EQ(fleet.credentials.password.file, (dir / "secrets/pw").string());
}

// ---- one test per kind of problem ----

TEST(FleetLoader, MalformedYaml) {
    EXPECT_EQ(problems("fleet: t\nsites:\n  - name: a\n    global_cluster: [x\n"),
              "fleet.yaml:5: malformed YAML: end of sequence flow not found");
}

TEST(FleetLoader, EmptyFile) {
    EXPECT_EQ(problems(""), "fleet.yaml:1: the file is empty; a fleet file starts with 'fleet: <name>'");
}

TEST(FleetLoader, ProblemsAreThrownAsOneInvalidConfigException) {
    try {
        parseFleet(edit(base_fleet, "        shards: 2\n", "        shards: 0\n"), "fleet.yaml");
        FAIL() << "no exception";
    } catch (const Exception& e) {
        EXPECT_EQ(e.code(), ErrorCode::InvalidConfig);
        EXPECT_STREQ(e.what(), "fleet.yaml:10: sites[0].regions[0].shards: 0 is out of range (1..1000)");
    }
}

TEST(FleetLoader, MissingRequiredField) {
    EXPECT_EQ(problems(edit(base_fleet, "        cluster: a_r1\n", "\n")),
              "fleet.yaml:7: sites[0].regions[0].cluster: required field is missing");
    EXPECT_EQ(problems(edit(base_fleet, "fleet: t\n", "\n")),
              "fleet.yaml:2: fleet: required field is missing");
}

TEST(FleetLoader, UnknownFieldWithSuggestionAndAllProblemsCollected) {
    EXPECT_EQ(problems(edit(base_fleet, "        shards: 2\n", "        shard: 2\n")),
              "fleet.yaml:7: sites[0].regions[0].shards: required field is missing\n"
              "fleet.yaml:10: sites[0].regions[0].shard: unknown field; did you mean 'shards'?");
    EXPECT_EQ(
        problems(edit(base_fleet, "base_port: 30000\n", "colour: blue\nbase_port: 30000\n")).substr(0, 60),
        "fleet.yaml:2: colour: unknown field (fields here: fleet, bas");
}

TEST(FleetLoader, FieldGivenTwice) {
    EXPECT_EQ(
        problems(edit(base_fleet, "        replicas: 1\n", "        replicas: 1\n        replicas: 2\n")),
        "fleet.yaml:12: sites[0].regions[0].replicas: field given twice (first at line 11)");
}

TEST(FleetLoader, WrongValueType) {
    EXPECT_EQ(problems(edit(base_fleet, "        shards: 2\n", "        shards: two\n")),
              "fleet.yaml:10: sites[0].regions[0].shards: expected a whole number, got 'two'");
    EXPECT_EQ(
        problems(edit(base_fleet, "        replicas: 1\n", "        replicas: [1]\n")),
        "fleet.yaml:11: sites[0].regions[0].replicas: expected a whole number, got 'a list or mapping'");
}

const std::string second_site = R"(  - name: b
    global_cluster: b_global
    regions:
      - {name: r1, alias: r1, cluster: b_r1, shards: 1, replicas: 1}
schema:
)";

TEST(FleetLoader, DuplicateSiteName) {
    EXPECT_EQ(problems(edit(edit(base_fleet, "schema:\n", second_site), "  - name: b", "  - name: a")),
              "fleet.yaml:12: sites[1].name: duplicate site name 'a' (first at line 4)\n"
              "fleet.yaml:15: sites[1].regions[0].node_prefix: duplicate node name 'a-r1-0' (derived) (first "
              "at line 7); "
              "node names are unique in the fleet");
}

TEST(FleetLoader, DuplicateRegionName) {
    std::string yaml =
        edit(base_fleet, "        replicas: 1\n",
             "        replicas: 1\n      - {name: r1, alias: r2, cluster: a_r2, shards: 1, replicas: 1}\n");
    EXPECT_EQ(problems(yaml),
              "fleet.yaml:12: sites[0].regions[1].name: duplicate region name 'r1' in site 'a' "
              "(first at line 7)");
}

TEST(FleetLoader, DuplicateClusterName) {
    EXPECT_EQ(
        problems(edit(base_fleet, "        cluster: a_r1\n", "        cluster: a_global\n")),
        "fleet.yaml:7: sites[0].regions[0].cluster: duplicate cluster name 'a_global' (first at line 4); "
        "every region and every site's global cluster needs its own name");
}

TEST(FleetLoader, DuplicateNodeName) {
    std::string yaml = edit(base_fleet, "        replicas: 1\n", R"(        replicas: 1
        nodes:
          - {name: n1, host: h1, shard: 1, replica: 1}
          - {name: n1, host: h2, shard: 2, replica: 1}
)");
    EXPECT_EQ(problems(yaml),
              "fleet.yaml:14: sites[0].regions[0].nodes[1].name: duplicate node name 'n1' (first "
              "at line 13); node names are unique in the fleet");
}

TEST(FleetLoader, DuplicateHostAndPort) {
    std::string yaml = edit(base_fleet, "        replicas: 1\n", R"(        replicas: 1
        nodes:
          - {name: n1, host: h1, shard: 1, replica: 1}
          - {name: n2, host: h1, http_port: 8124, tcp_port: 9001, interserver_port: 9009, shard: 2, replica: 1}
)");
    EXPECT_EQ(problems(yaml),
              "fleet.yaml:14: sites[0].regions[0].nodes[1].interserver_port: h1:9009 is already used by the "
              "interserver_port of node n1 (line 13)");
    // A listed node on a derived keeper's port.
    std::string on_keeper = edit(base_fleet, "        replicas: 1\n", R"(        replicas: 1
        nodes:
          - {name: n1, host: 127.0.0.1, http_port: 30000, shard: 1, replica: 1}
          - {name: n2, host: h2, shard: 2, replica: 1}
)");
    EXPECT_EQ(
        problems(on_keeper),
        "fleet.yaml:13: sites[0].regions[0].nodes[0].http_port: 127.0.0.1:30000 is already used by keeper 1 "
        "of site 'a' (line 4)");
}

TEST(FleetLoader, PortOutOfRange) {
    std::string yaml = edit(base_fleet, "        replicas: 1\n", R"(        replicas: 1
        nodes:
          - {name: n1, host: h1, http_port: 70000, shard: 1, replica: 1}
          - {name: n2, host: h2, shard: 2, replica: 1}
)");
    EXPECT_EQ(problems(yaml),
              "fleet.yaml:13: sites[0].regions[0].nodes[0].http_port: 70000 is out of range (1..65535)");
    EXPECT_EQ(
        problems(edit(base_fleet, "base_port: 30000", "base_port: 0")),
        "fleet.yaml:2: base_port: 0 is out of range (1..65535)\n"
        "fleet.yaml:4: sites[0].keepers: no keepers are listed and there is no base_port to derive one from; "
        "list the site's keepers or set base_port\n"
        "fleet.yaml:7: sites[0].regions[0].nodes: no nodes are listed and there is no base_port to derive "
        "them "
        "from; list the region's 2 nodes or set base_port");
    EXPECT_EQ(problems(edit(base_fleet, "base_port: 30000", "base_port: 65530")),
              "fleet.yaml:2: base_port: derived ports run from 65530 to 65536, past 65535; lower base_port");
}

TEST(FleetLoader, NodeCountMustMatchShardsTimesReplicas) {
    std::string yaml = edit(base_fleet, "        replicas: 1\n", R"(        replicas: 1
        nodes:
          - {name: n1, host: h1, shard: 1, replica: 1}
)");
    EXPECT_EQ(problems(yaml),
              "fleet.yaml:13: sites[0].regions[0].nodes: 1 nodes listed; a region of 2 shards x 1 "
              "replicas needs exactly 2");
}

TEST(FleetLoader, ShardAndReplicaNumbersInRangeAndUnique) {
    std::string yaml = edit(base_fleet, "        replicas: 1\n", R"(        replicas: 1
        nodes:
          - {name: n1, host: h1, shard: 3, replica: 1}
          - {name: n2, host: h2, shard: 1, replica: 2}
)");
    EXPECT_EQ(
        problems(yaml),
        "fleet.yaml:13: sites[0].regions[0].nodes[0].shard: shard 3 is out of range: the region has 2 shards "
        "(1..2)\n"
        "fleet.yaml:14: sites[0].regions[0].nodes[1].replica: replica 2 is out of range: the region has 1 "
        "replicas per shard (1..1)");
    std::string repeated = edit(base_fleet, "        replicas: 1\n", R"(        replicas: 1
        nodes:
          - {name: n1, host: h1, shard: 1, replica: 1}
          - {name: n2, host: h2, shard: 1, replica: 1}
)");
    EXPECT_EQ(
        problems(repeated),
        "fleet.yaml:14: sites[0].regions[0].nodes[1]: shard 1 replica 1 is listed twice (first at line 13)");
}

TEST(FleetLoader, WeightsCountMustMatchShards) {
    EXPECT_EQ(problems(edit(base_fleet, "        replicas: 1\n",
                            "        replicas: 1\n        weights: [1, 2, 3]\n")),
              "fleet.yaml:12: sites[0].regions[0].weights: 3 weights given for 2 shards; give one weight per "
              "shard");
    EXPECT_EQ(
        problems(edit(base_fleet, "        replicas: 1\n", "        replicas: 1\n        weights: [0, 0]\n")),
        "fleet.yaml:12: sites[0].regions[0].weights: every weight is 0: no shard would receive rows; give at "
        "least one shard a weight above 0");
}

TEST(FleetLoader, UnknownColumns) {
    EXPECT_EQ(problems(edit(base_fleet, "      region_key: k\n", "      region_key: kk\n")),
              "fleet.yaml:21: schema.tables[0].region_key: unknown column 'kk'; did you mean 'k'?");
    EXPECT_EQ(problems(edit(base_fleet, "      order_by: (k, ts)\n", "      order_by: (k, timestamp)\n")),
              "fleet.yaml:20: schema.tables[0].order_by: unknown column 'timestamp' (columns: k, ts)");
    EXPECT_EQ(problems(edit(base_fleet, "      region_key: k\n",
                            "      region_key: k\n      sharding_key: cityHash64(company)\n")),
              "fleet.yaml:22: schema.tables[0].sharding_key: unknown column 'company' (columns: k, ts)");
    EXPECT_EQ(problems(edit(base_fleet, "      region_key: k\n",
                            "      region_key: k\n      retention: {column: tss, days: 9}\n")),
              "fleet.yaml:22: schema.tables[0].retention.column: unknown column 'tss'; did you mean 'ts'?");
    // Functions, keywords, literals and quoted strings are not columns.
    EXPECT_EQ(problems(edit(base_fleet, "      partition_by: toYYYYMM(ts)\n",
                            "      partition_by: toStartOfInterval(ts, INTERVAL 1 day), 'x y', 1e3\n")),
              "");
}

TEST(FleetLoader, RetentionNeedsPartitionsOfItsColumn) {
    EXPECT_EQ(
        problems(edit(base_fleet,
                      "      partition_by: toYYYYMM(ts)\n      order_by: (k, ts)\n      region_key: k\n",
                      "      partition_by: k\n      order_by: (k, ts)\n      region_key: k\n"
                      "      retention: {column: ts, days: 9}\n")),
        "fleet.yaml:22: schema.tables[0].retention.column: partition_by (k) does not use 'ts': expired rows "
        "are dropped by whole partitions, so partition by the retention column, e.g. toYYYYMM(ts)");
}

TEST(FleetLoader, UnknownRegionInRetention) {
    EXPECT_EQ(problems(edit(base_fleet, "      region_key: k\n",
                            "      region_key: k\n      retention:\n        column: ts\n        days: 9\n"
                            "        regions: {r2: 5}\n")),
              "fleet.yaml:25: schema.tables[0].retention.regions.r2: unknown region 'r2' (regions: r1)");
}

const std::string view = R"(    - name: v
      kind: materialized_view
      from: t
      columns: [{name: k, type: String}, {name: n, type: UInt64}]
      engine: SummingMergeTree(n)
      order_by: k
      select: SELECT k, count() AS n FROM {from} GROUP BY k
)";

TEST(FleetLoader, MaterializedViews) {
    Fleet fleet = parseFleet(base_fleet + view, "fleet.yaml");
    const Table* table = fleet.schema.table("v");
    ASSERT_NE(table, nullptr);
    EXPECT_EQ(table->kind, TableKind::MaterializedView);
    EXPECT_EQ(table->region_key, "");
    EXPECT_EQ(table->sharding_key, "");
    EXPECT_EQ(problems(base_fleet + edit(view, "from: t", "from: tt")),
              "fleet.yaml:24: schema.tables[1].from: unknown table 'tt'; did you mean 't'?");
    EXPECT_EQ(problems(base_fleet + edit(view, "FROM {from}", "FROM t_local")),
              "fleet.yaml:28: schema.tables[1].select: the SELECT must read from '{from}' (it stands for the "
              "source's local table on each node)");
    EXPECT_EQ(problems(base_fleet + edit(view, "SummingMergeTree(n)", "SummingMergeTree(total)")),
              "fleet.yaml:26: schema.tables[1].engine: unknown column 'total' (columns: k, n)");
    EXPECT_EQ(problems(edit(base_fleet, "      region_key: k\n", "      region_key: k\n      from: x\n")),
              "fleet.yaml:22: schema.tables[0].from: only a materialized view has this field (add 'kind: "
              "materialized_view')");
}

TEST(FleetLoader, Engines) {
    EXPECT_EQ(problems(edit(base_fleet, "      region_key: k\n",
                            "      region_key: k\n      engine: ReplicatedMergeTree\n")),
              "fleet.yaml:22: schema.tables[0].engine: write 'ReplicatedMergeTree' without 'Replicated': "
              "chfleet makes "
              "every local table replicated and chooses its keeper path");
    EXPECT_EQ(problems(edit(base_fleet, "      region_key: k\n", "      region_key: k\n      engine: Log\n")),
              "fleet.yaml:22: schema.tables[0].engine: 'Log' is not a MergeTree family engine (MergeTree, "
              "ReplacingMergeTree, SummingMergeTree, AggregatingMergeTree, CollapsingMergeTree, "
              "VersionedCollapsingMergeTree, GraphiteMergeTree)");
}

// ---- SQL fragments (topology/SqlFragment.h) ----

/// `value` as a YAML double-quoted scalar.
std::string yamlQuoted(const std::string& value) {
    std::string quoted = "\"";
    for (char c : value) {
        if (c == '"' || c == '\\') {
            quoted += '\\';
            quoted += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            quoted += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
        } else {
            quoted += c;
        }
    }
    return quoted + "\"";
}

/// One field of base_fleet (or of `view` appended to it) that takes SQL: where it is and how to set it.
struct SqlField {
    std::string path;
    int line;
    std::function<std::string(const std::string&)> fleet_with;  ///< the fleet file with the field set
};

std::vector<SqlField> sqlFields() {
    return {
        {"schema.tables[0].columns[1].type", 18,
         [](const std::string& v) {
             return edit(base_fleet, "{name: ts, type: DateTime}", "{name: ts, type: " + yamlQuoted(v) + "}");
         }},
        {"schema.tables[0].columns[0].default", 17,
         [](const std::string& v) {
             return edit(base_fleet, "{name: k, type: String}",
                         "{name: k, type: String, default: " + yamlQuoted(v) + "}");
         }},
        {"schema.tables[0].partition_by", 19,
         [](const std::string& v) {
             return edit(base_fleet, "partition_by: toYYYYMM(ts)", "partition_by: " + yamlQuoted(v));
         }},
        {"schema.tables[0].order_by", 20,
         [](const std::string& v) {
             return edit(base_fleet, "order_by: (k, ts)", "order_by: " + yamlQuoted(v));
         }},
        {"schema.tables[0].sharding_key", 22,
         [](const std::string& v) { return base_fleet + "      sharding_key: " + yamlQuoted(v) + "\n"; }},
        {"schema.tables[0].engine", 22,
         [](const std::string& v) { return base_fleet + "      engine: " + yamlQuoted(v) + "\n"; }},
        // The SELECT must read from {from}: the fragment comes first, so its positions are those of the
        // others.
        {"schema.tables[1].select", 28,
         [](const std::string& v) {
             return base_fleet + edit(view, "SELECT k, count() AS n FROM {from} GROUP BY k",
                                      yamlQuoted(v + " FROM {from}"));
         }},
    };
}

TEST(FleetLoader, HostileSqlFragmentsAreRejectedInEveryField) {
    const std::pair<std::string, std::string> hostile[] = {
        {"String) ENGINE=Memory --",
         "unbalanced ')' at character 7: it closes a bracket this value never opened; brackets (), [] and {} "
         "must pair up within the value"},
        {"toYYYYMM(ts))",
         "unbalanced ')' at character 13: it closes a bracket this value never opened; brackets (), [] and "
         "{} "
         "must pair up within the value"},
        {"(a, b",
         "unbalanced '(' at character 1: it is never closed; brackets (), [] and {} must pair up "
         "within the value"},
        {"[1, 2)",
         "unbalanced ')' at character 6: the '[' at character 1 is still open; brackets (), [] and {} "
         "must pair up within the value, innermost first"},
        {"k; DROP TABLE x",
         "';' at character 2 would end the statement: the value is part of one statement chfleet writes, so "
         "';' is not allowed (inside quoted text it is fine)"},
        {"x /* c */",
         "'/*' at character 3 starts a comment, which could hide part of the statement; comments are not "
         "allowed (inside quoted text it is fine)"},
        {"x -- c",
         "'--' at character 3 starts a comment, which would hide the rest of the statement; comments are not "
         "allowed (inside quoted text it is fine; for two minus signs write '- -')"},
        {"x # (\n)",
         "'#' at character 3: '# ' and '#!' start a comment in current ClickHouse, which would hide the rest "
         "of the line, and '#' has no other use; comments are not allowed (inside quoted text it is fine)"},
        {"x $$'$$ -- '",
         "'$' at character 3 is not allowed outside quoted text: ClickHouse reads $$...$$ as a string, which "
         "would hide brackets and comments from this check; write strings in single quotes"},
        {"'unterminated",
         "unterminated quoted text: the ' at character 1 is never closed; close it within the value (inside "
         "quotes, write \\' or '' for the quote character itself)"},
        {"'a\\')",
         "unterminated quoted text: the ' at character 1 is never closed; close it within the value "
         "(inside quotes, write \\' or '' for the quote character itself)"},
        {"`k",
         "unterminated quoted text: the ` at character 1 is never closed; close it within the value "
         "(inside quotes, write \\` or `` for the quote character itself)"},
        {"x\x01", "control character 0x01 at character 2; only spaces, tabs and line breaks are allowed"},
    };
    for (const auto& field : sqlFields()) {
        for (const auto& [fragment, message] : hostile) {
            EXPECT_EQ(problems(field.fleet_with(fragment)),
                      fmt::format("fleet.yaml:{}: {}: {}", field.line, field.path, message))
                << field.path << " = " << fragment;
        }
    }
}

TEST(FleetLoader, ColumnTypesDefaultsAndShardingKeysAreOneItem) {
    for (const auto& field : sqlFields()) {
        std::string found = problems(field.fleet_with("cityHash64(k), 'x'"));
        if (field.path.ends_with(".type") || field.path.ends_with(".default") ||
            field.path.ends_with(".sharding_key")) {
            EXPECT_EQ(found,
                      fmt::format("fleet.yaml:{}: {}: ',' at character 14 outside brackets: the value is "
                                  "one item, not a list (a ',' here would add another column or engine "
                                  "argument to the statement)",
                                  field.line, field.path));
        } else if (field.path.ends_with(".engine")) {
            EXPECT_TRUE(found.starts_with(
                "fleet.yaml:22: schema.tables[0].engine: 'cityHash64' is not a MergeTree family engine"))
                << found;
        } else {
            EXPECT_EQ(found, "") << field.path;  // a list where a list belongs
        }
    }
}

TEST(FleetLoader, SqlFragmentsThatOnlyLookHostileAreAccepted) {
    std::string yaml = edit(base_fleet, "        - {name: k, type: String}\n",
                            R"yaml(        - {name: k, type: String, default: "'x;y--z'"}
        - {name: e, type: "Enum8('a)' = 1, 'b' = 2)", default: "'a)'"}
        - {name: d, type: "Decimal(9, 2)", default: "toDecimal32('1.5', 2)"}
        - {name: l, type: LowCardinality(Nullable(String))}
        - {name: q, type: String, default: "'it''s /* not */ a # comment; $$ \\' (' || `--`"}
        - {name: m, type: "Map(String, Array(Tuple(UInt8, String)))", default: "map('[', [(1, ')')])"}
)yaml");
    yaml = edit(yaml, "      region_key: k\n",
                "      region_key: k\n      sharding_key: cityHash64(k, 'a;b')\n      engine: "
                "ReplacingMergeTree(ts)\n");
    // The views' selects of examples/teei/fleet.yaml, verbatim.
    yaml += R"yaml(    - name: mv_daily_company_metrics
      kind: materialized_view
      from: t
      columns: [{name: k, type: String}]
      engine: SummingMergeTree
      order_by: k
      select: >-
        SELECT company_id, toDate(timestamp) AS date, event_type AS metric_name, toFloat64(count()) AS total_value
        FROM {from} GROUP BY company_id, toDate(timestamp), event_type
    - name: mv_daily_region_events
      kind: materialized_view
      from: t
      columns: [{name: k, type: String}]
      engine: SummingMergeTree
      order_by: k
      select: >-
        SELECT toDate(timestamp) AS date, region, count() AS event_count
        FROM {from} GROUP BY toDate(timestamp), region
)yaml";
    FleetCheck check = checkFleetText(yaml, "fleet.yaml");
    ASSERT_TRUE(check.valid()) << check.describeProblems();
    const Table& t = check.fleet->schema.tables[0];
    EXPECT_EQ(t.columns[0].default_expression, "'x;y--z'");
    EXPECT_EQ(t.columns[1].type, "Enum8('a)' = 1, 'b' = 2)");
    EXPECT_EQ(t.columns[4].default_expression, "'it''s /* not */ a # comment; $$ \\' (' || `--`");
    EXPECT_EQ(t.sharding_key, "cityHash64(k, 'a;b')");
    EXPECT_EQ(check.fleet->schema.tables[2].select,
              "SELECT toDate(timestamp) AS date, region, count() AS event_count FROM {from} GROUP BY "
              "toDate(timestamp), region");
    // And those of the examples themselves (ExamplesLoadWithoutErrors loads them whole).
    Fleet teei = loadFleet(std::string(CHFLEET_SOURCE_DIR) + "/examples/teei/fleet.yaml");
    for (const auto& table : teei.schema.tables) {
        EXPECT_EQ(sqlFragmentProblem(table.select), std::nullopt) << table.select;
    }
}

TEST(FleetLoader, EngineIsANameAndItsArguments) {
    EXPECT_EQ(
        problems(base_fleet + "      engine: ReplacingMergeTree(ts) SETTINGS index_granularity = 1\n"),
        "fleet.yaml:22: schema.tables[0].engine: text after the engine's arguments ('SETTINGS "
        "index_granularity = 1'); write the engine as Name or Name(arguments): chfleet writes PARTITION BY "
        "and ORDER BY from their own fields");
    EXPECT_TRUE(problems(base_fleet + "      engine: ReplacingMergeTree(ts) PARTITION BY (k)\n")
                    .starts_with("fleet.yaml:22: schema.tables[0].engine: text after the engine's arguments "
                                 "('PARTITION BY (k)'); write"));
    EXPECT_EQ(problems(base_fleet + "      engine: \"SummingMergeTree (ts) \"\n"), "");
    EXPECT_EQ(problems(base_fleet + "      engine: MergeTree()\n"), "");
    // Hostile arguments are reported once, not also as unknown columns.
    EXPECT_EQ(
        problems(base_fleet + "      engine: ReplacingMergeTree(ts; DROP TABLE x)\n"),
        "fleet.yaml:22: schema.tables[0].engine: ';' at character 22 would end the statement: the value "
        "is part of one statement chfleet writes, so ';' is not allowed (inside quoted text it is fine)");
}

TEST(FleetLoader, DuplicateTableAndColumnNames) {
    EXPECT_EQ(problems(edit(base_fleet, "        - {name: ts, type: DateTime}\n",
                            "        - {name: ts, type: DateTime}\n        - {name: k, type: UInt8}\n")),
              "fleet.yaml:19: schema.tables[0].columns[2].name: duplicate column 'k' (first at line 17)");
    EXPECT_EQ(problems(base_fleet +
                       "    - {name: t, columns: [{name: k, type: String}], order_by: k, region_key: k}\n"),
              "fleet.yaml:22: schema.tables[1].name: duplicate table 't' (first at line 15)");
    EXPECT_EQ(
        problems(base_fleet +
                 "    - {name: t_r1, columns: [{name: k, type: String}], order_by: k, region_key: k}\n"),
        "fleet.yaml:22: schema.tables[1].name: table 't_r1' would create 't_r1_distributed', which table 't' "
        "creates too; rename one of them");
}

TEST(FleetLoader, InvalidNames) {
    EXPECT_EQ(
        problems(edit(base_fleet, "    - name: t\n", "    - name: my-table\n")),
        "fleet.yaml:15: schema.tables[0].name: 'my-table' is not a valid name: letters, digits and _, not "
        "starting with a digit");
    EXPECT_EQ(problems(edit(base_fleet, "      - name: r1\n", "      - name: us east\n")),
              "fleet.yaml:7: sites[0].regions[0].name: 'us east' is not a valid name: letters, digits, '_', "
              "'.' and "
              "'-'");
    EXPECT_EQ(
        problems(edit(base_fleet, "        alias: r1\n", "        alias: r-1\n")),
        "fleet.yaml:8: sites[0].regions[0].alias: 'r-1' is not a valid name: letters, digits and _, not "
        "starting with a digit");
    EXPECT_EQ(problems(edit(base_fleet, "  database: db\n", "  database: 1db\n")),
              "fleet.yaml:13: schema.database: '1db' is not a valid name: letters, digits and _, not "
              "starting with a "
              "digit");
    Fleet fleet =
        parseFleet(edit(base_fleet, "      - name: r1\n        alias: r1\n", "      - name: us-east-1\n\n"),
                   "fleet.yaml");
    EXPECT_EQ(fleet.sites[0].regions[0].alias, "us_east_1");
}

TEST(FleetLoader, DerivedNodesNeedBasePort) {
    EXPECT_EQ(problems(edit(edit(base_fleet, "base_port: 30000\n", "\n"),
                            "    regions:", "    keepers: [{host: zk}]\n    regions:")),
              "fleet.yaml:8: sites[0].regions[0].nodes: no nodes are listed and there is no base_port to "
              "derive them "
              "from; list the region's 2 nodes or set base_port");
}

TEST(FleetLoader, SitesMirrorTheirRegions) {
    std::string yaml =
        edit(base_fleet, "schema:\n", edit(second_site, "{name: r1, alias: r1", "{name: r9, alias: r9"));
    EXPECT_EQ(problems(yaml),
              "fleet.yaml:12: sites[1].regions: regions differ from site 'a' (missing r1; not in site "
              "'a': r9); every site has the same regions, as a DR site mirrors the primary");
    std::string alias = edit(base_fleet, "schema:\n", edit(second_site, "alias: r1", "alias: other"));
    EXPECT_EQ(problems(alias),
              "fleet.yaml:15: sites[1].regions[0].alias: alias 'other' differs from site 'a''s alias "
              "'r1' for region r1; the alias names the region's tables, which are the same on every "
              "site");
}

TEST(FleetLoader, InlinePasswordIsRejected) {
    EXPECT_EQ(
        problems(edit(base_fleet, "fleet: t\n", "fleet: t\ncredentials: {user: u, password: hunter2}\n")),
        "fleet.yaml:2: credentials.password: an inline password is not allowed: fleet files are shared and "
        "committed; put the password in an environment variable (password_env: NAME) or a file readable only "
        "by its owner (password_file: PATH)");
    EXPECT_EQ(problems(edit(base_fleet, "fleet: t\n",
                            "fleet: t\ncredentials: {user: u, password_env: PW, password_file: /pw}\n")),
              "fleet.yaml:2: credentials.password_file: give either password_env or password_file, not both");
}

// ---- secrets ----

// ---- ingest ----

// Appended to base_fleet: lines 22-26 the mapping table, 27 ingest, 28 mapping_table, 29 users, 30 user app.
const std::string mapping_table = R"(    - name: company_region_mapping
      columns: [{name: k, type: String}, {name: region, type: String}, {name: updated_at, type: DateTime}]
      engine: ReplacingMergeTree(updated_at)
      order_by: k
      region_key: k
)";
const std::string app_hash = "02318a69cb256384b43e1fb78543fcf8b494330cbf5b0c78f7dcf0749b332685";

TEST(FleetLoader, IngestDefaultsToTheMappingTableByName) {
    EXPECT_EQ(ingest::ingestConfig(parseFleet(base_fleet, "fleet.yaml")).mapping_table, "");
    Fleet fleet = parseFleet(base_fleet + mapping_table, "fleet.yaml");
    EXPECT_EQ(ingest::ingestConfig(fleet).mapping_table, "company_region_mapping");
    EXPECT_TRUE(ingest::ingestConfig(fleet).users.empty());
    EXPECT_EQ(ingest::ingestConfig(fleet).user("app"), nullptr);
    EXPECT_EQ(
        problems(base_fleet + edit(mapping_table, "type: DateTime}]", "type: Date}]")),
        "fleet.yaml:22: schema.tables[1].name: the mapping table 'company_region_mapping' needs a column "
        "'updated_at' of type DateTime (it is Date) (ingest takes it as its mapping table because of its "
        "name; fix it, rename it, or name another table in ingest.mapping_table)");
}

TEST(FleetLoader, IngestUsersAndMappingTable) {
    Fleet fleet = parseFleet(base_fleet + mapping_table +
                                 "ingest:\n  mapping_table: company_region_mapping\n  users:\n"
                                 "    - {name: app, password_sha256: " +
                                 app_hash + "}\n",
                             "fleet.yaml");
    ASSERT_NE(ingest::ingestConfig(fleet).user("app"), nullptr);
    EXPECT_EQ(ingest::ingestConfig(fleet).user("app")->password_sha256, app_hash);
    EXPECT_EQ(ingest::ingestConfig(fleet).user("app")->mark.line, 30);
}

TEST(FleetLoader, IngestUserProblems) {
    std::string yaml = base_fleet + mapping_table + "ingest:\n  users:\n";
    EXPECT_EQ(problems(yaml + "    - {name: app, password_sha256: " + app_hash + "}\n" +
                       "    - {name: app, password_sha256: " + app_hash + "}\n"),
              "fleet.yaml:30: ingest.users[1].name: duplicate ingest user 'app' (first at line 29)");
    std::string upper = app_hash;
    upper[0] = 'A';
    EXPECT_EQ(
        problems(yaml + "    - {name: app, password_sha256: " + upper.substr(1) + "}\n"),
        "fleet.yaml:29: ingest.users[0].password_sha256: expected 64 lower-case hex digits (the SHA-256 "
        "of the password, as printed by: printf %s 'secret' | sha256sum), got 63 characters");
    EXPECT_EQ(
        problems(yaml + "    - {name: app, password_sha256: " + upper + "}\n"),
        "fleet.yaml:29: ingest.users[0].password_sha256: expected 64 lower-case hex digits (the SHA-256 "
        "of the password, as printed by: printf %s 'secret' | sha256sum), got 64 characters");
    EXPECT_EQ(problems(yaml + "    - {name: app, password: hunter2}\n"),
              "fleet.yaml:29: ingest.users[0].password: an inline password is not allowed: fleet files are "
              "shared and committed; give password_sha256, the SHA-256 of the password in hex (printf %s "
              "'secret' | sha256sum)\n"
              "fleet.yaml:29: ingest.users[0].password_sha256: required field is missing");
    EXPECT_EQ(
        problems(yaml + "    - {name: 1app, password_sha256: " + app_hash + "}\n"),
        "fleet.yaml:29: ingest.users[0].name: '1app' is not a valid name: letters, digits, '_', '.' and "
        "'-', starting with a letter or '_'");
}

TEST(FleetLoader, IngestMappingTableProblems) {
    EXPECT_EQ(problems(base_fleet + mapping_table + "ingest:\n  mapping_table: company_region_mappin\n"),
              "fleet.yaml:28: ingest.mapping_table: unknown table 'company_region_mappin'; did you mean "
              "'company_region_mapping'?");
    EXPECT_EQ(problems(base_fleet + "ingest:\n  mapping_table: owners\n"),
              "fleet.yaml:23: ingest.mapping_table: unknown table 'owners' (tables: t)");
    EXPECT_EQ(
        problems(base_fleet + "ingest:\n  mapping_table: t\n"),
        "fleet.yaml:23: ingest.mapping_table: the mapping table 't' needs a column 'region' of type "
        "String\n"
        "fleet.yaml:23: ingest.mapping_table: the mapping table 't' needs a column 'updated_at' of type "
        "DateTime");
    EXPECT_EQ(problems(base_fleet + view + "ingest:\n  mapping_table: v\n"),
              "fleet.yaml:30: ingest.mapping_table: 'v' is a materialized view; the mapping table must be a "
              "table, which chfleet residency writes to");
    // Another table named explicitly: company_region_mapping is then an ordinary table.
    Fleet fleet =
        parseFleet(base_fleet + edit(mapping_table, "type: DateTime}]", "type: Date}]") +
                       "    - name: owners\n      columns: [{name: k, type: String}, {name: region, "
                       "type: String}, {name: updated_at, type: DateTime}]\n      order_by: k\n"
                       "      region_key: k\ningest: {mapping_table: owners}\n",
                   "fleet.yaml");
    EXPECT_EQ(ingest::ingestConfig(fleet).mapping_table, "owners");
}

TEST(FleetLoader, DefaultRegion) {
    std::string two_regions = edit(
        base_fleet, "        replicas: 1\n",
        "        replicas: 1\n      - {name: us-east-1, alias: us, cluster: a_us, shards: 1, replicas: 1}\n");
    // Line 22 region_key, 23 default_region.
    Fleet by_alias = parseFleet(
        edit(two_regions, "      region_key: k\n", "      region_key: k\n      default_region: us\n"),
        "fleet.yaml");
    EXPECT_EQ(ingest::defaultRegion(by_alias.schema.tables[0]), "us-east-1");
    Fleet by_name = parseFleet(
        edit(two_regions, "      region_key: k\n", "      region_key: k\n      default_region: us-east-1\n"),
        "fleet.yaml");
    EXPECT_EQ(ingest::defaultRegion(by_name.schema.tables[0]), "us-east-1");
    EXPECT_EQ(by_name, by_alias);
    EXPECT_EQ(problems(edit(two_regions, "      region_key: k\n",
                            "      region_key: k\n      default_region: eu\n")),
              "fleet.yaml:23: schema.tables[0].default_region: unknown region 'eu' (regions: r1, us-east-1 "
              "(alias us))");
    EXPECT_EQ(problems(base_fleet +
                       edit(view, "      order_by: k\n", "      order_by: k\n      default_region: r1\n")),
              "fleet.yaml:28: schema.tables[1].default_region: only a table has this field: ingest writes to "
              "tables, and a materialized view's rows follow its source's");
}

TEST(FleetSecret, FromEnvironment) {
    SecretRef ref{"CHFLEET_TEST_SECRET_VARIABLE", ""};
    ::unsetenv("CHFLEET_TEST_SECRET_VARIABLE");
    try {
        ref.resolve();
        FAIL() << "no exception";
    } catch (const Exception& e) {
        EXPECT_EQ(e.code(), ErrorCode::InvalidConfig);
        EXPECT_NE(std::string(e.what()).find("CHFLEET_TEST_SECRET_VARIABLE"), std::string::npos);
    }
    ::setenv("CHFLEET_TEST_SECRET_VARIABLE", "s3cret value", 1);
    EXPECT_EQ(ref.resolve(), "s3cret value");
    EXPECT_EQ(ref.describe(), "env CHFLEET_TEST_SECRET_VARIABLE");
    ::unsetenv("CHFLEET_TEST_SECRET_VARIABLE");
    EXPECT_EQ(SecretRef{}.resolve(), "");
}

TEST(FleetSecret, FromASystemdCredentialOfTheVariablesName) {
    chfleet::testing::TempDir dir("chfleet-credentials-test");
    std::ofstream(dir / "CHFLEET_TEST_CREDENTIAL") << "from systemd\n";
    std::filesystem::permissions(dir / "CHFLEET_TEST_CREDENTIAL", std::filesystem::perms::owner_read);
    SecretRef ref{"CHFLEET_TEST_CREDENTIAL", ""};
    ::unsetenv("CHFLEET_TEST_CREDENTIAL");
    ::setenv("CREDENTIALS_DIRECTORY", dir.string().c_str(), 1);
    EXPECT_EQ(ref.resolve(), "from systemd");
    ::setenv("CHFLEET_TEST_CREDENTIAL", "from the environment", 1);
    EXPECT_EQ(ref.resolve(), "from the environment") << "the variable, when set, wins";
    ::unsetenv("CHFLEET_TEST_CREDENTIAL");
    ::unsetenv("CREDENTIALS_DIRECTORY");
    EXPECT_THROW(ref.resolve(), Exception);
}

TEST(FleetSecret, FromFileTrimsOneNewline) {
    chfleet::testing::TempDir dir("chfleet-secret-test");
    auto path = dir / "secret";
    std::ofstream(path) << "pass word\n\n";
    std::filesystem::permissions(path,
                                 std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    SecretRef ref{"", path.string()};
    EXPECT_EQ(ref.resolve(), "pass word\n");
    std::ofstream(path) << "pw\n";
    EXPECT_EQ(ref.resolve(), "pw");
    std::filesystem::remove(path);
    try {
        ref.resolve();
        FAIL() << "no exception";
    } catch (const Exception& e) {
        EXPECT_EQ(e.code(), ErrorCode::InvalidConfig);
        EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos);
        EXPECT_EQ(std::string(e.what()).find("pw\n"), std::string::npos);
    }
}

}  // namespace
}  // namespace chfleet::topology
