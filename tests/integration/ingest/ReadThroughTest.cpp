// Reads through the ingest URL on the teei sandbox: a client reads what it wrote by the same names (SELECT
// shapes, count(), a JOIN of two logical tables, what clients send on connect), a SELECT pinned to one
// company runs on one replica of its shard and answers exactly what the general path answers on the same data
// (with data in every shard), an EU company's pinned reads need no US node, and a regional table name is a
// residency assertion on writes.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <string>
#include <vector>

#include "IngestProcess.h"
#include "MapCompanies.h"
#include "TestFleet.h"
#include "clickhouse/HttpConnection.h"
#include "clickhouse/Result.h"
#include "topology/NodeConnection.h"

namespace chfleet::testing {
namespace {

namespace ch = chfleet::clickhouse;

TestFleet& fleet() {
    return FleetEnvironment::fleet();
}

/// `sql` reading the global Distributed table where it reads the logical teei.events.
std::string onGlobalTable(const std::string& sql) {
    std::string out = sql;
    size_t at = out.find("teei.events ");
    if (at != std::string::npos) {
        out.replace(at, std::string("teei.events").size(), "teei.events_distributed");
    }
    return out;
}

/// A statement sent to the ingest server as a client sends a read (POST, SQL in the body).
httplib::Result read(const IngestProcess& ingest, const std::string& sql, const std::string& database = {}) {
    httplib::Client client("127.0.0.1", ingest.port());
    client.set_read_timeout(std::chrono::seconds(60));
    return client.Post(database.empty() ? "/" : "/?database=" + database,
                       {{"X-ClickHouse-User", kUser}, {"X-ClickHouse-Key", kPassword}}, sql, "text/plain");
}

/// The same statement on a node of the site, as the fleet's account (the general path's answer).
std::string direct(const std::string& node, const std::string& sql) {
    const auto& topology = fleet().fleet();
    ch::HttpConnection connection(topology::endpointFor(topology, *topology.node(node)));
    return connection.execute(sql);
}

void syncReplicas(const std::string& table) {
    for (const auto* node : fleet().fleet().site("primary")->nodes()) {
        ch::execute(*fleet().connect(node->name), "SYSTEM SYNC REPLICA teei." + table + "_local");
    }
}

/// Keeps processes stopped by SIGSTOP for its lifetime; SIGCONT whatever happens.
class Stopped {
  public:
    explicit Stopped(std::vector<std::string> nodes) : nodes_(std::move(nodes)) {
        for (const auto& node : nodes_) {
            ::kill(fleet().sandbox().process(node).pid, SIGSTOP);
        }
    }
    ~Stopped() {
        for (const auto& node : nodes_) {
            ::kill(fleet().sandbox().process(node).pid, SIGCONT);
        }
    }
    Stopped(const Stopped&) = delete;
    Stopped& operator=(const Stopped&) = delete;

  private:
    std::vector<std::string> nodes_;
};

/// Companies of both regions with rows in every shard of the primary site: `rows` events each.
std::vector<std::string> writeCompaniesInEveryShard(const IngestProcess& ingest, const std::string& prefix,
                                                    int per_region, int rows) {
    std::vector<std::pair<std::string, std::string>> mapping;
    std::vector<std::string> companies;
    for (int i = 0; i < per_region; ++i) {
        mapping.push_back({fmt::format("{}-us-{}", prefix, i), "us-east-1"});
        mapping.push_back({fmt::format("{}-eu-{}", prefix, i), "eu-central-1"});
    }
    mapCompanies(mapping);
    std::string body;
    int n = 0;
    for (const auto& [company, region] : mapping) {
        companies.push_back(company);
        for (int r = 0; r < rows; ++r, ++n) {
            body += fmt::format(
                R"({{"event_id":"00000000-0000-4000-8000-{:012}","company_id":"{}","user_id":"u{}",)"
                R"("event_type":"{}","region":"{}","timestamp":"2026-11-{:02} {:02}:00:00","payload":"{}"}})"
                "\n",
                n, company, n % 7, std::vector<std::string>{"click", "view", "donation"}[n % 3], region,
                1 + n % 20, n % 24, std::string(n % 5, 'x'));
        }
    }
    auto answer = ingest.post("INSERT INTO teei.events FORMAT JSONEachRow", body);
    EXPECT_TRUE(answer && answer->status == 200) << (answer ? answer->body : "no answer");
    syncReplicas("events");
    return companies;
}

TEST(IngestReads, AClientReadsWhatItWroteByTheSameNames) {
    mapCompanies({{"names-us", "us-east-1"}, {"names-eu", "eu-central-1"}});
    IngestProcess ingest;
    std::string events;
    for (int i = 0; i < 6; ++i) {
        events += eventRow(i % 2 == 0 ? "names-us" : "names-eu", 9000 + i);
    }
    auto written = ingest.post("INSERT INTO teei.events FORMAT JSONEachRow", events);
    ASSERT_TRUE(written && written->status == 200) << (written ? written->body : "");
    auto activity = ingest.post("INSERT INTO teei.user_activity FORMAT JSONEachRow",
                                R"({"company_id":"names-us","user_id":"u9000","duration_ms":5,)"
                                R"("timestamp":"2026-11-01 10:00:00"})"
                                "\n");
    ASSERT_TRUE(activity && activity->status == 200) << (activity ? activity->body : "");
    syncReplicas("events");
    syncReplicas("user_activity");

    auto count = read(ingest, "SELECT count() FROM teei.events WHERE company_id LIKE 'names-%'");
    ASSERT_TRUE(count);
    EXPECT_EQ(count->status, 200) << count->body;
    EXPECT_EQ(count->body, "6\n");
    auto grouped =
        read(ingest,
             "SELECT company_id, count() AS n FROM events WHERE company_id LIKE 'names-%' GROUP BY "
             "company_id ORDER BY company_id LIMIT 5 FORMAT CSV",
             "teei");
    ASSERT_TRUE(grouped);
    EXPECT_EQ(grouped->body, "\"names-eu\",3\n\"names-us\",3\n");
    auto joined =
        read(ingest,
             "SELECT e.company_id, count() FROM teei.events AS e ANY INNER JOIN teei.user_activity AS u "
             "USING user_id WHERE e.company_id LIKE 'names-%' GROUP BY e.company_id FORMAT TSV");
    ASSERT_TRUE(joined);
    EXPECT_EQ(joined->body, "names-us\t1\n") << joined->status;
    auto exists = read(ingest, "EXISTS TABLE teei.events");
    ASSERT_TRUE(exists);
    EXPECT_EQ(exists->body, "1\n");
    auto described = read(ingest, "DESCRIBE TABLE events FORMAT TSV", "teei");
    ASSERT_TRUE(described);
    EXPECT_TRUE(described->body.starts_with("event_id\tUUID\t")) << described->body;
    auto tables = read(ingest, "SHOW TABLES FROM teei");
    ASSERT_TRUE(tables);
    EXPECT_NE(tables->body.find("\nevents\n"), std::string::npos) << tables->body;
    EXPECT_NE(tables->body.find("\nevents_distributed\n"), std::string::npos) << tables->body;
    // A string that spells a table is data, not a table.
    auto literal = read(ingest, "SELECT 'FROM teei.events' -- FROM teei.events\n");
    ASSERT_TRUE(literal);
    EXPECT_EQ(literal->body, "FROM teei.events\n");
    // What cannot be rewritten safely is refused, naming what to write instead.
    auto refused = read(ingest, "SELECT count() FROM system.one WHERE 'x' IN teei.events");
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 400);
    EXPECT_NE(refused->body.find("teei.events_distributed"), std::string::npos) << refused->body;
}

TEST(IngestReads, ASingleCompanySelectReadsOneReplicaAndAnswersAsTheGeneralPath) {
    IngestProcess ingest;
    auto companies = writeCompaniesInEveryShard(ingest, "pin", 8, 40);
    // Every shard of the site holds rows of these companies.
    for (const auto& region : fleet().fleet().site("primary")->regions) {
        for (int shard = 1; shard <= region.shards; ++shard) {
            EXPECT_NE(fleet().scalar(region.node(shard, 1)->name,
                                     "SELECT count() FROM teei.events_local WHERE company_id LIKE 'pin-%'"),
                      "0")
                << region.name << " shard " << shard;
        }
    }
    const std::vector<std::string> shapes{
        "SELECT count() FROM teei.events WHERE company_id = '{}'",
        "SELECT event_type, count() AS n, uniqExact(user_id) AS users, min(timestamp), max(timestamp), "
        "sum(length(payload)) FROM teei.events WHERE company_id = '{}' GROUP BY event_type ORDER BY "
        "event_type "
        "FORMAT TSVWithNames",
        "SELECT user_id, timestamp, payload FROM teei.events WHERE timestamp >= '2026-11-05 00:00:00' AND "
        "company_id = '{}' ORDER BY timestamp DESC, user_id, payload LIMIT 7 FORMAT JSONEachRow",
        "SELECT toStartOfDay(timestamp) AS d, count() AS n FROM teei.events PREWHERE company_id = '{}' GROUP "
        "BY "
        "d ORDER BY n DESC, d LIMIT 3 FORMAT CSV",
        "SELECT avg(length(user_id)), countIf(event_type = 'view') FROM teei.events WHERE '{}' = company_id "
        "AND "
        "(event_type = 'view' OR event_type = 'click')",
    };
    for (const auto& company : companies) {
        for (const auto& shape : shapes) {
            std::string sql = fmt::format(fmt::runtime(shape), company);
            auto pinned = read(ingest, sql);
            ASSERT_TRUE(pinned) << sql;
            EXPECT_EQ(pinned->status, 200) << pinned->body;
            EXPECT_EQ(pinned->get_header_value("X-Chfleet-Read").substr(0, 6), "shard ") << sql;
            std::string general = direct("clickhouse-us-0", onGlobalTable(sql));
            EXPECT_EQ(pinned->body, general) << sql;
            EXPECT_NE(general, "0\n") << sql;
        }
    }
    // A materialized view's rows sit where its source's rows were inserted: pinned the same way.
    for (const auto& company : {std::string("pin-us-2"), std::string("pin-eu-5")}) {
        std::string sql =
            "SELECT metric_name, sum(total_value) AS total FROM teei.mv_daily_company_metrics WHERE "
            "company_id = '" +
            company + "' GROUP BY metric_name ORDER BY metric_name";
        auto pinned = read(ingest, sql);
        ASSERT_TRUE(pinned);
        EXPECT_EQ(pinned->get_header_value("X-Chfleet-Read").substr(0, 6), "shard ") << sql;
        std::string general = direct("clickhouse-eu-1",
                                     "SELECT metric_name, sum(total_value) AS total FROM "
                                     "teei.mv_daily_company_metrics_distributed WHERE company_id "
                                     "= '" +
                                         company + "' GROUP BY metric_name ORDER BY metric_name");
        EXPECT_EQ(pinned->body, general) << sql;
        EXPECT_NE(general, "") << sql;
    }
    // The regional name pins too, on its own region; other statements go the general way, with the same
    // answer.
    auto regional =
        read(ingest, "SELECT count() FROM teei.events_eu_distributed WHERE company_id = 'pin-eu-3'");
    ASSERT_TRUE(regional);
    EXPECT_EQ(regional->get_header_value("X-Chfleet-Read").substr(0, 19), "shard eu-central-1 ");
    EXPECT_EQ(regional->body, direct("clickhouse-us-0",
                                     "SELECT count() FROM teei.events_eu_distributed WHERE "
                                     "company_id = 'pin-eu-3'"));
    std::string several =
        "SELECT company_id, count() FROM teei.events WHERE company_id IN ('pin-us-1', 'pin-eu-1') "
        "GROUP BY company_id ORDER BY company_id";
    auto general = read(ingest, several);
    ASSERT_TRUE(general);
    EXPECT_EQ(general->get_header_value("X-Chfleet-Read").substr(0, 5), "site ");
    EXPECT_EQ(general->body, direct("clickhouse-eu-0", onGlobalTable(several)));
}

TEST(IngestReads, AnEuCompanysPinnedReadsNeedNoUsNode) {
    IngestProcess ingest;
    auto companies = writeCompaniesInEveryShard(ingest, "gdpr", 2, 10);
    std::string expected = direct("clickhouse-eu-0",
                                  "SELECT count() FROM teei.events_distributed WHERE "
                                  "company_id = 'gdpr-eu-1'");
    std::vector<std::string> us_nodes;
    for (const auto* node : fleet().fleet().site("primary")->nodes()) {
        if (node->region == "us-east-1") {
            us_nodes.push_back(node->name);
        }
    }
    Stopped stopped(us_nodes);  // every US server frozen: a read that touched one would hang
    for (const auto& sql :
         {std::string("SELECT count() FROM teei.events WHERE company_id = 'gdpr-eu-1'"),
          std::string("SELECT count() FROM events_eu_distributed WHERE company_id = 'gdpr-eu-1'")}) {
        auto answer = read(ingest, sql, "teei");
        ASSERT_TRUE(answer) << sql;
        EXPECT_EQ(answer->status, 200) << answer->body;
        EXPECT_EQ(answer->body, expected) << sql;
        EXPECT_EQ(answer->get_header_value("X-Chfleet-Read").substr(0, 19), "shard eu-central-1 ");
    }
}

TEST(IngestReads, ARegionalTableNameIsAResidencyAssertion) {
    mapCompanies({{"assert-us", "us-east-1"}, {"assert-eu", "eu-central-1"}});
    IngestProcess ingest;
    auto taken = ingest.post("INSERT INTO teei.events_eu_distributed FORMAT JSONEachRow",
                             eventRow("assert-eu", 1) + eventRow("assert-eu", 2));
    ASSERT_TRUE(taken);
    EXPECT_EQ(taken->status, 200) << taken->body;
    auto refused = ingest.post("INSERT INTO teei.events_eu_distributed FORMAT JSONEachRow",
                               eventRow("assert-eu", 3) + eventRow("assert-us", 4));
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 400);
    EXPECT_NE(refused->body.find("row 2: company 'assert-us' belongs to region us-east-1"), std::string::npos)
        << refused->body;
    EXPECT_NE(refused->body.find("residency"), std::string::npos) << refused->body;
    syncReplicas("events");
    // Nothing of the refused request was written, not even its EU row.
    EXPECT_EQ(
        direct("clickhouse-us-0",
               "SELECT company_id, count() FROM teei.events_distributed WHERE company_id LIKE 'assert-%' "
               "GROUP BY company_id"),
        "assert-eu\t2\n");
    auto us =
        ingest.post("INSERT INTO teei.events_us_distributed FORMAT JSONEachRow", eventRow("assert-us", 5));
    ASSERT_TRUE(us);
    EXPECT_EQ(us->status, 200) << us->body;
}

}  // namespace
}  // namespace chfleet::testing
