// A replica that neither answers nor fails (teei sandbox): with the first replica of every US shard stopped
// by SIGSTOP, or with the packets of an established connection to one replica dropped by an nftables rule, an
// INSERT through ingest is acknowledged within seconds (the other replica of the shard takes the same block
// beside it), not after the write timeout; once the replica is back every row is stored exactly once.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "IngestProcess.h"
#include "MapCompanies.h"
#include "TestFleet.h"
#include "clickhouse/Result.h"

namespace chfleet::testing {
namespace {

namespace ch = chfleet::clickhouse;

TestFleet& fleet() {
    return FleetEnvironment::fleet();
}

/// Stops servers with SIGSTOP for its lifetime; SIGCONT whatever happens.
class Frozen {
  public:
    explicit Frozen(std::vector<std::string> nodes) : nodes_(std::move(nodes)) {
        for (const auto& node : nodes_) {
            ::kill(fleet().sandbox().process(node).pid, SIGSTOP);
        }
    }
    ~Frozen() {
        for (const auto& node : nodes_) {
            ::kill(fleet().sandbox().process(node).pid, SIGCONT);
        }
    }
    Frozen(const Frozen&) = delete;
    Frozen& operator=(const Frozen&) = delete;

  private:
    std::vector<std::string> nodes_;
};

/// An nftables table of the test's own that tracks the connections to one loopback port from the start (so
/// that conntrack knows them as established), and, after drop(), drops every packet of those established
/// connections. The table is deleted whatever happens.
class DroppedPackets {
  public:
    explicit DroppedPackets(uint16_t port) : table_(fmt::format("chfleet_test_{}", ::getpid())), port_(port) {
        nft(fmt::format(
            "add table inet {0}; add chain inet {0} out {{ type filter hook output priority 0; }}; "
            "add rule inet {0} out ip daddr 127.0.0.1 tcp dport {1} ct state established counter",
            table_, port_));
    }
    ~DroppedPackets() { process::run({"/usr/bin/env", "nft", "delete table inet " + table_}); }
    DroppedPackets(const DroppedPackets&) = delete;
    DroppedPackets& operator=(const DroppedPackets&) = delete;

    void drop() {
        nft(fmt::format("add rule inet {} out ip daddr 127.0.0.1 tcp dport {} ct state established drop",
                        table_, port_));
    }
    bool ok() const { return errors_.empty(); }
    const std::string& errors() const { return errors_; }

  private:
    void nft(const std::string& command) {
        auto done = process::run({"/usr/bin/env", "nft", command});
        if (done.exit_code != 0) {
            errors_ += done.output;
        }
    }

    std::string table_;
    uint16_t port_;
    std::string errors_;
};

/// Rows of companies LIKE `like` in events, counted on the first replica of every shard after syncing.
uint64_t storedRows(const std::string& like) {
    uint64_t total = 0;
    for (const auto* node : fleet().fleet().site("primary")->nodes()) {
        ch::execute(*fleet().connect(node->name), "SYSTEM SYNC REPLICA teei.events_local");
        if (node->replica == 1) {
            total += std::stoull(fleet().scalar(
                node->name, "SELECT count() FROM teei.events_local WHERE company_id LIKE '" + like + "'"));
        }
    }
    return total;
}

/// US companies named `prefix-N` whose rows land on every US shard, and a body of `rows` events each.
std::string usBodyOnEveryShard(const std::string& prefix, int companies, int rows) {
    std::vector<std::pair<std::string, std::string>> mapping;
    std::string body;
    for (int c = 0; c < companies; ++c) {
        std::string company = fmt::format("{}-{}", prefix, c);
        mapping.push_back({company, "us-east-1"});
        for (int r = 0; r < rows; ++r) {
            body += eventRow(company, c * rows + r);
        }
    }
    mapCompanies(mapping);
    return body;
}

TEST(IngestStalledReplica, AStoppedFirstReplicaOfEveryUsShardDelaysAnInsertBySecondsNotTheWriteTimeout) {
    std::string body = usBodyOnEveryShard("frozen", 12, 5);
    IngestProcess ingest({"--hedge-after-ms", "1500"});
    std::vector<std::string> first_replicas;
    const auto* us = fleet().fleet().site("primary")->region("us-east-1");
    for (int shard = 1; shard <= us->shards; ++shard) {
        first_replicas.push_back(us->node(shard, 1)->name);
    }
    {
        Frozen frozen(first_replicas);
        auto started = std::chrono::steady_clock::now();
        auto answer = ingest.post("INSERT INTO teei.events FORMAT JSONEachRow", body);
        auto took = std::chrono::steady_clock::now() - started;
        ASSERT_TRUE(answer);
        EXPECT_EQ(answer->status, 200) << answer->body;
        EXPECT_LT(took, std::chrono::seconds(10)) << "acknowledged only after the write timeout";
        // The next insert does not wait for the frozen replicas at all.
        started = std::chrono::steady_clock::now();
        auto next = ingest.post("INSERT INTO teei.events FORMAT JSONEachRow", eventRow("frozen-0", 999));
        ASSERT_TRUE(next);
        EXPECT_EQ(next->status, 200) << next->body;
        EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(1500));
    }
    for (const auto& node : first_replicas) {
        EXPECT_NE(ingest.logText().find(node + " (shard"), std::string::npos) << node << ":\n"
                                                                              << ingest.logText();
    }
    // Back: the frozen replicas' own attempts were the same blocks, deduplicated; every row once.
    EXPECT_EQ(eventually([] { return storedRows("frozen-%"); }, uint64_t{61}), uint64_t{61});
}

TEST(IngestStalledReplica, DroppedPacketsOfAnEstablishedConnectionDelayAnInsertBySeconds) {
    mapCompanies({{"dropped-us", "us-east-1"}});
    auto shard = std::stoi(fleet().scalar("clickhouse-us-0", "SELECT cityHash64('dropped-us') % 3 + 1"));
    const auto* node = fleet().fleet().site("primary")->region("us-east-1")->node(shard, 1);
    std::optional<DroppedPackets> packets(std::in_place, node->http_port);
    ASSERT_TRUE(packets->ok()) << "nft could not add the table: " << packets->errors();
    IngestProcess ingest({"--hedge-after-ms", "1500"});
    // The first insert opens (and keeps alive) the connection to the company's shard's first replica.
    auto first = ingest.post("INSERT INTO teei.events FORMAT JSONEachRow", eventRow("dropped-us", 1));
    ASSERT_TRUE(first);
    ASSERT_EQ(first->status, 200) << first->body;
    packets->drop();
    ASSERT_TRUE(packets->ok()) << "nft could not add the rule: " << packets->errors();
    auto started = std::chrono::steady_clock::now();
    auto answer = ingest.post("INSERT INTO teei.events FORMAT JSONEachRow",
                              eventRow("dropped-us", 2) + eventRow("dropped-us", 3));
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->status, 200) << answer->body;
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
    // The replica behind the rule was tried first and passed over for the other replica of its shard.
    EXPECT_NE(ingest.logText().find(node->name + " (shard " + std::to_string(shard) +
                                    " of us-east-1) has not answered a batch"),
              std::string::npos)
        << ingest.logText();
    packets.reset();  // the rule gone, the first replica's own attempt arrives: the same block, deduplicated
    EXPECT_EQ(eventually([] { return storedRows("dropped-%"); }, uint64_t{3}), uint64_t{3});
}

}  // namespace
}  // namespace chfleet::testing
