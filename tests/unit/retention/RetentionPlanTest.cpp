#include <fmt/format.h>
#include <gtest/gtest.h>

#include "../support/EmbeddedEngine.h"
#include "clickhouse/Quoting.h"
#include "clickhouse/Result.h"
#include "retention/RetentionPlan.h"
#include "shared/EmbeddedConnection.h"

namespace chfleet::retention {
namespace {

constexpr uint64_t kNow = 1797000000;                        // 2026-12-13 13:20:00 UTC
const uint64_t kEventsHorizon = kNow - 90 * kSecondsPerDay;  // 2026-09-14 13:20:00 UTC

const topology::Fleet& teei() {
    static const topology::Fleet fleet =
        topology::loadFleet(std::string(CHFLEET_SOURCE_DIR) + "/examples/teei/fleet.yaml");
    return fleet;
}

/// A database of the embedded ClickHouse 26.x engine, dropped afterwards.
class RetentionPlanTest : public ::testing::Test {
  protected:
    void SetUp() override {
        CHFLEET_REQUIRE_EMBEDDED_ENGINE();
        engine_ = std::make_unique<clickhouse::EmbeddedConnection>();
        clickhouse::execute(*engine_, "DROP DATABASE IF EXISTS " + kDatabase);
        clickhouse::execute(*engine_, "CREATE DATABASE " + kDatabase);
    }
    void TearDown() override {
        if (engine_ != nullptr) {
            clickhouse::execute(*engine_, "DROP DATABASE IF EXISTS " + kDatabase);
        }
    }
    void run(const std::string& sql) { clickhouse::execute(*engine_, sql); }

    const std::string kDatabase = "retention_plan_test";
    std::unique_ptr<clickhouse::EmbeddedConnection> engine_;
};

// One planning query reads every partition's range from the server's metadata: a DateTime column partitioned
// by month gives exact newest/oldest values; a Date column gives day numbers read as the end of their day.
TEST_F(RetentionPlanTest, OneQueryGivesEachPartitionsRangeAndVerdict) {
    run("CREATE TABLE " + kDatabase +
        ".events_local (company_id String, timestamp DateTime) ENGINE = MergeTree "
        "PARTITION BY toYYYYMM(timestamp) ORDER BY company_id");
    uint64_t expired = 1780000000;                          // 2026-05-28: past the 90 days
    uint64_t before = kEventsHorizon - 5 * kSecondsPerDay;  // 2026-09-09
    uint64_t after = kEventsHorizon + 5 * kSecondsPerDay;   // 2026-09-19: same month, inside
    uint64_t recent = 1796000000;                           // 2026-11-29
    run("INSERT INTO " + kDatabase + ".events_local SELECT 'acme', toDateTime(arrayJoin([" +
        fmt::format("{}, {}, {}, {}", expired, before, after, recent) + "]))");
    run("CREATE TABLE " + kDatabase +
        ".`.inner.mv_daily_region_events_local` (date Date, region String, event_count UInt64) "
        "ENGINE = SummingMergeTree(event_count) PARTITION BY toYYYYMM(date) ORDER BY (date, region)");
    uint64_t old_day = 1700000000 / kSecondsPerDay;  // 2023-11-14: past the EU 730 days
    run("INSERT INTO " + kDatabase + ".`.inner.mv_daily_region_events_local` VALUES (toDate(" +
        std::to_string(old_day) + "), 'eu-central-1', 3)");

    auto tables = retainedTables(teei(), "eu-central-1");
    auto facts = readNodeFacts(*engine_, kDatabase, tables);
    EXPECT_EQ(facts.queries, 1);
    const auto& events = facts.tables.at("events");
    EXPECT_EQ(events.unknown_reason, "");
    ASSERT_EQ(events.partitions.size(), 3u);
    const auto& september = events.partitions.at("202609");
    EXPECT_TRUE(september.dated);
    EXPECT_EQ(september.oldest, before);
    EXPECT_EQ(september.newest, after);
    EXPECT_EQ(september.rows, 2u);
    EXPECT_EQ(verdictOf(september, 90, kNow), Verdict::Straddling);
    EXPECT_EQ(verdictOf(events.partitions.at("202605"), 90, kNow), Verdict::Expired);
    EXPECT_EQ(verdictOf(events.partitions.at("202611"), 90, kNow), Verdict::Keep);

    const auto& daily = facts.tables.at("mv_daily_region_events");
    ASSERT_EQ(daily.partitions.size(), 1u);
    EXPECT_EQ(daily.partitions.begin()->second.newest, (old_day + 2) * kSecondsPerDay);
    EXPECT_EQ(verdictOf(daily.partitions.begin()->second, 730, kNow), Verdict::Expired);
    // The US keeps the same day for 7 years.
    EXPECT_EQ(verdictOf(daily.partitions.begin()->second, 2555, kNow), Verdict::Keep);
}

// A partition key with a second date column leaves the server's min/max unusable for the retention column:
// one scanning query reads it. A key that does not use the column at all makes every partition unknown.
TEST_F(RetentionPlanTest, KeysTheMetadataCannotServeAreScannedOrKept) {
    run("CREATE TABLE " + kDatabase +
        ".sroi_calculations_local (company_id String, period_start Date, created_at DateTime) ENGINE = "
        "MergeTree PARTITION BY (toYYYYMM(period_start), toYYYYMM(created_at)) ORDER BY company_id");
    run("INSERT INTO " + kDatabase +
        ".sroi_calculations_local VALUES ('acme', toDate('2020-01-01'), toDateTime(1600000000)), "
        "('acme', toDate('2020-01-01'), toDateTime(1600100000))");
    run("CREATE TABLE " + kDatabase +
        ".user_activity_local (company_id String, region String, timestamp DateTime) ENGINE = MergeTree "
        "PARTITION BY region ORDER BY company_id");
    run("INSERT INTO " + kDatabase + ".user_activity_local VALUES ('acme', 'eu', toDateTime(1600000000))");

    auto facts = readNodeFacts(*engine_, kDatabase, retainedTables(teei(), "eu-central-1"));
    EXPECT_EQ(facts.queries, 2);
    const auto& sroi = facts.tables.at("sroi_calculations");
    EXPECT_EQ(sroi.unknown_reason, "");
    ASSERT_EQ(sroi.partitions.size(), 1u);
    EXPECT_TRUE(sroi.partitions.begin()->second.dated);
    EXPECT_EQ(sroi.partitions.begin()->second.oldest, 1600000000u);
    EXPECT_EQ(sroi.partitions.begin()->second.newest, 1600100000u);

    const auto& activity = facts.tables.at("user_activity");
    EXPECT_NE(activity.unknown_reason.find("does not use timestamp"), std::string::npos)
        << activity.unknown_reason;
    ASSERT_EQ(activity.partitions.size(), 1u);
    EXPECT_EQ(verdictOf(activity.partitions.begin()->second, 90, kNow), Verdict::Unknown);
}

// The planning query parses as one SELECT on 26.x (it also runs there: the tests above).
TEST_F(RetentionPlanTest, PlanningQueryIsOneStatement) {
    std::string sql = planningSql("teei", retainedTables(teei(), "us-east-1"));
    std::string formatted =
        clickhouse::scalar(*engine_, "SELECT formatQuerySingleLine(" + clickhouse::quoteString(sql) + ")");
    EXPECT_TRUE(formatted.starts_with("SELECT t, partition_id")) << formatted;
}

}  // namespace
}  // namespace chfleet::retention
