// chfleet ingest against the teei sandbox (real 18.16 servers and ZooKeeper): rows sent through the ingest
// server land only in their company's region, on the shard ClickHouse's own cityHash64 names, on both
// replicas; bad input is refused whole; retries never duplicate; a shard outage is survived in both modes;
// kill -9 of the server in async mode loses no acknowledged row; a real client library writes through it.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "IngestProcess.h"
#include "MapCompanies.h"
#include "TestFleet.h"
#include "clickhouse/HttpConnection.h"
#include "clickhouse/Quoting.h"
#include "clickhouse/Result.h"
#include "common/Process.h"
#include "shared/FreePort.h"
#include "shared/WaitUntil.h"
#include "topology/NodeConnection.h"

using chfleet::testing::eventually;
using chfleet::testing::FleetEnvironment;
using chfleet::testing::mapCompanies;
using chfleet::testing::waitUntil;
namespace ch = chfleet::clickhouse;
namespace process = chfleet::process;

namespace {

/// The teei sandbox with its schema applied, shared by every test of this binary.
auto* const environment = ::testing::AddGlobalTestEnvironment(
    new FleetEnvironment("examples/teei/fleet.yaml", chfleet::testing::Schema::Applied));

chfleet::testing::TestFleet& fleet() {
    return FleetEnvironment::fleet();
}

using chfleet::testing::eventRow;
using chfleet::testing::IngestProcess;
using chfleet::testing::kPassword;
using chfleet::testing::kUser;

/// Rows of `company` in events_local on every node of the primary site: node name -> count.
std::map<std::string, uint64_t> placement(const std::string& company_like) {
    std::map<std::string, uint64_t> counts;
    for (const auto* node : fleet().fleet().site("primary")->nodes()) {
        auto connection = fleet().connect(node->name);
        ch::execute(*connection, "SYSTEM SYNC REPLICA teei.events_local");
        auto value = std::stoull(ch::scalar(
            *connection,
            "SELECT count() FROM teei.events_local WHERE company_id LIKE " + ch::quoteString(company_like)));
        if (value > 0) {
            counts[node->name] = value;
        }
    }
    return counts;
}

uint64_t regionalCount(const std::string& company_like) {
    uint64_t total = 0;
    for (const auto& [node, count] : placement(company_like)) {
        const auto* n = fleet().fleet().node(node);
        if (n->replica == 1) {
            total += count;
        }
    }
    return total;
}

TEST(Ingest, RowsLandOnlyInTheirRegionOnTheShardClickHouseNamesOnBothReplicas) {
    std::vector<std::pair<std::string, std::string>> companies;
    for (int i = 0; i < 12; ++i) {
        companies.emplace_back(fmt::format("route-us-{}", i), "us-east-1");
        companies.emplace_back(fmt::format("route-eu-{}", i), "eu-central-1");
    }
    mapCompanies(companies);
    IngestProcess ingest;
    std::string body;
    int n = 0;
    for (const auto& [company, region] : companies) {
        for (int k = 0; k < 5; ++k) {
            body += eventRow(company, ++n);
        }
    }
    auto answer = ingest.post("INSERT INTO teei.events FORMAT JSONEachRow", body);
    ASSERT_TRUE(answer) << ingest.logText();
    ASSERT_EQ(answer->status, 200) << answer->body;

    for (const auto* node : fleet().fleet().site("primary")->nodes()) {
        auto connection = fleet().connect(node->name);
        ch::execute(*connection, "SYSTEM SYNC REPLICA teei.events_local");
        // The server itself says which shard each company belongs to: cityHash64(company_id) % shards.
        const auto* region = fleet().fleet().site("primary")->region(node->region);
        auto rows = ch::query(
            *connection,
            fmt::format("SELECT company_id, count() AS n, cityHash64(company_id) % {} + 1 AS shard "
                        "FROM teei.events_local WHERE company_id LIKE 'route-%' GROUP BY company_id",
                        region->shards));
        for (size_t r = 0; r < rows.rowCount(); ++r) {
            const auto& company = rows.getString(r, "company_id");
            std::string expected_region = company.starts_with("route-us-") ? "us-east-1" : "eu-central-1";
            EXPECT_EQ(node->region, expected_region) << company << " found on " << node->name;
            EXPECT_EQ(rows.getUInt64(r, "shard"), static_cast<uint64_t>(node->shard))
                << company << " on " << node->name;
            EXPECT_EQ(rows.getUInt64(r, "n"), 5u) << company << " on " << node->name;
        }
    }
    // Every company is on both replicas of its shard: 24 companies x 5 rows x 2 replicas.
    uint64_t total = 0;
    for (const auto& [node, count] : placement("route-%")) {
        total += count;
    }
    EXPECT_EQ(total, 24u * 5 * 2);
}

TEST(Ingest, TakesTheFormatsClientsSend) {
    mapCompanies({{"fmt-us", "us"}, {"fmt-eu", "eu"}});
    IngestProcess ingest;
    struct Case {
        std::string query;
        std::string body;
    };
    std::vector<Case> cases{
        {"INSERT INTO teei.user_activity FORMAT TabSeparated",
         "fmt-us\tu1\ts1\tview\tus\t10\t2026-11-01 00:00:00\nfmt-eu\tu2\ts2\tview\teu\t20\t2026-11-01 "
         "00:00:00\n"},
        {"INSERT INTO teei.user_activity (company_id, user_id, duration_ms, timestamp) FORMAT TSV",
         "fmt-us\tu3\t30\t2026-11-01 00:00:00\n"},
        {"INSERT INTO teei.user_activity FORMAT TSVWithNames",
         "user_id\tcompany_id\ttimestamp\nu4\tfmt-eu\t2026-11-02 00:00:00\n"},
        {"INSERT INTO teei.user_activity FORMAT CSV",
         "\"fmt-us\",\"u5\",\"s5\",\"a,b\",\"us\",50,\"2026-11-03 00:00:00\"\n"},
        {"INSERT INTO teei.user_activity FORMAT CSVWithNames",
         "company_id,user_id,timestamp\nfmt-eu,u6,2026-11-04 00:00:00\n"},
        {"INSERT INTO teei.user_activity FORMAT JSONEachRow",
         R"({"company_id":"fmt-us","user_id":"u7","duration_ms":"70","timestamp":"2026-11-05 00:00:00"})"},
    };
    for (const auto& c : cases) {
        auto answer = ingest.post(c.query, c.body);
        ASSERT_TRUE(answer);
        EXPECT_EQ(answer->status, 200) << c.query << ": " << answer->body;
    }
    // The query in the body, the database from ?database=, as clients do.
    httplib::Client client("127.0.0.1", ingest.port());
    auto inline_answer =
        client.Post("/?database=teei", {{"X-ClickHouse-User", kUser}, {"X-ClickHouse-Key", kPassword}},
                    "INSERT INTO user_activity FORMAT TSV\nfmt-eu\tu8\ts8\tv\teu\t80\t2026-11-06 00:00:00\n",
                    "text/plain");
    ASSERT_TRUE(inline_answer);
    EXPECT_EQ(inline_answer->status, 200) << inline_answer->body;
    // A large body with the statement first (more than the 256 KiB read before the statement is known).
    std::string large = "INSERT INTO teei.events FORMAT JSONEachRow\n";
    for (int i = 0; i < 3000; ++i) {
        large += eventRow(i % 2 ? "fmt-us" : "fmt-eu", i);
    }
    ASSERT_GT(large.size(), 256u << 10);
    auto large_answer = client.Post("/", {{"X-ClickHouse-User", kUser}, {"X-ClickHouse-Key", kPassword}},
                                    large, "text/plain");
    ASSERT_TRUE(large_answer);
    EXPECT_EQ(large_answer->status, 200) << large_answer->body;
    EXPECT_EQ(regionalCount("fmt-%"), 3000u);
    for (const auto* node : fleet().fleet().site("primary")->nodes()) {
        ch::execute(*fleet().connect(node->name), "SYSTEM SYNC REPLICA teei.user_activity_local");
    }
    auto us =
        fleet().scalar("clickhouse-us-0",
                       "SELECT count() FROM teei.user_activity_us_distributed WHERE company_id LIKE 'fmt-%'");
    auto eu =
        fleet().scalar("clickhouse-eu-0",
                       "SELECT count() FROM teei.user_activity_eu_distributed WHERE company_id LIKE 'fmt-%'");
    EXPECT_EQ(us, "4");
    EXPECT_EQ(eu, "4");
    auto bytes =
        fleet().scalar("clickhouse-us-0",
                       "SELECT activity_type FROM teei.user_activity_us_distributed WHERE user_id = 'u5'");
    EXPECT_EQ(bytes, "a,b");
}

TEST(Ingest, AnswersLikeClickHouse) {
    IngestProcess ingest;
    httplib::Client client("127.0.0.1", ingest.port());
    auto ping = client.Get("/ping");
    ASSERT_TRUE(ping);
    EXPECT_EQ(ping->body, "Ok.\n");

    auto wrong = ingest.post("INSERT INTO teei.events FORMAT JSONEachRow", eventRow("x", 1),
                             {{"X-ClickHouse-User", kUser}, {"X-ClickHouse-Key", "wrong"}});
    ASSERT_TRUE(wrong);
    EXPECT_EQ(wrong->status, 401);
    EXPECT_EQ(wrong->get_header_value("X-ClickHouse-Exception-Code"), "516");
    EXPECT_TRUE(wrong->body.starts_with("Code: 516. DB::Exception:")) << wrong->body;
    EXPECT_NE(wrong->body.find("(AUTHENTICATION_FAILED)"), std::string::npos) << wrong->body;

    // Basic auth, as most clients send it, and a forwarded SELECT through the same URL.
    client.set_basic_auth(kUser, kPassword);
    auto select = client.Get("/?query=" + ch::urlEncode("SELECT 1 + 1"));
    ASSERT_TRUE(select);
    EXPECT_EQ(select->status, 200) << select->body;
    EXPECT_EQ(select->body, "2\n");
    // Forwarded statements are read-only.
    auto drop = client.Post("/", "DROP TABLE teei.events_local", "text/plain");
    ASSERT_TRUE(drop);
    EXPECT_NE(drop->status, 200);
    EXPECT_EQ(fleet().scalar("clickhouse-us-0", "EXISTS TABLE teei.events_local"), "1");

    auto unknown = ingest.post("INSERT INTO teei.nope FORMAT JSONEachRow", eventRow("x", 1));
    ASSERT_TRUE(unknown);
    EXPECT_EQ(unknown->status, 404);
    EXPECT_EQ(unknown->get_header_value("X-ClickHouse-Exception-Code"), "60");
    EXPECT_NE(unknown->body.find("nope"), std::string::npos) << unknown->body;
}

TEST(Ingest, BadInputIsRefusedWholeNamingTheRow) {
    mapCompanies({{"bad-us", "us-east-1"}, {"bad-eu", "eu-central-1"}});
    IngestProcess ingest({"--max-body-bytes", "100000"});
    std::string good = eventRow("bad-us", 1) + eventRow("bad-eu", 2);
    struct Case {
        std::string name;
        std::string query;
        std::string body;
        int status;
        std::string expected_text;
    };
    std::vector<Case> cases{
        {"malformed row", "INSERT INTO teei.events FORMAT JSONEachRow",
         good + "{\"company_id\": \"bad-us\", \n", 400, "row 3"},
        {"bad value", "INSERT INTO teei.events FORMAT JSONEachRow",
         good + eventRow("bad-us", 3).replace(eventRow("bad-us", 3).find("2026-11"), 7, "2026-13"), 400,
         "row 3"},
        {"unknown column", "INSERT INTO teei.events FORMAT JSONEachRow",
         good + R"({"company_id":"bad-us","colour":"red"})"
                "\n",
         400, "colour"},
        {"unknown column in list", "INSERT INTO teei.events (company_id, colour) FORMAT TSV", "bad-us\tred\n",
         400, "colour"},
        {"row without the key", "INSERT INTO teei.events FORMAT JSONEachRow",
         good + R"({"user_id":"u","timestamp":"2026-11-01 00:00:00"})"
                "\n",
         400, "row 3"},
        {"unmapped company", "INSERT INTO teei.events FORMAT JSONEachRow", good + eventRow("bad-nobody", 4),
         400, "bad-nobody"},
        {"oversized body", "INSERT INTO teei.events FORMAT JSONEachRow", std::string(200000, ' ') + good, 413,
         ""},
    };
    for (const auto& c : cases) {
        auto answer = ingest.post(c.query, c.body);
        ASSERT_TRUE(answer) << c.name;
        EXPECT_EQ(answer->status, c.status) << c.name << ": " << answer->body;
        EXPECT_TRUE(answer->body.starts_with("Code: ")) << c.name << ": " << answer->body;
        EXPECT_NE(answer->body.find(c.expected_text), std::string::npos) << c.name << ": " << answer->body;
    }
    // Nothing of any refused request was written.
    EXPECT_EQ(regionalCount("bad-%"), 0u);
    // A table with default_region takes unmapped companies there (query_log: us-east-1).
    auto defaulted = ingest.post("INSERT INTO teei.query_log (company_id, query_id, timestamp) FORMAT TSV",
                                 "bad-unmapped\tq1\t2026-11-01 00:00:00\n");
    ASSERT_TRUE(defaulted);
    EXPECT_EQ(defaulted->status, 200) << defaulted->body;
    EXPECT_EQ(
        fleet().scalar("clickhouse-us-0",
                       "SELECT count() FROM teei.query_log_us_distributed WHERE company_id = 'bad-unmapped'"),
        "1");
}

TEST(Ingest, FullBuffersAnswer503WithRetryAfterAndWriteNothing) {
    mapCompanies({{"full-us", "us-east-1"}});
    IngestProcess ingest({"--max-buffered-bytes", "20000"});
    std::string body;
    for (int i = 0; i < 200; ++i) {
        body += eventRow("full-us", i);
    }
    auto answer = ingest.post("INSERT INTO teei.events FORMAT JSONEachRow", body);
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->status, 503) << answer->body;
    EXPECT_EQ(answer->get_header_value("Retry-After"), "1");
    EXPECT_EQ(answer->get_header_value("X-ClickHouse-Exception-Code"), "202");
    EXPECT_EQ(regionalCount("full-%"), 0u);
    // A request that fits is taken.
    auto small = ingest.post("INSERT INTO teei.events FORMAT JSONEachRow", eventRow("full-us", 1));
    ASSERT_TRUE(small);
    EXPECT_EQ(small->status, 200) << small->body;
}

TEST(Ingest, RetriedRequestsNeverDuplicate) {
    mapCompanies({{"dup-us", "us-east-1"}, {"dup-eu", "eu-central-1"}});
    IngestProcess ingest;
    std::string body;
    for (int i = 0; i < 50; ++i) {
        body += eventRow(i % 2 ? "dup-us" : "dup-eu", i);
    }
    for (int attempt = 0; attempt < 3; ++attempt) {
        auto answer = ingest.post("INSERT INTO teei.events FORMAT JSONEachRow", body);
        ASSERT_TRUE(answer);
        ASSERT_EQ(answer->status, 200) << answer->body;
    }
    EXPECT_EQ(regionalCount("dup-%"), 50u);
    // A client's own token decides: the same token again is the same request, whatever its rows.
    struct Attempt {
        const char* token;
        int row;
    };
    for (Attempt attempt : {Attempt{"t1", 1000}, Attempt{"t1", 1001}, Attempt{"t2", 1002}}) {
        auto answer =
            ingest.post(std::string("INSERT INTO teei.events SETTINGS insert_deduplication_token='") +
                            attempt.token + "' FORMAT JSONEachRow",
                        eventRow("dup-us", attempt.row));
        ASSERT_TRUE(answer);
        ASSERT_EQ(answer->status, 200) << answer->body;
    }
    EXPECT_EQ(regionalCount("dup-us"), 25u + 2);
}

/// Kills servers (kill -9) and starts them again at the end, whatever happens in between.
class Outage {
  public:
    explicit Outage(std::vector<std::string> nodes) : nodes_(std::move(nodes)) {
        for (const auto& node : nodes_) {
            fleet().sandbox().kill(node);
        }
    }
    /// Both replicas of a primary EU shard.
    static Outage ofEuShard(int shard) {
        const auto* region = fleet().fleet().site("primary")->region("eu-central-1");
        std::vector<std::string> nodes;
        for (int replica = 1; replica <= region->replicas; ++replica) {
            nodes.push_back(region->node(shard, replica)->name);
        }
        return Outage(std::move(nodes));
    }
    Outage(Outage&& other) noexcept : nodes_(std::move(other.nodes_)) { other.nodes_.clear(); }
    ~Outage() { restore(); }
    void restore() {
        for (const auto& node : nodes_) {
            fleet().sandbox().start(node);
        }
        nodes_.clear();
    }

  private:
    std::vector<std::string> nodes_;
};

/// An EU company on shard `shard` (of 2), as the server hashes it.
std::string euCompanyOnShard(const std::string& prefix, int shard) {
    for (int i = 0;; ++i) {
        std::string company = prefix + std::to_string(i);
        auto hash =
            fleet().scalar("clickhouse-us-0", "SELECT cityHash64(" + ch::quoteString(company) + ") % 2 + 1");
        if (hash == std::to_string(shard)) {
            return company;
        }
    }
}

TEST(Ingest, AReplicaDownIsPassedOverForTheOtherReplicaOfItsShard) {
    std::string company = euCompanyOnShard("failover-eu-", 2);
    mapCompanies({{company, "eu-central-1"}});
    IngestProcess ingest;
    const auto* region = fleet().fleet().site("primary")->region("eu-central-1");
    std::string down = region->node(2, 1)->name;
    std::string up = region->node(2, 2)->name;
    Outage outage({down});
    // The first replica, which takes every batch while it is up, is down: the first batch finds it so, the
    // next ones pass it over.
    for (int request = 0; request < 4; ++request) {
        auto answer = ingest.post("INSERT INTO teei.events FORMAT JSONEachRow", eventRow(company, request));
        ASSERT_TRUE(answer);
        EXPECT_EQ(answer->status, 200) << answer->body;
    }
    EXPECT_EQ(fleet().scalar(
                  up, "SELECT count() FROM teei.events_local WHERE company_id = " + ch::quoteString(company)),
              "4");
    outage.restore();
    EXPECT_EQ(regionalCount(company), 4u);
}

TEST(Ingest, SyncModeFailsWhileAShardIsDownAndARetrySucceedsWithoutDuplicates) {
    std::string down = euCompanyOnShard("out-sync-eu-", 1);
    std::string up = euCompanyOnShard("out-sync-eu-", 2);
    mapCompanies({{down, "eu-central-1"}, {up, "eu-central-1"}, {"out-sync-us", "us-east-1"}});
    IngestProcess ingest({"--write-timeout-ms", "5000"});
    std::string body;
    for (int i = 0; i < 30; ++i) {
        body += eventRow(i % 3 == 0 ? down : i % 3 == 1 ? up : "out-sync-us", i);
    }
    {
        auto outage = Outage::ofEuShard(1);
        auto failed = ingest.post("INSERT INTO teei.events FORMAT JSONEachRow", body);
        ASSERT_TRUE(failed);
        EXPECT_GE(failed->status, 500) << failed->body;
        EXPECT_TRUE(failed->body.starts_with("Code: ")) << failed->body;
    }
    auto retried = ingest.post("INSERT INTO teei.events FORMAT JSONEachRow", body);
    ASSERT_TRUE(retried);
    EXPECT_EQ(retried->status, 200) << retried->body;
    EXPECT_EQ(regionalCount("out-sync-%"), 30u);
}

TEST(Ingest, AsyncModeKeepsAcknowledgedRowsThroughAnOutageAndAKill) {
    std::string down = euCompanyOnShard("out-async-eu-", 1);
    mapCompanies({{down, "eu-central-1"}, {"out-async-us", "us-east-1"}});
    std::string spool = fleet().sandbox().dir() + "/spool-async";
    uint16_t port = chfleet::testing::freeLoopbackPort();
    std::vector<std::string> args{"--mode", "async", "--spool-dir", spool};
    size_t acknowledged = 0;
    {
        auto ingest = std::make_unique<IngestProcess>(args, port);
        auto outage = Outage::ofEuShard(1);
        // Acknowledged while the shard is down: the rows wait in the spool.
        for (int request = 0; request < 20; ++request) {
            std::string body;
            for (int i = 0; i < 10; ++i) {
                body += eventRow(i % 2 ? down : "out-async-us", request * 10 + i);
            }
            auto answer = ingest->post("INSERT INTO teei.events FORMAT JSONEachRow", body);
            ASSERT_TRUE(answer);
            ASSERT_EQ(answer->status, 200) << answer->body;
            acknowledged += 10;
        }
        // Crash with rows still spooled, then the shard comes back and a new server drains the spool.
        ingest->kill9();
        outage.restore();
        IngestProcess restarted(args, port);
        EXPECT_EQ(eventually([] { return regionalCount("out-async-%"); }, uint64_t{acknowledged}),
                  acknowledged)
            << restarted.logText();
    }
    // Drained: the spool keeps no segment.
    size_t segments = 0;
    for (const auto& entry : std::filesystem::directory_iterator(spool)) {
        segments += entry.path().extension() == ".spool" ? 1 : 0;
    }
    EXPECT_LE(segments, 1u);
}

/// Parts of `company`'s rows on the first replica of its US shard: with merges stopped there, one per INSERT
/// that reached the shard (every batch chfleet sends is one INSERT, one part).
uint64_t partsHolding(const std::string& company) {
    auto shard = std::stoi(
        fleet().scalar("clickhouse-us-0", "SELECT cityHash64(" + ch::quoteString(company) + ") % 3 + 1"));
    std::string node = fleet().fleet().site("primary")->region("us-east-1")->node(shard, 1)->name;
    return std::stoull(fleet().scalar(
        node,
        "SELECT uniqExact(_part) FROM teei.events_local WHERE company_id = " + ch::quoteString(company)));
}

TEST(Ingest, AsyncModeWritesManySmallRequestsAsFewBatches) {
    // The clients have their answers at once; the rows reach ClickHouse in a few large parts, not one per
    // request (each part costs files, ZooKeeper commits, a replica fetch and merges). The batch closes at 300
    // rows (all 30 requests) or after a wait far longer than 30 requests take even on a loaded machine.
    mapCompanies({{"few-us", "us-east-1"}});
    auto us = fleet().fleet().site("primary")->region("us-east-1");
    for (const auto* node : fleet().fleet().site("primary")->nodes()) {
        if (node->region == us->name) {
            ch::execute(*fleet().connect(node->name), "SYSTEM STOP MERGES teei.events_local");
        }
    }
    std::string spool = fleet().sandbox().dir() + "/spool-few";
    IngestProcess ingest(
        {"--mode", "async", "--spool-dir", spool, "--batch-rows", "300", "--batch-wait-ms", "60000"});
    constexpr int requests = 30;
    for (int request = 0; request < requests; ++request) {
        std::string body;
        for (int i = 0; i < 10; ++i) {
            body += eventRow("few-us", request * 10 + i);
        }
        auto answer = ingest.post("INSERT INTO teei.events FORMAT JSONEachRow", body);
        ASSERT_TRUE(answer);
        ASSERT_EQ(answer->status, 200) << answer->body;
    }
    EXPECT_EQ(eventually([] { return regionalCount("few-us"); }, uint64_t{requests * 10}), requests * 10u)
        << ingest.logText();
    EXPECT_EQ(partsHolding("few-us"), 1u) << "30 requests for one shard were not written as one batch";
    for (const auto* node : fleet().fleet().site("primary")->nodes()) {
        if (node->region == us->name) {
            ch::execute(*fleet().connect(node->name), "SYSTEM START MERGES teei.events_local");
        }
    }
}

TEST(Ingest, MetricsCountRowsPerRegionAndShard) {
    mapCompanies({{"met-eu", "eu-central-1"}});
    IngestProcess ingest;
    std::string body = eventRow("met-eu", 1) + eventRow("met-eu", 2) + eventRow("met-eu", 3);
    auto answer = ingest.post("INSERT INTO teei.events FORMAT JSONEachRow", body);
    ASSERT_TRUE(answer);
    ASSERT_EQ(answer->status, 200);
    // Read right after the answer: rows are counted before a request is released, so they must be there, on
    // the shard the server itself names.
    auto shard = fleet().scalar("clickhouse-eu-0", "SELECT cityHash64('met-eu') % 2 + 1");
    httplib::Client client("127.0.0.1", ingest.port());
    auto metrics = client.Get("/metrics");
    ASSERT_TRUE(metrics);
    EXPECT_NE(
        metrics->body.find("chfleet_ingest_rows_total{region=\"eu-central-1\",shard=\"" + shard + "\"} 3\n"),
        std::string::npos)
        << metrics->body;
    EXPECT_NE(metrics->body.find("\nchfleet_ingest_request_duration_seconds_count 1\n"), std::string::npos)
        << metrics->body;
    EXPECT_EQ(regionalCount("met-eu"), 3u);
}

TEST(Ingest, CurlAndTheOfficialNodeClientWriteThroughIt) {
    mapCompanies({{"lib-us", "us-east-1"}, {"lib-eu", "eu-central-1"}});
    IngestProcess ingest;
    std::string url = "http://127.0.0.1:" + std::to_string(ingest.port());
    // curl with the password in a header file, not in its arguments.
    std::string headers = fleet().sandbox().dir() + "/curl-headers";
    {
        std::ofstream out(headers);
        out << "X-ClickHouse-User: app\nX-ClickHouse-Key: " << kPassword << "\n";
    }
    auto curl = process::run(
        {"/usr/bin/env", "curl", "-sS", "-f", "--max-time", "120", "-H", "@" + headers, "--data-binary", "@-",
         url + "/?query=INSERT%20INTO%20teei.events%20FORMAT%20JSONEachRow"},
        {}, eventRow("lib-us", 1) + eventRow("lib-eu", 2));
    EXPECT_EQ(curl.exit_code, 0) << curl.output;
    EXPECT_EQ(regionalCount("lib-%"), 2u);
    // ... and reads them back through the same URL by the same name.
    auto read_back = process::run({"/usr/bin/env", "curl", "-sS", "-f", "--max-time", "120", "-H",
                                   "@" + headers, "--data-binary", "@-", url + "/"},
                                  {}, "SELECT count() FROM teei.events WHERE company_id LIKE 'lib-%'");
    EXPECT_EQ(read_back.exit_code, 0) << read_back.output;
    EXPECT_EQ(read_back.output, "2\n");

    std::string script = std::string(CHFLEET_SOURCE_DIR) + "/tests/integration/ingest/node/client_check.mjs";
    if (!std::filesystem::exists(std::string(CHFLEET_SOURCE_DIR) +
                                 "/tests/integration/ingest/node/node_modules")) {
        FAIL() << "the npm client is not installed: run scripts/install-deps.sh";
    }
    auto node = process::run({"/usr/bin/env", "node", script, "--url", url, "--user", kUser, "--password-env",
                              "CHFLEET_INGEST_PASSWORD", "--companies", "lib-us,lib-eu"},
                             {{"CHFLEET_INGEST_PASSWORD", kPassword}}, {},
                             chfleet::testing::TestFleet::kChfleetTimeout);
    EXPECT_EQ(node.exit_code, 0) << node.output;
    // 100 rows through teei.events, 50 through events_eu_distributed, none of the refused regional insert.
    EXPECT_EQ(regionalCount("lib-%"), 152u) << node.output;
}

}  // namespace

namespace {

/// count and, per column, the sum of the hash of its text: what "the same rows" means column by column.
std::map<std::string, std::string> columnChecksums(const std::string& node, const std::string& table,
                                                   const std::vector<std::string>& columns,
                                                   const std::string& where) {
    std::map<std::string, std::string> sums;
    sums["count()"] = fleet().scalar(node, "SELECT count() FROM " + table + " WHERE " + where);
    for (const auto& column : columns) {
        sums[column] = fleet().scalar(node, "SELECT sum(cityHash64(toString(" + ch::quoteIdentifier(column) +
                                                "))) FROM " + table + " WHERE " + where);
    }
    return sums;
}

// The 18.16 oracle for ingest's value reading: the same bodies, inserted straight into a plain table of the
// same structure on a real 18.16 server and through ingest into the fleet, give the same values, column by
// column (the embedded 26.x engine is the other oracle, in the unit tests). Where 18.16 and current servers
// read a body differently, ingest reads it as current servers do, and the body is not used here: a field
// left out of a JSON row gets the column's DEFAULT expression (18.16: the type's zero value), and a
// single-quoted CSV field keeps its quotes (18.16 strips them); 18.16 also refuses quoted decimals.
TEST(Ingest, ValuesAreStoredAsA1816ServerStoresTheSameBody) {
    mapCompanies({{"oracle-us", "us-east-1"}, {"oracle-eu", "eu-central-1"}});
    IngestProcess ingest;
    struct Table {
        std::string name;
        std::vector<std::string> columns;
        std::vector<std::pair<std::string, std::string>> bodies;  // format, body
    };
    const std::vector<Table> tables{
        {"sroi_calculations",
         {"calculation_id", "company_id", "period_start", "period_end", "total_investment", "social_value",
          "sroi_ratio", "region", "created_at"},
         {{"JSONEachRow",
           R"({"calculation_id":"j1","company_id":"oracle-us","period_start":"2026-01-01","period_end":"2026-03-31","total_investment":1000.5,"social_value":2500.25,"sroi_ratio":2.4987,"region":"us","created_at":"2026-11-01 10:00:00"})"
           "\n"
           R"({"calculation_id":"j2 \"q\" \\ \t\n\u00e9\ud83d\ude80/","company_id":"oracle-eu","period_start":"2026-02-28","total_investment":-12.34,"sroi_ratio":-0.000001,"created_at":"2026-11-02 23:59:59"})"
           "\n"
           R"({"calculation_id":"j3","company_id":"oracle-us","sroi_ratio":1e300,"social_value":0,"total_investment":99999.99})"
           "\n"
           R"({"company_id":"oracle-eu","calculation_id":"j4","region":"","sroi_ratio":0.1,"period_end":"2027-12-31"})"
           "\n"},
          {"TabSeparated",
           "t1\toracle-us\t2026-04-01\t2026-06-30\t0.01\t123456789.99\t3.141592653589793\tus\t2026-11-03 "
           "00:00:00\n"
           "t2 \\t tab \\n nl \\\\ bs \\' "
           "q\toracle-eu\t2026-05-05\t2026-05-06\t-0.5\t7\t-2.5\teu\t2026-11-04 "
           "12:00:00\n"},
          {"CSV",
           "\"c1, with \"\"quotes\"\"\",oracle-us,2026-07-01,2026-09-30,10.10,20.20,2,us,\"2026-11-05 "
           "08:30:00\"\n"
           "c2,\"oracle-eu\",\"2026-08-01\",\"2026-08-31\",-1.1,1,1e-10,\"eu\",2026-11-06 06:06:06\n"}}},
        {"events",
         {"event_id", "company_id", "user_id", "event_type", "region", "timestamp", "payload"},
         {{"JSONEachRow",
           R"({"event_id":"3F2504E0-4F89-11D3-9A0C-0305E82C3301","company_id":"oracle-us","user_id":"u1","event_type":"click","timestamp":"2026-11-07 01:02:03","payload":""})"
           "\n"
           R"({"event_id":"00000000-0000-4000-8000-000000000042","company_id":"oracle-eu","payload":"{\"k\": [1, 2]}","timestamp":"2026-11-08 00:00:00"})"
           "\n"},
          {"TabSeparated",
           "c0a80101-0000-4000-8000-00000000abcd\toracle-eu\tu2\tview\teu\t2026-11-09 "
           "09:09:09\t{\"x\":\"\\\\u00e9\"}\n"}}},
        {"user_activity",
         {"company_id", "user_id", "session_id", "activity_type", "region", "duration_ms", "timestamp"},
         {{"JSONEachRow",
           R"({"company_id":"oracle-us","user_id":"a1","duration_ms":4294967295,"timestamp":"2026-11-10 10:10:10"})"
           "\n"
           R"({"company_id":"oracle-eu","user_id":"a2","duration_ms":17,"timestamp":"2026-11-11 11:11:11"})"
           "\n"},
          {"CSV", "oracle-us,a3,s3,\"scroll, fast\",us,0,2026-11-12 12:12:12\n"}}},
    };
    const std::string node = "clickhouse-us-0";
    auto server = fleet().connect(node);
    ch::execute(*server, "DROP DATABASE IF EXISTS ingest_oracle");
    ch::execute(*server, "CREATE DATABASE ingest_oracle");
    for (const auto& table : tables) {
        std::string direct = "ingest_oracle." + table.name;
        ch::execute(*server, "CREATE TABLE " + direct + " AS teei." + table.name +
                                 "_local ENGINE = MergeTree ORDER BY tuple()");
        for (const auto& [format, body] : table.bodies) {
            // Straight into 18.16: the server's own reading of the body.
            try {
                ch::HttpConnection(
                    chfleet::topology::endpointFor(fleet().fleet(), *fleet().fleet().node(node)))
                    .execute("INSERT INTO " + direct + " FORMAT " + format, body);
            } catch (const chfleet::Exception& refused) {
                FAIL() << "18.16 refuses the test's " << format << " body for " << table.name << ": "
                       << refused.what();
            }
            auto answer = ingest.post("INSERT INTO teei." + table.name + " FORMAT " + format, body);
            ASSERT_TRUE(answer);
            ASSERT_EQ(answer->status, 200) << table.name << " " << format << ": " << answer->body;
        }
        for (const auto* each : fleet().fleet().site("primary")->nodes()) {
            ch::execute(*fleet().connect(each->name), "SYSTEM SYNC REPLICA teei." + table.name + "_local");
        }
        std::string where = "company_id LIKE 'oracle-%'";
        auto expected = columnChecksums(node, direct, table.columns, where);
        EXPECT_NE(expected["count()"], "0");
        EXPECT_EQ(columnChecksums(node, "teei." + table.name + "_distributed", table.columns, where),
                  expected)
            << table.name;
    }
    ch::execute(*server, "DROP DATABASE IF EXISTS ingest_oracle");
}

}  // namespace
