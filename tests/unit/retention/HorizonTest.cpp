#include <gtest/gtest.h>

#include "../support/TempDir.h"
#include "retention/Horizon.h"
#include "retention/RetentionPlan.h"
#include "retention/RetentionState.h"

namespace chfleet::retention {
namespace {

constexpr uint64_t kNow = 1797000000;  // 2026-12-13 13:20:00 UTC

TEST(Horizon, APartitionIsPastOnlyWhenItsNewestValueIs) {
    EXPECT_EQ(horizonOf(90, kNow), kNow - 90 * kSecondsPerDay);
    EXPECT_TRUE(isPastHorizon(kNow - 90 * kSecondsPerDay - 1, 90, kNow));
    EXPECT_FALSE(isPastHorizon(kNow - 90 * kSecondsPerDay, 90, kNow));
    EXPECT_FALSE(isPastHorizon(kNow, 90, kNow));
    EXPECT_FALSE(isPastHorizon(0, 0, kNow)) << "no policy: kept for ever";
    EXPECT_EQ(horizonOf(100000, 1000), 0u);
}

TEST(Horizon, ADateCountsUntilItsDayHasEndedEverywhere) {
    uint64_t day = kNow / kSecondsPerDay - 30;  // 30 days ago
    EXPECT_EQ(valueSeconds(ValueKind::Date, day), (day + 2) * kSecondsPerDay);
    EXPECT_EQ(valueSeconds(ValueKind::DateTime, 1234), 1234u);
    // 29 full days of a 30-day policy have not passed since the end of that day in UTC-12.
    EXPECT_FALSE(isPastHorizon(valueSeconds(ValueKind::Date, day), 30, kNow));
    EXPECT_TRUE(isPastHorizon(valueSeconds(ValueKind::Date, day), 27, kNow));
}

TEST(Horizon, ColumnKinds) {
    EXPECT_EQ(valueKindOf("Date"), ValueKind::Date);
    EXPECT_EQ(valueKindOf("DateTime"), ValueKind::DateTime);
    EXPECT_EQ(valueKindOf("DateTime('Europe/Berlin')"), ValueKind::DateTime);
    EXPECT_EQ(valueKindOf("Nullable(DateTime)"), ValueKind::Unsupported);
    EXPECT_EQ(valueKindOf("DateTime64(3)"), ValueKind::Unsupported);
    EXPECT_EQ(valueKindOf("Date32"), ValueKind::Unsupported);
}

// The trim condition selects exactly the rows isPastHorizon calls past, for both kinds.
TEST(Horizon, TrimConditionMatchesTheHorizon) {
    uint64_t horizon = horizonOf(90, kNow);
    EXPECT_EQ(pastHorizonSql("timestamp", ValueKind::DateTime, horizon),
              "toUInt32(`timestamp`) < " + std::to_string(horizon));
    std::string date_sql = pastHorizonSql("date", ValueKind::Date, horizon);
    uint64_t bound = std::stoull(date_sql.substr(date_sql.rfind(' ') + 1));
    for (uint64_t day = bound - 3; day <= bound + 3; ++day) {
        EXPECT_EQ(day < bound, isPastHorizon(valueSeconds(ValueKind::Date, day), 90, kNow)) << day;
    }
}

TEST(Horizon, Verdicts) {
    PartitionFacts facts;
    EXPECT_EQ(verdictOf(facts, 90, kNow), Verdict::Unknown);
    facts.dated = true;
    uint64_t horizon = horizonOf(90, kNow);
    facts.oldest = horizon - 10;
    facts.newest = horizon - 1;
    EXPECT_EQ(verdictOf(facts, 90, kNow), Verdict::Expired);
    facts.newest = horizon;
    EXPECT_EQ(verdictOf(facts, 90, kNow), Verdict::Straddling);
    facts.oldest = horizon;
    EXPECT_EQ(verdictOf(facts, 90, kNow), Verdict::Keep);
}

TEST(RetentionState, RoundTripAndAMissingFileIsEmpty) {
    testing::TempDir dir("chfleet-retention");
    std::string path = (dir / "retention-state.json").string();
    EXPECT_TRUE(loadState(path).empty());
    RetentionState state;
    state[stateKey("primary", "eu-central-1", "events")] = LastRun{kNow, 3, 1200, true};
    state[stateKey("dr", "us-east-1", "vis_scores")] = LastRun{kNow + 5, 0, 0, false};
    saveState(path, state);
    EXPECT_EQ(loadState(path), state);
}

}  // namespace
}  // namespace chfleet::retention
