// ShardingKey and shardFor against the real ClickHouse 18.16 servers of the teei sandbox: the key's value for
// thousands of values of every supported type equals the server's own cityHash64 / intHash64, and rows
// written through Distributed tables (the regions' real clusters, and a weighted cluster added to one
// server's config) land on the shard shardFor names. Uses the fleet the binary's environment brings up
// (IngestTest.cpp); its own tables live in a scratch database, dropped at the end, so the teei tables stay as
// the other tests expect them.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "../../unit/support/ShardingSamples.h"
#include "TestFleet.h"
#include "clickhouse/CityHash.h"
#include "clickhouse/Quoting.h"
#include "clickhouse/Result.h"
#include "common/Exception.h"
#include "ingest/route/ShardingKey.h"
#include "shared/WaitUntil.h"

namespace {

namespace ch = chfleet::clickhouse;
using chfleet::ingest::shardFor;
using chfleet::ingest::ShardingKey;
using namespace chfleet::testing;  // the shared sharding samples

chfleet::testing::TestFleet& fleet() {
    return chfleet::testing::FleetEnvironment::fleet();
}

constexpr const char* kScratch = "shard_oracle";

std::string randomBytes(Sequence& random, size_t length) {
    std::string bytes;
    for (size_t i = 0; i < length; ++i) {
        bytes += static_cast<char>(random.next() & 0xff);
    }
    return bytes;
}

std::string uuidText(Sequence& random) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string text;
    for (int digit = 0; digit < 32; ++digit) {
        if (digit == 8 || digit == 12 || digit == 16 || digit == 20) {
            text += '-';
        }
        text += hex[random.next() & 0xf];
    }
    return text;
}

int serverCodeOf(ch::Connection& server, const std::string& sql) {
    try {
        ch::query(server, sql);
    } catch (const chfleet::ServerException& e) {
        return e.serverCode();
    }
    return 0;
}

TEST(ShardingOracle, EveryShardedTableOfTheFleetHasAKeyChfleetEvaluates) {
    // The fleet file's own sharding expressions, evaluated by the 18.16 server on sample values of the
    // columns they read, and by chfleet: the same value for every sample of every table.
    auto server = fleet().connect("clickhouse-us-0");
    Sequence random(17);
    size_t tables_checked = 0;
    for (const auto& table : fleet().fleet().schema.tables) {
        if (table.sharding_key.empty()) {
            continue;
        }
        auto key = ShardingKey::parse(table);
        ASSERT_FALSE(key.columns().empty()) << table.name;
        for (const auto& column : key.columns()) {
            auto found = std::find_if(table.columns.begin(), table.columns.end(),
                                      [&](const auto& c) { return c.name == column; });
            ASSERT_NE(found, table.columns.end()) << table.name << ": the key reads no column " << column;
            ASSERT_EQ(found->type, "String") << table.name << ": this check samples String keys only";
        }
        for (int sample = 0; sample < 200; ++sample) {
            std::vector<std::string> values;
            std::string select;
            for (const auto& column : key.columns()) {
                values.push_back(sample % 2 ? uuidText(random) : randomBytes(random, sample % 40));
                select += (select.empty() ? "" : ", ") + ch::quoteString(values.back()) + " AS " +
                          ch::quoteIdentifier(column);
            }
            std::vector<std::string_view> views(values.begin(), values.end());
            auto expected = ch::scalar(
                *server, "SELECT toString(" + table.sharding_key + ") FROM (SELECT " + select + ")");
            ASSERT_EQ(std::to_string(key.evaluate(views)), expected) << table.name << " sample " << sample;
        }
        ++tables_checked;
    }
    EXPECT_GE(tables_checked, 5u) << "the teei fleet shards every regional table";
}

TEST(ShardingOracle, IntegersHashAsOnThe1816Server) {
    auto server = fleet().connect("clickhouse-us-0");
    ASSERT_EQ(ch::scalar(*server, "SELECT version()"), "18.16.1");
    for (const auto& type : chfleet::testing::integerTypes()) {
        SCOPED_TRACE(type.name);
        auto texts = integerTexts(type.width, type.is_signed, 3000);
        std::string conversion = std::string("to") + type.name + "(s)";
        std::string unsigned_name = type.name[0] == 'U' ? type.name : std::string("U") + type.name;
        expectHashesAgree(*server, keyOf(type.name, "cityHash64(c)"), texts, conversion, "cityHash64(c)");
        expectHashesAgree(*server, keyOf(type.name, "intHash64(c)"), texts, conversion, "intHash64(c)");
        expectHashesAgree(*server, keyOf(type.name, "c"), texts, conversion, "to" + unsigned_name + "(c)");
        texts.resize(std::min<size_t>(texts.size(), 2000));
        expectHashesAgree(*server, keyOf(type.name, "cityHash64(toString(c))"), texts, conversion,
                          "cityHash64(toString(c))");
    }
}

TEST(ShardingOracle, DatesDateTimesStringsAndUuidsHashAsOnThe1816Server) {
    auto server = fleet().connect("clickhouse-eu-0");
    // Every day 18.16 stores (it prints day 0 as 0000-00-00).
    auto days =
        ch::query(*server,
                  "SELECT toString(d) AS s, toString(cityHash64(d)) AS h, toString(intHash64(d)) AS i "
                  "FROM (SELECT toDate(number) AS d FROM numbers(49673))");
    ASSERT_EQ(days.rowCount(), 49673u);
    EXPECT_EQ(days.getString(0, "s"), "0000-00-00");
    EXPECT_EQ(days.getString(49672, "s"), "2105-12-31");
    auto city = keyOf("Date", "cityHash64(c)");
    auto int_hash = keyOf("Date", "intHash64(c)");
    for (size_t row = 0; row < days.rowCount(); ++row) {
        const auto& text = days.getString(row, "s");
        ASSERT_EQ(std::to_string(evaluate1(city, text)), days.getString(row, "h")) << text;
        ASSERT_EQ(std::to_string(evaluate1(int_hash, text)), days.getString(row, "i")) << text;
    }

    Sequence random(23);
    std::vector<std::string> seconds{"1", "86399", "86400", "951782400", "4291747199"};
    for (int i = 0; i < 3000; ++i) {
        seconds.push_back(std::to_string(1 + random.next() % 4291747199ULL));
    }
    auto times = ch::query(*server,
                           "SELECT toString(t) AS s, toString(cityHash64(t)) AS h FROM (SELECT "
                           "toDateTime(toUInt32(arrayJoin(" +
                               arrayLiteral(seconds) + ")), 'UTC') AS t)",
                           kLongQueries);
    ASSERT_EQ(times.rowCount(), seconds.size());
    auto utc = keyOf("DateTime('UTC')", "cityHash64(c)");
    for (size_t row = 0; row < times.rowCount(); ++row) {
        ASSERT_EQ(std::to_string(evaluate1(utc, times.getString(row, "s"))), times.getString(row, "h"))
            << times.getString(row, "s");
    }

    std::vector<std::string> strings{"", "company-0001", std::string("\0", 1)};
    std::vector<std::string> short_strings{"", "a", "abcdefgh", std::string("ab\0\0", 4)};
    std::vector<std::string> uuids{"00000000-0000-0000-0000-000000000000",
                                   "ffffffff-ffff-ffff-ffff-ffffffffffff"};
    for (int i = 0; i < 1500; ++i) {
        strings.push_back(randomBytes(random, random.next() % 90));
        short_strings.push_back(randomBytes(random, random.next() % 9));
        uuids.push_back(uuidText(random));
    }
    expectHashesAgree(*server, keyOf("String", "cityHash64(c)"), strings, "s", "cityHash64(c)");
    expectHashesAgree(*server, keyOf("FixedString(8)", "cityHash64(c)"), short_strings, "toFixedString(s, 8)",
                      "cityHash64(c)");
    expectHashesAgree(*server, keyOf("UUID", "cityHash64(toString(c))"), uuids, "toUUID(s)",
                      "cityHash64(toString(c))");
    // 18.16 hashes neither a UUID nor a LowCardinality column (so no table of it shards by one).
    EXPECT_EQ(serverCodeOf(*server, "SELECT cityHash64(toUUID('00112233-4455-6677-8899-aabbccddeeff'))"), 43);
    EXPECT_EQ(serverCodeOf(*server, "SELECT cityHash64(toLowCardinality('a'))"), 43);
}

/// Drops the scratch database on the given nodes when the test ends, however it ends.
class ScratchDatabase {
  public:
    explicit ScratchDatabase(std::vector<std::string> nodes) : nodes_(std::move(nodes)) {
        for (const auto& node : nodes_) {
            auto connection = fleet().connect(node);
            ch::execute(*connection, std::string("DROP DATABASE IF EXISTS ") + kScratch);
            ch::execute(*connection, std::string("CREATE DATABASE ") + kScratch);
        }
    }
    ~ScratchDatabase() {
        for (const auto& node : nodes_) {
            try {
                ch::execute(*fleet().connect(node), std::string("DROP DATABASE IF EXISTS ") + kScratch);
            } catch (const std::exception& e) {
                std::cerr << "could not drop " << kScratch << " on " << node << ": " << e.what() << "\n";
            }
        }
    }

  private:
    std::vector<std::string> nodes_;
};

TEST(ShardingOracle, SeveralArgumentsHashAsOnThe1816Server) {
    auto server = fleet().connect("clickhouse-us-2");
    auto key = ShardingKey::parse(tableWith({{"s", "String"},
                                             {"i", "Int8"},
                                             {"u", "UInt64"},
                                             {"d", "Date"},
                                             {"f", "FixedString(5)"},
                                             {"id", "UUID"},
                                             {"t", "DateTime('UTC')"},
                                             {"n", "Int32"}},
                                            "cityHash64(s, i, u, d, f, toString(id), t, toString(n))"));
    Sequence random(29);
    std::vector<std::array<std::string, 8>> rows;
    for (int row = 0; row < 3000; ++row) {
        rows.push_back({"company-" + std::to_string(random.next() % 1000),
                        std::to_string(static_cast<int>(random.next() % 256) - 128),
                        std::to_string(random.next() >> (random.next() % 64)),
                        "20" + std::to_string(10 + random.next() % 80) + "-0" +
                            std::to_string(1 + random.next() % 9) + "-1" + std::to_string(random.next() % 10),
                        randomBytes(random, random.next() % 6), uuidText(random),
                        "2024-02-29 " + std::to_string(10 + random.next() % 14) + ":00:59",
                        std::to_string(static_cast<int32_t>(random.next()))});
    }
    // The rows go in as TabSeparated, the way ingest receives them.
    ScratchDatabase scratch({"clickhouse-us-2"});
    ch::execute(*server,
                std::string("CREATE TABLE ") + kScratch +
                    ".arguments (row UInt32, s String, i Int8, u UInt64, d Date, f FixedString(5), id "
                    "UUID, t DateTime('UTC'), n Int32) ENGINE = Memory");
    std::string tsv;
    for (size_t row = 0; row < rows.size(); ++row) {
        tsv += std::to_string(row);
        for (const auto& value : rows[row]) {
            tsv += "\t" + ch::escapeTsvField(value);
        }
        tsv += "\n";
    }
    server->execute(std::string("INSERT INTO ") + kScratch + ".arguments FORMAT TabSeparated", tsv);
    auto result =
        ch::query(*server,
                  "SELECT row, toString(cityHash64(s, i, u, d, f, toString(id), t, toString(n))) AS h "
                  "FROM " +
                      std::string(kScratch) + ".arguments");
    ASSERT_EQ(result.rowCount(), rows.size());
    for (size_t row = 0; row < rows.size(); ++row) {
        const auto& values = rows[result.getUInt64(row, "row")];
        std::array<std::string_view, 8> arguments{values[0], values[1], values[2], values[3],
                                                  values[4], values[5], values[6], values[7]};
        ASSERT_EQ(std::to_string(key.evaluate(arguments)), result.getString(row, "h")) << "row " << row;
    }
}

/// Company ids <prefix>-0 .. <prefix>-<count - 1>.
std::vector<std::string> companies(const std::string& prefix, int count) {
    std::vector<std::string> ids;
    for (int i = 0; i < count; ++i) {
        ids.push_back(prefix + "-" + std::to_string(i));
    }
    return ids;
}

// Each region's real cluster and the key its regional tables use (copied from what `schema apply` created):
// every company lands on the shard shardFor names, and on no other.
TEST(ShardingOracle, RowsLandOnTheShardShardForNamesInEachRegion) {
    const auto& teei = fleet().fleet();
    const auto* events = teei.schema.table("events");
    ASSERT_NE(events, nullptr);
    auto key = ShardingKey::parse(*events);
    ASSERT_EQ(key.columns(), std::vector<std::string>{"company_id"});
    const auto* site = teei.site("primary");
    ASSERT_NE(site, nullptr);

    std::vector<std::string> nodes;
    for (const auto* node : site->nodes()) {
        nodes.push_back(node->name);
    }
    ScratchDatabase scratch(nodes);
    for (const auto& region : site->regions) {
        SCOPED_TRACE(region.name);
        const auto& entry = region.nodes.front().name;
        // The real regional table: this cluster and this key.
        auto engine = fleet().scalar(
            entry, "SELECT engine_full FROM system.tables WHERE database = 'teei' AND name = " +
                       ch::quoteString(events->regionalName(region)));
        EXPECT_NE(engine.find(region.cluster), std::string::npos) << engine;
        EXPECT_NE(engine.find(events->sharding_key), std::string::npos) << engine;
        for (const auto& node : region.nodes) {
            ch::execute(*fleet().connect(node.name),
                        std::string("CREATE TABLE ") + kScratch +
                            ".placed (company_id String) ENGINE = MergeTree ORDER BY "
                            "company_id");
        }
        ch::execute(*fleet().connect(entry), std::string("CREATE TABLE ") + kScratch +
                                                 ".placed_distributed AS " + kScratch +
                                                 ".placed ENGINE = Distributed(" + region.cluster + ", " +
                                                 kScratch + ", placed, " + events->sharding_key + ")");
        auto ids = companies("oracle-" + region.alias, 600);
        std::string rows;
        for (const auto& id : ids) {
            rows += id + "\n";
        }
        fleet().connect(entry)->execute(
            std::string("INSERT INTO ") + kScratch + ".placed_distributed FORMAT TabSeparated", rows,
            {{"insert_distributed_sync", "1"}});

        std::map<std::string, std::set<int>> found;  // company -> shards holding it
        for (const auto& node : region.nodes) {
            auto result = ch::query(*fleet().connect(node.name),
                                    std::string("SELECT company_id FROM ") + kScratch + ".placed");
            for (size_t row = 0; row < result.rowCount(); ++row) {
                found[result.getString(row, "company_id")].insert(node.shard);
            }
        }
        ASSERT_EQ(found.size(), ids.size());
        std::set<int> shards_used;
        for (const auto& id : ids) {
            std::array<std::string_view, 1> values{id};
            int expected = shardFor(key.evaluate(values), region);
            EXPECT_EQ(found[id], std::set<int>{expected}) << id;
            shards_used.insert(expected);
        }
        EXPECT_EQ(static_cast<int>(shards_used.size()), region.shards);
    }
}

/// A cluster with weights (2, 0, 3, 1) over four single-server shards, added to one server's configuration
/// in the sandbox's own folder (the server reloads remote_servers from config.d on its own); removed at the
/// end.
class WeightedCluster {
  public:
    static constexpr const char* kName = "shard_oracle_weighted";

    WeightedCluster(const std::string& entry, const std::vector<std::pair<std::string, int>>& shards)
        : entry_(entry) {
        path_ = std::filesystem::path(fleet().sandbox().process(entry).config_path).parent_path() /
                "config.d" / "zz-shard-oracle.xml";
        std::ofstream out(path_);
        out << "<?xml version=\"1.0\"?>\n<yandex><remote_servers><" << kName << ">";
        for (const auto& [node_name, weight] : shards) {
            const auto* node = fleet().fleet().node(node_name);
            out << "<shard><weight>" << weight << "</weight><replica><host>" << node->host << "</host><port>"
                << node->tcp_port << "</port><user>default</user></replica></shard>";
        }
        out << "</" << kName << "></remote_servers></yandex>\n";
        out.close();
        waitForClusterRows(shards.size());
    }
    ~WeightedCluster() {
        std::error_code ignored;
        std::filesystem::remove(path_, ignored);
    }

  private:
    void waitForClusterRows(size_t expected) {
        auto connection = fleet().connect(entry_);
        ch::execute(*connection, "SYSTEM RELOAD CONFIG");
        bool shown = chfleet::testing::waitUntil([&] {
            return ch::scalar(*connection,
                              std::string("SELECT count() FROM system.clusters WHERE cluster = '") + kName +
                                  "'") == std::to_string(expected);
        });
        if (shown) {
            return;
        }
        throw chfleet::Exception(chfleet::ErrorCode::Timeout, "{} never showed cluster {} with {} shards",
                                 entry_, kName, expected);
    }

    std::string entry_;
    std::filesystem::path path_;
};

// Weights as a real 18.16 Distributed table applies them (a shard of weight 0 gets nothing), for a key over
// several types and for a bare signed column (divided as its unsigned bytes).
TEST(ShardingOracle, WeightedSlotsAsA1816DistributedTablePicksThem) {
    const std::vector<std::pair<std::string, int>> shards{
        {"clickhouse-us-0", 2}, {"clickhouse-us-2", 0}, {"clickhouse-us-4", 3}, {"clickhouse-eu-0", 1}};
    std::vector<std::string> nodes;
    for (const auto& shard : shards) {
        nodes.push_back(shard.first);
    }
    ScratchDatabase scratch(nodes);
    WeightedCluster cluster("clickhouse-us-0", shards);
    chfleet::topology::Region region;
    region.name = WeightedCluster::kName;
    region.shards = static_cast<int>(shards.size());
    for (const auto& shard : shards) {
        region.weights.push_back(shard.second);
    }

    auto columns = std::vector<std::pair<std::string, std::string>>{
        {"via", "String"}, {"k", "String"}, {"i", "Int16"}, {"d", "Date"}, {"f", "FixedString(3)"}};
    auto hash_key = ShardingKey::parse(tableWith(columns, "cityHash64(k, i, d, f)"));
    auto bare_key = ShardingKey::parse(tableWith(columns, "i"));
    for (const auto& node : nodes) {
        ch::execute(*fleet().connect(node), std::string("CREATE TABLE ") + kScratch +
                                                ".placed (via String, k String, i Int16, d Date, f "
                                                "FixedString(3)) ENGINE = MergeTree ORDER BY k");
    }
    auto entry = fleet().connect("clickhouse-us-0");
    for (const auto& [name, expression] : std::vector<std::pair<std::string, std::string>>{
             {"by_hash", hash_key.expression()}, {"by_column", bare_key.expression()}}) {
        ch::execute(*entry, std::string("CREATE TABLE ") + kScratch + "." + name + " AS " + kScratch +
                                ".placed ENGINE = Distributed(" + WeightedCluster::kName + ", " + kScratch +
                                ", placed, " + expression + ")");
    }
    Sequence random(31);
    std::map<std::string, std::array<std::string, 4>> sent;  // k -> (k, i, d, f)
    std::string by_hash;
    std::string by_column;
    for (int row = 0; row < 1200; ++row) {
        std::array<std::string, 4> values{
            "row-" + std::to_string(row), std::to_string(static_cast<int>(random.next() % 65536) - 32768),
            "2024-0" + std::to_string(1 + random.next() % 9) + "-2" + std::to_string(random.next() % 8),
            std::string(1 + random.next() % 3, static_cast<char>('a' + row % 26))};
        std::string line = "\t" + values[0] + "\t" + values[1] + "\t" + values[2] + "\t" + values[3] + "\n";
        (row % 2 == 0 ? by_hash : by_column) += (row % 2 == 0 ? "by_hash" : "by_column") + line;
        sent[values[0]] = values;
    }
    entry->execute(std::string("INSERT INTO ") + kScratch + ".by_hash FORMAT TabSeparated", by_hash,
                   {{"insert_distributed_sync", "1"}});
    entry->execute(std::string("INSERT INTO ") + kScratch + ".by_column FORMAT TabSeparated", by_column,
                   {{"insert_distributed_sync", "1"}});

    std::map<int, size_t> rows_per_shard;
    size_t checked = 0;
    for (int shard = 1; shard <= region.shards; ++shard) {
        auto result = ch::query(
            *fleet().connect(nodes[shard - 1]),
            std::string("SELECT via, k, toString(i) AS i, toString(d) AS d, f FROM ") + kScratch + ".placed");
        for (size_t row = 0; row < result.rowCount(); ++row) {
            const auto& k = result.getString(row, "k");
            ASSERT_TRUE(sent.count(k)) << k;
            const auto& values = sent[k];
            EXPECT_EQ(result.getString(row, "i"), values[1]);
            // The FixedString as the server stored it: padded with zero bytes.
            std::array<std::string_view, 4> stored{k, result.getString(row, "i"), result.getString(row, "d"),
                                                   result.getString(row, "f")};
            std::array<std::string_view, 4> written{values[0], values[1], values[2], values[3]};
            EXPECT_EQ(hash_key.evaluate(stored), hash_key.evaluate(written));
            std::array<std::string_view, 1> bare{values[1]};
            int expected = result.getString(row, "via") == "by_hash"
                               ? shardFor(hash_key.evaluate(written), region)
                               : shardFor(bare_key.evaluate(bare), region);
            EXPECT_EQ(shard, expected) << k << " via " << result.getString(row, "via");
            ++rows_per_shard[shard];
            ++checked;
        }
    }
    EXPECT_EQ(checked, sent.size());
    EXPECT_EQ(rows_per_shard[2], 0u) << "the shard of weight 0 got rows";
    EXPECT_GT(rows_per_shard[3], rows_per_shard[4]);
}

}  // namespace
