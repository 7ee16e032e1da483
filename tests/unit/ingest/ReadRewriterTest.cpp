#include <gtest/gtest.h>

#include <string>

#include "ingest/protocol/ReadRewriter.h"
#include "topology/Fleet.h"

namespace chfleet::ingest {
namespace {

class ReadRewriterTest : public ::testing::Test {
  protected:
    ReadRewriterTest()
        : fleet_(topology::loadFleet(std::string(CHFLEET_SOURCE_DIR) + "/examples/teei/fleet.yaml")),
          rewriter_(fleet_.schema, *fleet_.site("primary")) {}

    ReadPlan plan(const std::string& sql, const std::string& database = "default") const {
        return rewriter_.plan(sql, database);
    }
    std::string rewritten(const std::string& sql, const std::string& database = "default") const {
        return plan(sql, database).sql;
    }

    topology::Fleet fleet_;
    ReadRewriter rewriter_;
};

TEST_F(ReadRewriterTest, LogicalNamesWhereTablesAreReadBecomeTheGlobalTable) {
    EXPECT_EQ(rewritten("SELECT count() FROM teei.events"),
              "SELECT count() FROM `teei`.`events_distributed`");
    EXPECT_EQ(rewritten("select count() from events where 1", "teei"),
              "select count() from `teei`.`events_distributed` where 1");
    EXPECT_EQ(rewritten("SELECT * FROM `teei`.\"events\" FORMAT JSON"),
              "SELECT * FROM `teei`.`events_distributed` FORMAT JSON");
    EXPECT_EQ(rewritten("SELECT x FROM (SELECT count() AS x FROM teei.vis_scores)"),
              "SELECT x FROM (SELECT count() AS x FROM `teei`.`vis_scores_distributed`)");
    EXPECT_EQ(rewritten("DESCRIBE TABLE teei.events"), "DESCRIBE TABLE `teei`.`events_distributed`");
    EXPECT_EQ(rewritten("desc events", "teei"), "desc `teei`.`events_distributed`");
    EXPECT_EQ(rewritten("EXISTS TABLE teei.events"), "EXISTS TABLE `teei`.`events_distributed`");
    EXPECT_EQ(rewritten("SHOW CREATE TABLE teei.events"), "SHOW CREATE TABLE `teei`.`events_distributed`");
}

TEST_F(ReadRewriterTest, LiteralsCommentsQuotedAliasesAndOtherDatabasesAreNeverRewritten) {
    for (const std::string sql :
         {"SELECT 'FROM teei.events' AS s", "SELECT 1 -- FROM teei.events\n", "SELECT 1 /* FROM events */",
          "SELECT count() FROM other.events", "SELECT `FROM teei.events` FROM system.one",
          "SELECT EXTRACT(DAY FROM events) FROM t", "SELECT 1 FROM events", "SELECT 'it''s', 'a\\'b' FROM t",
          "SELECT * FROM numbers(3)", "SELECT * FROM teei.events_local", "SELECT * FROM t ARRAY JOIN events",
          "SELECT 1 FROM teei.events_us_distributed"}) {
        EXPECT_EQ(rewritten(sql), sql) << sql;
    }
    // An unterminated literal or comment is passed on as it is: the server names the syntax error.
    EXPECT_EQ(rewritten("SELECT 'x FROM teei.events"), "SELECT 'x FROM teei.events");
    EXPECT_EQ(rewritten("SELECT 1 /* FROM teei.events"), "SELECT 1 /* FROM teei.events");
}

TEST_F(ReadRewriterTest, JoinsOfTwoLogicalTablesReadBothGlobalTables) {
    auto result = plan(
        "SELECT e.company_id, count() FROM teei.events AS e ANY LEFT JOIN teei.user_activity AS u USING "
        "company_id GROUP BY e.company_id");
    EXPECT_EQ(result.sql,
              "SELECT e.company_id, count() FROM `teei`.`events_distributed` AS e ANY LEFT JOIN "
              "`teei`.`user_activity_distributed` AS u USING company_id GROUP BY e.company_id");
    EXPECT_FALSE(result.pin);
}

TEST_F(ReadRewriterTest, ColumnsQualifiedByTheLogicalNameKeepItAsTheAlias) {
    EXPECT_EQ(rewritten("SELECT events.company_id FROM teei.events"),
              "SELECT events.company_id FROM `teei`.`events_distributed` AS `events`");
    EXPECT_EQ(rewritten("SELECT count() AS events FROM teei.events"),
              "SELECT count() AS events FROM `teei`.`events_distributed`");
}

TEST_F(ReadRewriterTest, ALogicalNameWhereNoTableIsReadIsRefused) {
    EXPECT_THROW(plan("SELECT teei.events.company_id FROM teei.events"), UnsafeRead);
    EXPECT_THROW(plan("SELECT 1 WHERE company_id IN teei.events"), UnsafeRead);
}

TEST_F(ReadRewriterTest, ShowTablesListsTheLogicalNamesBeside) {
    auto sql = rewritten("SHOW TABLES FROM teei LIKE 'ev%' FORMAT TSV");
    EXPECT_NE(sql.find("system.tables WHERE database = 'teei'"), std::string::npos) << sql;
    EXPECT_NE(sql.find("'events', 'user_activity'"), std::string::npos) << sql;
    EXPECT_NE(sql.find("WHERE name LIKE 'ev%' ORDER BY name FORMAT TSV"), std::string::npos) << sql;
    EXPECT_NE(rewritten("SHOW TABLES", "teei").find("system.tables"), std::string::npos);
    EXPECT_EQ(rewritten("SHOW TABLES FROM system"), "SHOW TABLES FROM system");
    EXPECT_EQ(rewritten("SHOW DATABASES"), "SHOW DATABASES");
}

TEST_F(ReadRewriterTest, ASelectOfOneTablePinningOneCompanyCanRunOnItsShard) {
    auto result = plan(
        "SELECT event_type, count() AS n FROM teei.events WHERE timestamp BETWEEN '2025-01-01' AND "
        "'2025-02-01' AND company_id = 'acme' GROUP BY event_type ORDER BY n DESC LIMIT 3 FORMAT JSON");
    ASSERT_TRUE(result.pin);
    EXPECT_EQ(result.pin->company, "acme");
    EXPECT_EQ(result.pin->table->name, "events");
    EXPECT_EQ(result.pin->region, nullptr);
    EXPECT_EQ(
        result.pin->local_sql,
        "SELECT event_type, count() AS n FROM `teei`.`events_local` WHERE timestamp BETWEEN '2025-01-01' "
        "AND '2025-02-01' AND company_id = 'acme' GROUP BY event_type ORDER BY n DESC LIMIT 3 FORMAT JSON");
    auto regional = plan("SELECT count() FROM teei.events_eu_distributed PREWHERE 'a\\'b' = company_id");
    ASSERT_TRUE(regional.pin);
    EXPECT_EQ(regional.pin->company, "a'b");
    ASSERT_NE(regional.pin->region, nullptr);
    EXPECT_EQ(regional.pin->region->name, "eu-central-1");
    EXPECT_EQ(regional.pin->local_sql,
              "SELECT count() FROM `teei`.`events_local` PREWHERE 'a\\'b' = company_id");
}

TEST_F(ReadRewriterTest, AnythingElseGoesTheGeneralWay) {
    for (const std::string sql : {
             "SELECT count() FROM teei.events WHERE company_id = 'a' OR 1",
             "SELECT count() FROM teei.events WHERE (company_id = 'a' OR 1)",
             "SELECT count() FROM teei.events WHERE NOT company_id = 'a'",
             "SELECT count() FROM teei.events WHERE company_id = 'a' = 0",
             "SELECT count() FROM teei.events WHERE company_id != 'a'",
             "SELECT count() FROM teei.events WHERE company_id = 'a' AND company_id = 'b'",
             "SELECT count() FROM teei.events WHERE user_id = 'a'",
             "SELECT count() FROM teei.events WHERE x IN (SELECT 1) AND company_id = 'a'",
             "SELECT count() FROM teei.events WHERE CASE WHEN 1 THEN 1 END AND company_id = 'a'",
             "SELECT count() FROM teei.events WHERE x BETWEEN 1 AND company_id = 'a'",
             "SELECT count() FROM teei.events_local WHERE company_id = 'a'",
             "SELECT count() FROM teei.events AS e ANY LEFT JOIN teei.vis_scores USING company_id WHERE "
             "company_id = 'a'",
             "SELECT count() FROM teei.events WHERE company_id = 'a' UNION ALL SELECT 1",
             "SELECT count() FROM teei.events GROUP BY company_id HAVING company_id = 'a'",
         }) {
        EXPECT_FALSE(plan(sql).pin) << sql;
    }
    EXPECT_TRUE(plan("SELECT count() FROM teei.events WHERE (x = 1 OR y = 2) AND company_id = 'a'").pin);
}

}  // namespace
}  // namespace chfleet::ingest
