#include <gtest/gtest.h>

#include <map>
#include <string>

#include "../support/EmbeddedEngine.h"
#include "clickhouse/Quoting.h"
#include "clickhouse/Result.h"
#include "schema/SchemaDiff.h"
#include "schema/SchemaPlan.h"
#include "shared/EmbeddedConnection.h"

namespace chfleet::schema {
namespace {

/// examples/<name>/fleet.yaml, loaded once.
const topology::Fleet& example(const std::string& name) {
    static std::map<std::string, topology::Fleet> loaded;
    auto it = loaded.find(name);
    if (it == loaded.end()) {
        it = loaded
                 .emplace(name, topology::loadFleet(std::string(CHFLEET_SOURCE_DIR) + "/examples/" + name +
                                                    "/fleet.yaml"))
                 .first;
    }
    return it->second;
}

const topology::Fleet& teei() {
    return example("teei");
}

const PlannedObject& find(const std::vector<PlannedObject>& plan, const std::string& name) {
    for (const auto& object : plan) {
        if (object.shape.name == name) {
            return object;
        }
    }
    throw std::runtime_error("no planned object " + name);
}

TEST(SchemaPlan, LocalTablesAreReplicatedAtTheRegionShardPath) {
    auto plan = planForSite(teei(), *teei().site("primary"));
    const auto& events = find(plan, "events_local");
    EXPECT_EQ(events.kind, ObjectKind::LocalTable);
    EXPECT_NE(
        events.create_sql.find("ENGINE = ReplicatedMergeTree('/clickhouse/tables/{region}/{shard}/events', "
                               "'{replica}')"),
        std::string::npos)
        << events.create_sql;
    EXPECT_EQ(events.shape.engine, "ReplicatedMergeTree");
    EXPECT_EQ(events.shape.sorting_key, "company_id,timestamp");
    const auto& metrics = find(plan, "metrics_company_period_local");
    EXPECT_NE(metrics.create_sql.find("ReplicatedReplacingMergeTree('/clickhouse/tables/{region}/{shard}/"
                                      "metrics_company_period', '{replica}', created_at)"),
              std::string::npos)
        << metrics.create_sql;
}

TEST(SchemaPlan, RegionalTablesShardAndTheGlobalTableDoesNot) {
    auto plan = planForSite(teei(), *teei().site("primary"));
    const auto& eu = find(plan, "events_eu_distributed");
    EXPECT_EQ(eu.kind, ObjectKind::RegionalDistributed);
    EXPECT_NE(
        eu.create_sql.find("Distributed('teei_eu_cluster', 'teei', 'events_local', cityHash64(company_id))"),
        std::string::npos)
        << eu.create_sql;
    const auto& global = find(plan, "events_distributed");
    EXPECT_EQ(global.kind, ObjectKind::GlobalDistributed);
    EXPECT_NE(global.create_sql.find("Distributed('teei_global_cluster', 'teei', 'events_local')"),
              std::string::npos)
        << global.create_sql;
    EXPECT_EQ(global.shape.distribution, "teei_global_cluster,teei,events_local");
    auto dr = planForSite(teei(), *teei().site("dr"));
    EXPECT_NE(find(dr, "events_us_distributed").create_sql.find("teei_dr_us_cluster"), std::string::npos);
}

TEST(SchemaPlan, ViewsComeAfterTheirSourceAndDistributedTablesLast) {
    auto plan = planForSite(teei(), *teei().site("primary"));
    size_t last_local = 0, first_view = plan.size(), last_view = 0, first_distributed = plan.size();
    for (size_t i = 0; i < plan.size(); ++i) {
        switch (plan[i].kind) {
            case ObjectKind::LocalTable:
                last_local = i;
                break;
            case ObjectKind::MaterializedView:
                first_view = std::min(first_view, i);
                last_view = i;
                break;
            default:
                first_distributed = std::min(first_distributed, i);
        }
    }
    EXPECT_LT(last_local, first_view);
    EXPECT_LT(last_view, first_distributed);
    const auto& view = find(plan, "mv_daily_company_metrics_local");
    EXPECT_NE(view.create_sql.find("FROM `teei`.`events_local`"), std::string::npos) << view.create_sql;
}

TEST(SchemaPlan, NormalizeExpressionIgnoresSpacingQuotesAndOuterParentheses) {
    EXPECT_EQ(normalizeExpression("(company_id, timestamp)"), "company_id,timestamp");
    EXPECT_EQ(normalizeExpression("company_id, timestamp"), "company_id,timestamp");
    EXPECT_EQ(normalizeExpression("(a, b) + (c)"), "(a,b)+(c)");
    EXPECT_EQ(normalizeExpression("Enum8('a' = 1)"), "Enum8(a=1)");
    EXPECT_EQ(normalizeType("Decimal64(2)"), "Decimal(18,2)");
    EXPECT_EQ(normalizeType("Nullable(Decimal32(4))"), "Nullable(Decimal(9,4))");
    EXPECT_EQ(normalizeType("Decimal(18, 2)"), "Decimal(18,2)");
    EXPECT_EQ(distributionFromEngineFull("Distributed('c', 'db', 't_local', cityHash64(company_id))"),
              "c,db,t_local,cityHash64(company_id)");
}

TEST(SchemaDiff, CompareShapesNamesEachDifference) {
    TableShape expected{
        "t", "ReplicatedMergeTree", "toYYYYMM(ts)", "a,ts", "", {{"a", "String"}, {"ts", "DateTime"}}};
    TableShape actual = expected;
    EXPECT_TRUE(compareShapes(expected, actual, true).empty());
    actual.columns = {{"a", "UInt64"}, {"extra", "String"}};
    actual.sorting_key = "a";
    auto found = compareShapes(expected, actual, true);
    std::vector<std::string> what;
    for (const auto& f : found) {
        what.push_back(f.what);
    }
    EXPECT_EQ(what, (std::vector<std::string>{"ORDER BY differs", "type of column a differs",
                                              "column ts missing", "column extra unexpected"}));
}

/// How the embedded engine prints `sql` on one line (formatQuerySingleLine parses it without running it).
std::string parsed(clickhouse::Connection& engine, const std::string& sql) {
    return clickhouse::scalar(engine, "SELECT formatQuerySingleLine(" + clickhouse::quoteString(sql) + ")");
}

// Every statement the plan generates for the example fleets parses on a current ClickHouse (the embedded 26.x
// engine), as the one statement it was meant to be: a CREATE of that object with that engine.
TEST(SchemaPlan, EveryStatementParsesOnModernClickHouse) {
    CHFLEET_REQUIRE_EMBEDDED_ENGINE();
    clickhouse::EmbeddedConnection engine;
    // The database, then for each site and each table or view: the local table or view, one regional
    // Distributed table per region and the site's Distributed table. teei: 2 sites x 9 tables x (1 + 2 + 1);
    // pair: 2 sites x 1 table x (1 + 1 + 1).
    const std::pair<const topology::Fleet*, size_t> examples[] = {{&teei(), 1 + 2 * 9 * 4},
                                                                  {&example("pair"), 1 + 2 * 1 * 3}};
    for (const auto& [fleet, expected_statements] : examples) {
        SCOPED_TRACE(fleet->name);
        size_t statements = 1;
        EXPECT_EQ(parsed(engine, createDatabaseSql(*fleet)),
                  "CREATE DATABASE IF NOT EXISTS " + fleet->schema.database);
        for (const auto& site : fleet->sites) {
            for (const auto& object : planForSite(*fleet, site)) {
                ++statements;
                std::string read;
                ASSERT_NO_THROW(read = parsed(engine, object.create_sql)) << object.create_sql;
                std::string name = fleet->schema.database + "." + object.shape.name;
                switch (object.kind) {
                    case ObjectKind::LocalTable:
                        EXPECT_TRUE(read.starts_with("CREATE TABLE IF NOT EXISTS " + name + " (")) << read;
                        EXPECT_NE(read.find(") ENGINE = Replicated"), std::string::npos) << read;
                        break;
                    case ObjectKind::MaterializedView:
                        EXPECT_TRUE(read.starts_with("CREATE MATERIALIZED VIEW IF NOT EXISTS " + name +
                                                     " ENGINE = Replicated"))
                            << read;
                        EXPECT_NE(read.find(" AS SELECT "), std::string::npos) << read;
                        break;
                    case ObjectKind::RegionalDistributed:
                    case ObjectKind::GlobalDistributed:
                        EXPECT_TRUE(read.starts_with("CREATE TABLE IF NOT EXISTS " + name + " (")) << read;
                        EXPECT_NE(read.find(") ENGINE = Distributed('"), std::string::npos) << read;
                        break;
                }
            }
        }
        EXPECT_EQ(statements, expected_statements);
    }
}

}  // namespace
}  // namespace chfleet::schema

namespace chfleet::schema {
namespace {

// On a server with TTL, each node's tables get the retention of the node's region: an EU node 730 days, a
// US node 2555, with ttl_only_drop_parts where the server has it; 18.16 nodes get no TTL clause at all.
TEST(SchemaPlan, TtlIsRenderedFromTheNodesRegion) {
    const auto& site = *teei().site("primary");
    auto eu = planForNode(teei(), site, {"eu-central-1", true, true});
    auto us = planForNode(teei(), site, {"us-east-1", true, true});
    auto old = planForNode(teei(), site, {"eu-central-1", false, false});
    const std::string metrics = "metrics_company_period_local";
    EXPECT_NE(
        find(eu, metrics)
            .create_sql.find(
                "ORDER BY (company_id, metric_name, period_start, period_end) TTL `created_at` + INTERVAL "
                "730 DAY SETTINGS ttl_only_drop_parts = 1"),
        std::string::npos)
        << find(eu, metrics).create_sql;
    EXPECT_NE(find(us, metrics).create_sql.find("TTL `created_at` + INTERVAL 2555 DAY SETTINGS"),
              std::string::npos)
        << find(us, metrics).create_sql;
    EXPECT_EQ(find(old, metrics).create_sql.find("TTL"), std::string::npos) << find(old, metrics).create_sql;
    EXPECT_EQ(find(old, metrics).create_sql, find(planForSite(teei(), site), metrics).create_sql);
    // Raw events: 90 days in both regions; a view's TTL sits in its storage, before AS SELECT.
    EXPECT_NE(find(eu, "events_local").create_sql.find("TTL `timestamp` + INTERVAL 90 DAY"),
              std::string::npos);
    EXPECT_NE(find(us, "events_local").create_sql.find("TTL `timestamp` + INTERVAL 90 DAY"),
              std::string::npos);
    const auto& view = find(eu, "mv_daily_company_metrics_local").create_sql;
    EXPECT_NE(view.find("TTL `date` + INTERVAL 730 DAY SETTINGS ttl_only_drop_parts = 1 AS SELECT"),
              std::string::npos)
        << view;
    // A server without the setting gets the TTL alone; a table without retention gets none.
    auto no_setting = planForNode(teei(), site, {"eu-central-1", true, false});
    EXPECT_EQ(find(no_setting, metrics).create_sql.find("SETTINGS"), std::string::npos);
    EXPECT_EQ(find(eu, "company_region_mapping_local").create_sql.find("TTL"), std::string::npos);
}

// The rendered CREATE of an EU node is accepted by ClickHouse 26.x and its TTL removes exactly the rows past
// the EU horizon. The embedded engine has no keeper, so the test swaps the Replicated engine for its plain
// MergeTree (the engine clause is not the TTL's business); everything after ORDER BY is the plan's.
TEST(SchemaPlan, RenderedTtlRunsOnModernClickHouseAndExpiresEuRows) {
    CHFLEET_REQUIRE_EMBEDDED_ENGINE();
    clickhouse::EmbeddedConnection engine;
    auto eu = planForNode(teei(), *teei().site("primary"), {"eu-central-1", true, true});
    for (const auto& object : eu) {
        ASSERT_NO_THROW(parsed(engine, object.create_sql)) << object.create_sql;
    }
    std::string sql = find(eu, "vis_scores_local").create_sql;
    ASSERT_NO_THROW(parsed(engine, sql)) << sql;
    // ReplicatedReplacingMergeTree('/clickhouse/tables/{region}/{shard}/vis_scores', '{replica}', created_at)
    // -> ReplacingMergeTree(created_at)
    auto replicated = sql.find("ENGINE = Replicated");
    auto arguments = sql.find("('/clickhouse/tables/", replicated);
    auto replica = sql.find("'{replica}', ", arguments);
    ASSERT_NE(replica, std::string::npos) << sql;
    sql.erase(arguments + 1, replica + 13 - (arguments + 1));
    sql.erase(replicated + 9, 10);
    EXPECT_NE(sql.find("ENGINE = ReplacingMergeTree(created_at) PARTITION BY"), std::string::npos) << sql;
    const std::string database = "schema_ttl_test";
    sql.replace(sql.find("`teei`"), 6, database);
    clickhouse::execute(engine, "DROP DATABASE IF EXISTS " + database);
    clickhouse::execute(engine, "CREATE DATABASE " + database);
    clickhouse::execute(engine, sql);
    // Three years old (past the EU 730 days), one year old (inside), in separate monthly partitions.
    clickhouse::execute(engine, "INSERT INTO " + database +
                                    ".vis_scores_local (company_id, volunteer_id, score, created_at) VALUES "
                                    "('acme-gmbh', 'v1', 1, now() - INTERVAL 3 YEAR), "
                                    "('acme-gmbh', 'v2', 2, now() - INTERVAL 1 YEAR)");
    clickhouse::execute(engine, "ALTER TABLE " + database + ".vis_scores_local MATERIALIZE TTL",
                        {{"mutations_sync", "2"}});
    EXPECT_EQ(
        clickhouse::scalar(engine, "SELECT groupArray(volunteer_id) FROM " + database + ".vis_scores_local"),
        "['v2']");
    clickhouse::execute(engine, "DROP DATABASE " + database);
}

}  // namespace
}  // namespace chfleet::schema
