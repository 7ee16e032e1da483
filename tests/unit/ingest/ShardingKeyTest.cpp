#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <limits>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "../support/EmbeddedEngine.h"
#include "../support/ShardingSamples.h"
#include "clickhouse/CityHash.h"
#include "shared/EmbeddedConnection.h"
#include "clickhouse/Quoting.h"
#include "clickhouse/Result.h"
#include "common/Exception.h"
#include "ingest/route/ShardingKey.h"

namespace chfleet::ingest {
namespace {

namespace ch = clickhouse;
using namespace chfleet::testing;  // the shared sharding samples

/// The message of the Exception `call` throws with `code`; fails the test when it throws none.
template <typename Call>
std::string failure(ErrorCode code, Call call) {
    try {
        call();
    } catch (const Exception& e) {
        EXPECT_EQ(e.code(), code) << e.what();
        return e.what();
    }
    ADD_FAILURE() << "no exception";
    return "";
}

TEST(ShardingKey, ParsesTheSupportedForms) {
    auto table = tableWith({{"company_id", "String"}, {"n", "UInt32"}, {"id", "UUID"}, {"d", "Date"}},
                           "cityHash64(company_id)");
    auto key = ShardingKey::parse(table);
    EXPECT_EQ(key.columns(), std::vector<std::string>{"company_id"});
    EXPECT_FALSE(key.isRandom());
    EXPECT_EQ(key.expression(), "cityHash64(company_id)");

    table.sharding_key = " cityHash64 ( `company_id` , n,toString( id ), \"d\" ) ";
    EXPECT_EQ(ShardingKey::parse(table).columns(), (std::vector<std::string>{"company_id", "n", "id", "d"}));
    table.sharding_key = "n";
    EXPECT_EQ(ShardingKey::parse(table).columns(), std::vector<std::string>{"n"});
    table.sharding_key = "intHash64(n)";
    EXPECT_EQ(ShardingKey::parse(table).columns(), std::vector<std::string>{"n"});
    table.sharding_key = "rand()";
    EXPECT_TRUE(ShardingKey::parse(table).isRandom());
    EXPECT_TRUE(ShardingKey::parse(table).columns().empty());
    // A random key takes no value and gives a new number each row (64 draws of 2^64: no repeat).
    auto random = ShardingKey::parse(table);
    std::set<uint64_t> drawn;
    for (int i = 0; i < 64; ++i) {
        drawn.insert(random.evaluate({}));
    }
    EXPECT_EQ(drawn.size(), 64u);
    table.sharding_key = "rand64( )";
    EXPECT_TRUE(ShardingKey::parse(table).isRandom());
}

TEST(ShardingKey, RefusesWhatItCannotEvaluateNamingTableAndExpression) {
    auto table = tableWith({{"s", "String"},
                            {"t", "DateTime"},
                            {"tz", "DateTime('Europe/Berlin')"},
                            {"ns", "Nullable(String)"},
                            {"f", "Float64"},
                            {"d", "Date"},
                            {"n", "UInt64"}},
                           "");
    auto refused = [&](const std::string& expression) {
        table.sharding_key = expression;
        return failure(ErrorCode::InvalidConfig, [&] { ShardingKey::parse(table); });
    };
    EXPECT_NE(refused("").find("no sharding key"), std::string::npos);
    auto message = refused("cityHash64(s) % 3");
    EXPECT_NE(message.find("table t"), std::string::npos) << message;
    EXPECT_NE(message.find("'cityHash64(s) % 3'"), std::string::npos) << message;
    EXPECT_NE(message.find("Supported: cityHash64"), std::string::npos) << message;
    EXPECT_NE(refused("sipHash64(s)").find("sipHash64 is not supported"), std::string::npos);
    EXPECT_NE(refused("cityHash64(missing)").find("column missing"), std::string::npos);
    EXPECT_NE(refused("cityHash64(t)").find("time zone"), std::string::npos);
    EXPECT_NE(refused("cityHash64(tz)").find("time zone"), std::string::npos);
    EXPECT_NE(refused("cityHash64(ns)").find("NULL"), std::string::npos);
    EXPECT_NE(refused("cityHash64(f)").find("Float64"), std::string::npos);
    EXPECT_NE(refused("cityHash64(toString(d))").find("toString()"), std::string::npos);
    EXPECT_NE(refused("s").find("needs an integer"), std::string::npos);
    EXPECT_NE(refused("d").find("needs an integer"), std::string::npos);
    EXPECT_NE(refused("intHash64(s)").find("intHash64 takes"), std::string::npos);
    EXPECT_NE(refused("intHash64(n, n)").find("intHash64 takes"), std::string::npos);
    refused("cityHash64()");
    refused("cityHash64(s,)");
    refused("cityHash64(s");
    refused("cityHash64(s) x");
    refused("cityHash64(lower(s))");
    refused("rand(1)");
    refused("n + 1");
    refused("42");
}

TEST(ShardingKey, RefusesValuesThatAreNotOfTheColumnsType) {
    auto message =
        failure(ErrorCode::BadArguments, [] { evaluate1(keyOf("UInt32", "cityHash64(c)"), "abc"); });
    EXPECT_NE(message.find("column c (UInt32)"), std::string::npos) << message;
    EXPECT_NE(message.find("'abc'"), std::string::npos) << message;
    for (const auto& [type, value] : std::vector<std::pair<std::string, std::string>>{
             {"UInt8", "256"},
             {"UInt8", "-1"},
             {"UInt8", ""},
             {"UInt8", " 1"},
             {"UInt8", "1 "},
             {"UInt8", "+-1"},
             {"UInt64", "18446744073709551616"},
             {"Int8", "128"},
             {"Int8", "-129"},
             {"Int64", "9223372036854775808"},
             {"Int32", "1.5"},
             {"Date", "2024-02-30"},
             {"Date", "2023-02-29"},
             {"Date", "2024-13-01"},
             {"Date", "2024-1-01"},
             {"Date", "1969-12-31"},
             {"Date", "2106-01-01"},
             {"Date", "19700101"},
             {"DateTime('UTC')", "2024-01-01 24:00:00"},
             {"DateTime('UTC')", "2024-01-01"},
             {"DateTime('UTC')", "2106-01-01 00:00:00"},
             {"DateTime('UTC')", "0000-00-00 00:00:00"},
             {"UUID", "6f1e2b6c-4f89-11d3-9a0c-0305e82c330"},
             {"UUID", "6f1e2b6c-4f89-11d3-9a0c-0305e82c330g"},
             {"UUID", "6f1e2b6c4f8911d39a0c0305e82c3301"},
             {"FixedString(4)", "abcde"},
         }) {
        failure(ErrorCode::BadArguments, [&] { evaluate1(keyOf(type, "cityHash64(c)"), value); });
    }
    auto key = ShardingKey::parse(tableWith({{"a", "String"}, {"b", "String"}}, "cityHash64(a, b)"));
    std::array<std::string_view, 1> one{"x"};
    failure(ErrorCode::BadArguments, [&] { key.evaluate(one); });
}

TEST(ShardingKey, ComputesEachFormAsClickHouseDoes) {
    EXPECT_EQ(evaluate1(keyOf("String", "cityHash64(c)"), "company-0001"), 13339679143497452300ULL);
    EXPECT_EQ(evaluate1(keyOf("LowCardinality(String)", "cityHash64(c)"), "company-0001"),
              13339679143497452300ULL);
    // Values printed by ClickHouse 18.16 and 26.5 alike.
    EXPECT_EQ(evaluate1(keyOf("Int8", "cityHash64(c)"), "-1"), 8055013221972926055ULL);
    EXPECT_EQ(evaluate1(keyOf("UInt8", "cityHash64(c)"), "255"), 8055013221972926055ULL);
    EXPECT_EQ(evaluate1(keyOf("Int64", "cityHash64(c)"), "-1"), 14600443904207254319ULL);
    EXPECT_EQ(evaluate1(keyOf("Int8", "intHash64(c)"), "-1"), 14600443904207254319ULL);
    EXPECT_EQ(evaluate1(keyOf("UInt8", "intHash64(c)"), "255"), 8055013221972926055ULL);
    EXPECT_EQ(evaluate1(keyOf("Date", "cityHash64(c)"), "2024-01-31"), 17524459150628364511ULL);
    EXPECT_EQ(evaluate1(keyOf("FixedString(4)", "cityHash64(c)"), "ab"), 17250913062071214179ULL);
    EXPECT_EQ(evaluate1(keyOf("FixedString(4)", "cityHash64(c)"), std::string_view("ab\0\0", 4)),
              17250913062071214179ULL);
    EXPECT_EQ(evaluate1(keyOf("UUID", "cityHash64(c)"), "6f1e2b6c-0000-0000-0000-000000000000"),
              2534650582682979624ULL);
    EXPECT_EQ(evaluate1(keyOf("UUID", "cityHash64(toString(c))"), "6F1E2B6C-4F89-11D3-9A0C-0305E82C3301"),
              ch::cityHash64("6f1e2b6c-4f89-11d3-9a0c-0305e82c3301"));
    EXPECT_EQ(evaluate1(keyOf("Int16", "cityHash64(toString(c))"), "-0042"), ch::cityHash64("-42"));
    EXPECT_EQ(evaluate1(keyOf("UInt16", "cityHash64(toString(c))"), "+007"), ch::cityHash64("7"));
    // 18.16 prints day 0 as 0000-00-00 and reads it back as day 0.
    EXPECT_EQ(evaluate1(keyOf("Date", "cityHash64(c)"), "0000-00-00"),
              evaluate1(keyOf("Date", "cityHash64(c)"), "1970-01-01"));

    auto pair = ShardingKey::parse(tableWith({{"a", "UInt8"}, {"b", "String"}}, "cityHash64(a, b)"));
    std::array<std::string_view, 2> values{"1", "b"};
    EXPECT_EQ(pair.evaluate(values), 12201411922254269289ULL);
    auto strings = ShardingKey::parse(tableWith({{"a", "String"}, {"b", "String"}}, "cityHash64(a, b)"));
    values = {"a", "b"};
    EXPECT_EQ(strings.evaluate(values), 7468329322676821011ULL);

    // A bare column: the selector divides the bytes as unsigned.
    EXPECT_EQ(evaluate1(keyOf("Int8", "c"), "-1"), 255u);
    EXPECT_EQ(evaluate1(keyOf("Int64", "c"), "-2"), std::numeric_limits<uint64_t>::max() - 1);
    EXPECT_EQ(evaluate1(keyOf("UInt32", "c"), "4294967295"), 4294967295u);
}

topology::Region regionWith(int shards, std::vector<int> weights) {
    topology::Region region;
    region.name = "r";
    region.shards = shards;
    region.weights = std::move(weights);
    return region;
}

TEST(ShardFor, IsKeyModuloShardCountWithoutWeights) {
    auto region = regionWith(3, {});
    EXPECT_EQ(shardFor(0, region), 1);
    EXPECT_EQ(shardFor(1, region), 2);
    EXPECT_EQ(shardFor(2, region), 3);
    EXPECT_EQ(shardFor(3, region), 1);
    EXPECT_EQ(shardFor(std::numeric_limits<uint64_t>::max(), region), 1);  // 2^64-1 = 0 mod 3
    EXPECT_EQ(shardFor(13339679143497452300ULL, region), 3);  // cityHash64('company-0001') = 2 mod 3
    EXPECT_EQ(shardFor(12345, regionWith(1, {})), 1);
}

// ClickHouse's Cluster appends shard i's index weight(i) times to its slot list (skipping weight 0), and the
// Distributed selector picks slots[key % slots.size()].
TEST(ShardFor, MapsWeightsToSlotsInShardOrder) {
    auto region = regionWith(4, {1, 3, 0, 2});
    const int slots[] = {1, 2, 2, 2, 4, 4};
    for (uint64_t key = 0; key < 60; ++key) {
        EXPECT_EQ(shardFor(key, region), slots[key % 6]) << key;
    }
    EXPECT_EQ(shardFor(std::numeric_limits<uint64_t>::max(), region),
              slots[std::numeric_limits<uint64_t>::max() % 6]);
    failure(ErrorCode::InvalidConfig, [] { shardFor(1, regionWith(2, {0, 0})); });
    failure(ErrorCode::InvalidConfig, [] { shardFor(1, regionWith(0, {})); });
}

class ShardingKeyEngineTest : public ::testing::Test {
  protected:
    void SetUp() override {
        CHFLEET_REQUIRE_EMBEDDED_ENGINE();
        engine_ = std::make_unique<ch::EmbeddedConnection>();
    }
    // Opened in SetUp, once the engine is known to be there (the sanitizer build runs without it).
    std::unique_ptr<ch::EmbeddedConnection> engine_;
    ch::Connection& engine() { return *engine_; }
};

// Every integer type, as cityHash64, cityHash64(toString), intHash64 and the bare column (the selector's
// unsigned value of the same width).
TEST_F(ShardingKeyEngineTest, IntegersOfEveryType) {
    for (const auto& type : chfleet::testing::integerTypes()) {
        SCOPED_TRACE(type.name);
        auto texts = integerTexts(type.width, type.is_signed, 3000);
        std::string conversion = std::string("to") + type.name + "(s)";
        std::string unsigned_name = type.name[0] == 'U' ? type.name : std::string("U") + type.name;
        expectHashesAgree(engine(), keyOf(type.name, "cityHash64(c)"), texts, conversion, "cityHash64(c)");
        expectHashesAgree(engine(), keyOf(type.name, "intHash64(c)"), texts, conversion, "intHash64(c)");
        expectHashesAgree(engine(), keyOf(type.name, "c"), texts, conversion, "to" + unsigned_name + "(c)");
        auto padded = texts;
        for (auto& text : padded) {
            text.insert(text[0] == '-' ? 1 : 0, "00");
        }
        padded.resize(std::min<size_t>(padded.size(), 2000));
        expectHashesAgree(engine(), keyOf(type.name, "cityHash64(toString(c))"), padded, conversion,
                          "cityHash64(toString(c))");
    }
}

TEST_F(ShardingKeyEngineTest, EveryDateBothEnginesStore) {
    auto result =
        ch::query(engine(),
                  "SELECT toString(d) AS s, toString(cityHash64(d)) AS h, toString(intHash64(d)) AS i "
                  "FROM (SELECT toDate(number) AS d FROM numbers(49673))");
    ASSERT_EQ(result.rowCount(), 49673u);
    EXPECT_EQ(result.getString(49672, "s"), "2105-12-31");
    auto city = keyOf("Date", "cityHash64(c)");
    auto int_hash = keyOf("Date", "intHash64(c)");
    int differences = 0;
    for (size_t row = 0; row < result.rowCount() && differences < 5; ++row) {
        const auto& text = result.getString(row, "s");
        if (std::to_string(evaluate1(city, text)) != result.getString(row, "h") ||
            std::to_string(evaluate1(int_hash, text)) != result.getString(row, "i")) {
            ++differences;
            ADD_FAILURE() << "date " << text;
        }
    }
}

TEST_F(ShardingKeyEngineTest, DateTimesInUtc) {
    std::vector<std::string> seconds{"0", "1", "86399", "86400", "951782400", "4291747199", "4291747198"};
    Sequence random(7);
    for (int i = 0; i < 3000; ++i) {
        seconds.push_back(std::to_string(random.next() % 4291747200ULL));
    }
    auto result = ch::query(engine(),
                            "SELECT toString(t) AS s, toString(cityHash64(t)) AS h FROM (SELECT "
                            "toDateTime(toUInt32(arrayJoin(" +
                                arrayLiteral(seconds) + ")), 'UTC') AS t)",
                            kLongQueries);
    ASSERT_EQ(result.rowCount(), seconds.size());
    EXPECT_EQ(result.getString(5, "s"), "2105-12-31 23:59:59");
    auto key = keyOf("DateTime('UTC')", "cityHash64(c)");
    auto spaced = keyOf("DateTime( 'UTC' )", "cityHash64(c)");
    for (size_t row = 1; row < result.rowCount(); ++row) {  // row 0 prints as 1970-01-01 00:00:00 here
        const auto& text = result.getString(row, "s");
        ASSERT_EQ(std::to_string(evaluate1(key, text)), result.getString(row, "h")) << text;
        ASSERT_EQ(evaluate1(spaced, text), evaluate1(key, text));
    }
}

std::string randomBytes(Sequence& random, size_t length) {
    std::string bytes;
    for (size_t i = 0; i < length; ++i) {
        bytes += static_cast<char>(random.next() & 0xff);
    }
    return bytes;
}

TEST_F(ShardingKeyEngineTest, StringsFixedStringsAndLowCardinality) {
    Sequence random(11);
    std::vector<std::string> strings{"", "a", std::string("\0", 1), "company-0001"};
    std::vector<std::string> short_strings{"", "a", std::string("\0", 1), "abcdefgh",
                                           std::string("ab\0\0", 4)};
    for (int i = 0; i < 1000; ++i) {
        strings.push_back(randomBytes(random, random.next() % 90));
        short_strings.push_back(randomBytes(random, random.next() % 9));
    }
    expectHashesAgree(engine(), keyOf("String", "cityHash64(c)"), strings, "s", "cityHash64(c)");
    expectHashesAgree(engine(), keyOf("String", "cityHash64(toString(c))"), strings, "s",
                      "cityHash64(toString(c))");
    expectHashesAgree(engine(), keyOf("LowCardinality(String)", "cityHash64(c)"), strings,
                      "toLowCardinality(s)", "cityHash64(c)");
    expectHashesAgree(engine(), keyOf("FixedString(8)", "cityHash64(c)"), short_strings,
                      "toFixedString(s, 8)", "cityHash64(c)");
    expectHashesAgree(engine(), keyOf("LowCardinality(FixedString(8))", "cityHash64(c)"), short_strings,
                      "toLowCardinality(toFixedString(s, 8))", "cityHash64(c)");
}

std::string uuidText(Sequence& random, bool upper) {
    static constexpr char lower_hex[] = "0123456789abcdef";
    static constexpr char upper_hex[] = "0123456789ABCDEF";
    std::string text;
    for (int digit = 0; digit < 32; ++digit) {
        if (digit == 8 || digit == 12 || digit == 16 || digit == 20) {
            text += '-';
        }
        text += (upper ? upper_hex : lower_hex)[random.next() & 0xf];
    }
    return text;
}

TEST_F(ShardingKeyEngineTest, Uuids) {
    Sequence random(13);
    std::vector<std::string> texts{"00000000-0000-0000-0000-000000000000",
                                   "ffffffff-ffff-ffff-ffff-ffffffffffff",
                                   "00112233-4455-6677-8899-aabbccddeeff"};
    for (int i = 0; i < 3000; ++i) {
        texts.push_back(uuidText(random, i % 5 == 0));
    }
    expectHashesAgree(engine(), keyOf("UUID", "cityHash64(c)"), texts, "toUUID(s)", "cityHash64(c)");
    expectHashesAgree(engine(), keyOf("UUID", "cityHash64(toString(c))"), texts, "toUUID(s)",
                      "cityHash64(toString(c))");
}

// Several arguments of different types: each row's hashes combined left to right.
TEST_F(ShardingKeyEngineTest, SeveralArguments) {
    auto table = tableWith({{"s", "String"},
                            {"i", "Int8"},
                            {"u", "UInt64"},
                            {"d", "Date"},
                            {"f", "FixedString(5)"},
                            {"id", "UUID"},
                            {"t", "DateTime('UTC')"},
                            {"n", "Int32"}},
                           "cityHash64(s, i, u, d, f, id, toString(id), t, toString(n))");
    auto key = ShardingKey::parse(table);
    Sequence random(17);
    std::vector<std::array<std::string, 8>> rows;
    std::string tuples = "[";
    for (int row = 0; row < 2000; ++row) {
        std::array<std::string, 8> values{"company-" + std::to_string(random.next() % 1000),
                                          std::to_string(static_cast<int>(random.next() % 256) - 128),
                                          std::to_string(random.next() >> (random.next() % 64)),
                                          "20" + std::to_string(10 + random.next() % 80) + "-0" +
                                              std::to_string(1 + random.next() % 9) + "-1" +
                                              std::to_string(random.next() % 10),
                                          randomBytes(random, random.next() % 6),
                                          uuidText(random, false),
                                          "2024-02-29 " + std::to_string(10 + random.next() % 14) + ":00:59",
                                          std::to_string(static_cast<int32_t>(random.next()))};
        tuples += std::string(row == 0 ? "" : ",") + "(" + std::to_string(row);
        for (const auto& value : values) {
            tuples += "," + ch::quoteString(value);
        }
        tuples += ")";
        rows.push_back(values);
    }
    tuples += "]";
    auto result =
        ch::query(engine(),
                  "SELECT tupleElement(r, 1) AS row, toString(cityHash64(tupleElement(r, 2), "
                  "toInt8(tupleElement(r, 3)), toUInt64(tupleElement(r, 4)), toDate(tupleElement(r, 5)), "
                  "toFixedString(tupleElement(r, 6), 5), toUUID(tupleElement(r, 7)), "
                  "toString(toUUID(tupleElement(r, 7))), toDateTime(tupleElement(r, 8), 'UTC'), "
                  "toString(toInt32(tupleElement(r, 9))))) AS h FROM (SELECT arrayJoin(" +
                      tuples + ") AS r)",
                  kLongQueries);
    ASSERT_EQ(result.rowCount(), rows.size());
    for (size_t row = 0; row < rows.size(); ++row) {
        const auto& values = rows[result.getUInt64(row, "row")];
        std::array<std::string_view, 9> arguments{values[0], values[1], values[2], values[3], values[4],
                                                  values[5], values[5], values[6], values[7]};
        ASSERT_EQ(std::to_string(key.evaluate(arguments)), result.getString(row, "h")) << "row " << row;
    }
}

}  // namespace
}  // namespace chfleet::ingest
