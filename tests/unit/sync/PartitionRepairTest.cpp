#include <gtest/gtest.h>

#include <set>
#include <stdexcept>

#include "clickhouse/ServerError.h"
#include "common/Exception.h"
#include "sync/PartitionRepair.h"

namespace chfleet::sync {
namespace {

TEST(StagingName, EveryAttemptGetsANameOfItsOwn) {
    std::set<std::string> names;
    for (int i = 0; i < 100; ++i) {
        std::string name = stagingName("primary|us|db.t|202612|1");
        EXPECT_TRUE(name.starts_with(kStagingPrefix)) << name;
        EXPECT_EQ(name.size(), kStagingPrefix.size() + 16) << name;
        names.insert(name);
    }
    EXPECT_EQ(names.size(), 100u) << "a repair attempt reused another's staging table name";
}

TEST(StagingTableRace, OnlyAMissingStagingTableIsRetried) {
    EXPECT_TRUE(isStagingTableRace(ServerException(clickhouse::server_code::kUnknownTable,
                                                   "Table db._chfleet_stage_a9ca99784477e640 doesn't exist.",
                                                   "127.0.0.1:8123")));
    // The table being repaired itself missing is a real problem: reported, not retried.
    EXPECT_FALSE(isStagingTableRace(ServerException(
        clickhouse::server_code::kUnknownTable, "Table db.events_local doesn't exist.", "127.0.0.1:8123")));
    // Another error naming a staging table (out of memory while copying into it) is not this race.
    EXPECT_FALSE(isStagingTableRace(
        ServerException(241, "Memory limit exceeded inserting into db._chfleet_stage_1", "127.0.0.1:8123")));
    EXPECT_FALSE(isStagingTableRace(Exception(ErrorCode::Timeout, "db._chfleet_stage_1 stopped answering")));
    EXPECT_FALSE(isStagingTableRace(std::runtime_error("_chfleet_stage_")));
}

}  // namespace
}  // namespace chfleet::sync
