#include <gtest/gtest.h>

#include <fstream>

#include "../support/TempDir.h"
#include "ingest/write/Ledger.h"

namespace chfleet::ingest {
namespace {

TEST(Ledger, ClaimsCommitsAndReleases) {
    Ledger ledger(100);
    EXPECT_EQ(ledger.claim("a"), Ledger::Claim::Claimed);
    EXPECT_EQ(ledger.claim("a"), Ledger::Claim::InFlight);
    ledger.release("a");
    EXPECT_EQ(ledger.claim("a"), Ledger::Claim::Claimed);
    ledger.commit("b1", {"a"});
    EXPECT_EQ(ledger.claim("a"), Ledger::Claim::Committed);
    EXPECT_TRUE(ledger.isCommitted("a"));
}

TEST(Ledger, ForgetsTheOldestBeyondItsWindow) {
    Ledger ledger(2);
    ledger.commit("b1", {"a", "b", "c"});
    EXPECT_FALSE(ledger.isCommitted("a"));
    EXPECT_TRUE(ledger.isCommitted("b"));
    EXPECT_TRUE(ledger.isCommitted("c"));
}

TEST(Ledger, AfterARestartKnowsCommittedSlicesAndBatchesBegunButNotConfirmed) {
    chfleet::testing::TempDir dir("chfleet-ledger");
    std::string path = (dir / "ledger.log").string();
    {
        Ledger ledger(100);
        EXPECT_TRUE(ledger.attach(path).empty());
        ledger.begin("b1", {"a", "b"});
        ledger.commit("b1", {"a", "b"});
        ledger.begin("b2", {"c", "d"});  // sent, then the process dies
    }
    {
        std::ofstream torn(path, std::ios::app);
        torn << "B b3 e";  // a line cut short by the crash
    }
    Ledger again(100);
    auto pending = again.attach(path);
    ASSERT_EQ(pending.size(), 1u);
    EXPECT_EQ(pending[0].batch_id, "b2");
    EXPECT_EQ(pending[0].slice_ids, (std::vector<std::string>{"c", "d"}));
    EXPECT_TRUE(again.isCommitted("a"));
    EXPECT_FALSE(again.isCommitted("c"));
    EXPECT_FALSE(again.isCommitted("e"));
    // The compacted file still holds b2 as begun until it is confirmed.
    again.commit("b2", {"c", "d"});
    Ledger third(100);
    EXPECT_TRUE(third.attach(path).empty());
    EXPECT_TRUE(third.isCommitted("d"));
}

}  // namespace
}  // namespace chfleet::ingest
