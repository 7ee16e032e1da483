// Ingest and erasure (teei sandbox, real servers, a real `chfleet ingest serve` and `chfleet erase run`):
// rows of a company accepted in async mode and still in the spool when the company is erased (its shard down)
// never reach a replica, while another company's rows of the same spool, batch and request land; and once
// erase has returned, a write of the erased company is refused whole with the documented error.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "IngestProcess.h"
#include "MapCompanies.h"
#include "TestFleet.h"
#include "clickhouse/Quoting.h"
#include "clickhouse/Result.h"
#include "common/Process.h"
#include "shared/WaitUntil.h"

namespace chfleet::testing {
namespace {

namespace ch = chfleet::clickhouse;

/// The salt of the sandbox's erasures, for erase and for every ingest server this binary starts.
const bool kSaltSet = ::setenv("CHFLEET_ERASE_SALT", "ingest-integration-salt-2c9e", 1) == 0;

TestFleet& fleet() {
    return FleetEnvironment::fleet();
}

/// Both replicas of a primary EU shard killed for its lifetime (or until restore()); started again whatever
/// happens.
class ShardDown {
  public:
    explicit ShardDown(int shard) {
        const auto* region = fleet().fleet().site("primary")->region("eu-central-1");
        for (int replica = 1; replica <= region->replicas; ++replica) {
            nodes_.push_back(region->node(shard, replica)->name);
            fleet().sandbox().kill(nodes_.back());
        }
    }
    ~ShardDown() { restore(); }
    ShardDown(const ShardDown&) = delete;
    ShardDown& operator=(const ShardDown&) = delete;
    void restore() {
        for (const auto& node : nodes_) {
            fleet().sandbox().start(node);
        }
        nodes_.clear();
    }

  private:
    std::vector<std::string> nodes_;
};

/// An EU company named `prefix`N on shard `shard` (of 2), as the servers hash it.
std::string euCompanyOnShard(const std::string& prefix, int shard) {
    for (int i = 0;; ++i) {
        std::string company = prefix + std::to_string(i);
        if (fleet().scalar("clickhouse-eu-0", "SELECT cityHash64(" + ch::quoteString(company) +
                                                  ") % 2 + 1") == std::to_string(shard)) {
            return company;
        }
    }
}

/// `chfleet erase run` of `company` (given on standard input, never in the arguments).
process::Finished eraseCompany(const std::string& company) {
    return process::run({CHFLEET_BINARY, "erase", "run", "-f", fleet().fleetPath(), "--reason", "test", "-"},
                        {}, company, TestFleet::kChfleetTimeout);
}

/// Rows of `company` in `table`_local on every node of every site, each read on the node itself after it
/// fetched what its peers hold: node -> count, nodes with none left out.
std::map<std::string, uint64_t> rowsOnEveryNode(const std::string& table, const std::string& company) {
    std::map<std::string, uint64_t> counts;
    for (const auto* node : fleet().fleet().nodes()) {
        auto connection = fleet().connect(node->name);
        ch::execute(*connection, fmt::format("SYSTEM SYNC REPLICA teei.{}_local", table));
        auto rows = std::stoull(ch::scalar(*connection, fmt::format("SELECT count() FROM teei.{}_local WHERE "
                                                                    "company_id = {}",
                                                                    table, ch::quoteString(company))));
        if (rows > 0) {
            counts[node->name] = rows;
        }
    }
    return counts;
}

/// count and sum(cityHash64(payload)) of `company`'s events on `node`.
std::string eventsFingerprint(const std::string& node, const std::string& company) {
    return fleet().scalar(node,
                          "SELECT concat(toString(count()), '/', toString(sum(cityHash64(payload)))) FROM "
                          "teei.events_local WHERE company_id = " +
                              ch::quoteString(company));
}

/// The same fingerprint computed by the server from the payloads that were sent.
std::string expectedFingerprint(const std::vector<std::string>& payloads) {
    std::string list;
    for (const auto& payload : payloads) {
        list += (list.empty() ? "" : ", ") + ch::quoteString(payload);
    }
    return fleet().scalar("clickhouse-us-0",
                          "SELECT concat(toString(count()), '/', toString(sum(cityHash64(p)))) FROM (SELECT "
                          "arrayJoin([" +
                              list + "]) AS p)");
}

/// The value of an unlabelled metric of the ingest server (-1 when it is not there).
double metric(const IngestProcess& ingest, const std::string& name) {
    httplib::Client client("127.0.0.1", ingest.port());
    auto answer = client.Get("/metrics");
    if (!answer) {
        return -1;
    }
    auto at = answer->body.find("\n" + name + " ");
    if (at == std::string::npos) {
        return -1;
    }
    return std::stod(answer->body.substr(at + name.size() + 2));
}

TEST(IngestErasure, SpooledRowsOfACompanyErasedMeanwhileNeverReachAReplicaWhileOthersLand) {
    ASSERT_TRUE(kSaltSet);
    std::string erased = euCompanyOnShard("spool-erased-", 1);
    std::string kept = euCompanyOnShard("spool-kept-", 1);  // same shard: same batches as the erased one
    mapCompanies({{erased, "eu-central-1"}, {kept, "eu-central-1"}});
    std::string spool = fleet().sandbox().dir() + "/spool-erasure";
    IngestProcess ingest({"--mode", "async", "--spool-dir", spool, "--write-timeout-ms", "3000",
                          "--erased-refresh-seconds", "1"});
    std::vector<std::string> kept_payloads;
    {
        ShardDown down(1);
        // Accepted (in the spool) while the shard is down: one request mixing both companies, one of each.
        std::string mixed;
        for (int i = 0; i < 20; ++i) {
            mixed += eventRow(i % 2 ? erased : kept, 7000 + i);
            if (i % 2 == 0) {
                kept_payloads.push_back(fmt::format("p{}", 7000 + i));
            }
        }
        std::string only_erased;
        for (int i = 0; i < 5; ++i) {
            only_erased += eventRow(erased, 7100 + i);
        }
        std::string only_kept;
        for (int i = 0; i < 5; ++i) {
            only_kept += eventRow(kept, 7200 + i);
            kept_payloads.push_back(fmt::format("p{}", 7200 + i));
        }
        for (const auto* body : {&mixed, &only_erased, &only_kept}) {
            auto answer = ingest.post("INSERT INTO teei.events FORMAT JSONEachRow", *body);
            ASSERT_TRUE(answer);
            ASSERT_EQ(answer->status, 200) << answer->body;
        }
        ASSERT_TRUE(waitUntil([&] { return metric(ingest, "chfleet_ingest_spool_slices") == 3; }))
            << ingest.logText();

        auto erasure = eraseCompany(erased);
        EXPECT_EQ(erasure.exit_code, 1) << "the shard is down: pending there\n" << erasure.output;
        // Dropped from the batches still waiting for the shard.
        EXPECT_EQ(
            eventually([&] { return metric(ingest, "chfleet_ingest_erased_rows_dropped_total"); }, 15.0),
            15.0)
            << ingest.logText();
    }
    // The shard is back: the spool drains, with the kept company's rows only.
    EXPECT_TRUE(waitUntil([&] { return metric(ingest, "chfleet_ingest_spool_slices") == 0; }))
        << ingest.logText();
    EXPECT_TRUE(rowsOnEveryNode("events", erased).empty());
    const auto* region = fleet().fleet().site("primary")->region("eu-central-1");
    std::string expected = expectedFingerprint(kept_payloads);
    EXPECT_EQ(expected.substr(0, 3), "15/");
    for (int replica = 1; replica <= region->replicas; ++replica) {
        EXPECT_EQ(eventsFingerprint(region->node(1, replica)->name, kept), expected);
    }
    // The log names the erased company by its subject's prefix, never by its ID.
    std::string log = ingest.logText();
    EXPECT_NE(log.find("row(s) of an erased company (subject "), std::string::npos) << log;
    EXPECT_EQ(log.find(erased), std::string::npos) << log;
}

TEST(IngestErasure, AWriteOfAnErasedCompanyIsRefusedWholeOnceEraseHasReturned) {
    ASSERT_TRUE(kSaltSet);
    std::string erased = "later-erased-acme";
    std::string other = "later-other";
    mapCompanies({{erased, "us-east-1"}, {other, "us-east-1"}});
    IngestProcess ingest({"--erased-refresh-seconds", "1"});
    auto before = ingest.post("INSERT INTO teei.events FORMAT JSONEachRow", eventRow(erased, 8000));
    ASSERT_TRUE(before);
    ASSERT_EQ(before->status, 200) << before->body;

    auto erasure = eraseCompany(erased);
    ASSERT_EQ(erasure.exit_code, 0) << erasure.output;

    // Right after erase returned (it waited erase.ingest_grace_seconds), the company's rows are refused.
    std::string body = eventRow(other, 8001) + eventRow(erased, 8002) + eventRow(other, 8003);
    auto refused = ingest.post("INSERT INTO teei.events FORMAT JSONEachRow", body);
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 403) << refused->body;
    EXPECT_TRUE(refused->body.starts_with("Code: 36")) << refused->body;
    EXPECT_NE(refused->body.find("row 2: company 'late'… was erased"), std::string::npos) << refused->body;
    EXPECT_NE(refused->body.find("nothing of this request was written"), std::string::npos) << refused->body;
    EXPECT_NE(refused->body.find("new company ID"), std::string::npos) << refused->body;
    EXPECT_EQ(refused->body.find(erased), std::string::npos) << refused->body;
    // In a table with a default region too (query_log takes unmapped companies).
    auto logged = ingest.post("INSERT INTO teei.query_log (company_id, query_id, timestamp) FORMAT TSV",
                              erased + "\tq1\t2026-11-01 00:00:00\n");
    ASSERT_TRUE(logged);
    EXPECT_EQ(logged->status, 403) << logged->body;

    // A later request of the other company alone is written (sync mode: committed when answered); of the
    // refused request nothing was.
    auto alone = ingest.post("INSERT INTO teei.events FORMAT JSONEachRow", eventRow(other, 8004));
    ASSERT_TRUE(alone);
    ASSERT_EQ(alone->status, 200) << alone->body;
    auto others = rowsOnEveryNode("events", other);
    ASSERT_EQ(others.size(), 2u) << "one shard, two replicas";
    for (const auto& [node, rows] : others) {
        EXPECT_EQ(rows, 1u) << node;
        EXPECT_EQ(eventsFingerprint(node, other), expectedFingerprint({"p8004"})) << node;
    }
    EXPECT_TRUE(rowsOnEveryNode("events", erased).empty());
    EXPECT_TRUE(rowsOnEveryNode("query_log", erased).empty());
    httplib::Client client("127.0.0.1", ingest.port());
    auto metrics = client.Get("/metrics");
    ASSERT_TRUE(metrics);
    EXPECT_NE(metrics->body.find("chfleet_ingest_rejected_requests_total{reason=\"erased\"} 2\n"),
              std::string::npos)
        << metrics->body;
    EXPECT_EQ(ingest.logText().find(erased), std::string::npos);
}

}  // namespace
}  // namespace chfleet::testing
