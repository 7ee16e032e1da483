#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "../support/EmbeddedEngine.h"
#include "../support/ShardingSamples.h"
#include "clickhouse/CityHash.h"
#include "shared/EmbeddedConnection.h"
#include "clickhouse/Quoting.h"
#include "clickhouse/Result.h"

namespace chfleet::clickhouse {
namespace {

// Values printed by ClickHouse 18.16 and 26.5 alike (see EmbeddedEngineTest), one per length class of
// CityHash.
TEST(CityHash, MatchesTheValuesClickHousePrints) {
    EXPECT_EQ(cityHash64(""), 11160318154034397263ULL);
    EXPECT_EQ(cityHash64("a"), 2603192927274642682ULL);
    EXPECT_EQ(cityHash64("company-0001"), 13339679143497452300ULL);
    EXPECT_EQ(cityHash64("Grüße"), 17364701079286602353ULL);
    EXPECT_EQ(cityHash64("3f2504e0-4f89-11d3-9a0c-0305e82c3301"), 11504228508932962492ULL);
    EXPECT_EQ(cityHash64("The quick brown fox jumps over the lazy dog"), 16697807905646383735ULL);
}

/// Deterministic test strings of every length from 0 to 300 (every branch and chunk boundary of CityHash),
/// with bytes of the whole range.
std::string sample(size_t length, size_t seed) {
    std::string text;
    for (size_t i = 0; i < length; ++i) {
        text += static_cast<char>((i * 131 + seed * 7 + 3) % 256);
    }
    return text;
}

// The modern engine as the oracle for every length (the integration tests do the same against 18.16).
TEST(CityHash, EqualsTheEmbeddedEngineForEveryLengthUpTo300) {
    CHFLEET_REQUIRE_EMBEDDED_ENGINE();
    EmbeddedConnection engine;
    std::string values;
    for (size_t length = 0; length <= 300; ++length) {
        values += (length == 0 ? "" : ", ") + quoteString(sample(length, length));
    }
    auto result =
        query(engine, "SELECT toString(cityHash64(v)) AS h, length(v) AS n FROM (SELECT arrayJoin([" +
                          values + "]) AS v)");
    ASSERT_EQ(result.rowCount(), 301u);
    for (size_t row = 0; row < result.rowCount(); ++row) {
        auto length = result.getUInt64(row, "n");
        EXPECT_EQ(std::to_string(cityHash64(sample(length, length))), result.getString(row, "h"))
            << "length " << length;
    }
}

TEST(CityHash, IntegerArgumentsHashTheirZeroExtendedBytes) {
    EXPECT_EQ(integerBits(-1, 1), 0xffu);
    EXPECT_EQ(integerBits(-2, 2), 0xfffeu);
    EXPECT_EQ(integerBits(-1, 4), 0xffffffffu);
    EXPECT_EQ(integerBits(-1, 8), 0xffffffffffffffffu);
    EXPECT_EQ(integerBits(127, 1), 127u);
    // Printed by ClickHouse 18.16 and 26.5 alike: cityHash64(toInt8(-1)) = cityHash64(toUInt8(255)), while
    // intHash64(toInt8(-1)) = intHash64(toUInt64(18446744073709551615)).
    EXPECT_EQ(cityHash64Integer(integerBits(-1, 1)), 8055013221972926055ULL);
    EXPECT_EQ(cityHash64Integer(0xffffffffffffffffULL), 14600443904207254319ULL);
    EXPECT_EQ(intHash64(static_cast<uint64_t>(int64_t{-1})), 14600443904207254319ULL);
    EXPECT_EQ(cityHash64Uuid(0x6f1e2b6c00000000ULL, 0), 2534650582682979624ULL);
    EXPECT_EQ(cityHash64Combine(cityHash64("a"), cityHash64("b")), 7468329322676821011ULL);
    EXPECT_EQ(cityHash64Combine(cityHash64Integer(1), cityHash64("b")), 12201411922254269289ULL);
}

/// Deterministic 64-bit values of every magnitude (splitmix64, shifted right by a varying amount).
std::vector<uint64_t> integerSamples(size_t count) {
    std::vector<uint64_t> values{0,
                                 1,
                                 2,
                                 127,
                                 128,
                                 255,
                                 256,
                                 32767,
                                 32768,
                                 65535,
                                 65536,
                                 2147483647ULL,
                                 2147483648ULL,
                                 4294967295ULL,
                                 4294967296ULL,
                                 9223372036854775807ULL,
                                 9223372036854775808ULL,
                                 18446744073709551615ULL};
    uint64_t state = 42;
    for (size_t i = 0; i < count; ++i) {
        uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        z ^= z >> 31;
        values.push_back(z >> (i % 64));
        values.push_back(~(z >> (i % 64)));  // negative when read as signed
    }
    return values;
}

// Every integer type of every width, from the same 64-bit patterns truncated by the engine's toIntN/toUIntN
// (which wrap), against integerBits + cityHash64Integer and intHash64.
TEST(CityHash, EqualsTheEmbeddedEngineForEveryIntegerType) {
    CHFLEET_REQUIRE_EMBEDDED_ENGINE();
    EmbeddedConnection engine;
    auto samples = integerSamples(2000);
    std::string values;
    for (size_t i = 0; i < samples.size(); ++i) {
        values += (i == 0 ? "" : ",") + std::to_string(samples[i]);
    }
    for (const auto& type : chfleet::testing::integerTypes()) {
        auto result =
            query(engine,
                  "SELECT toString(v) AS t, toString(cityHash64(v)) AS h, toString(intHash64(v)) AS i "
                  "FROM (SELECT to" +
                      type.name + "(arrayJoin([" + values + "])) AS v)",
                  {{"max_query_size", "10000000"}});
        ASSERT_EQ(result.rowCount(), samples.size());
        for (size_t row = 0; row < result.rowCount(); ++row) {
            const std::string& text = result.getString(row, "t");
            // The value as the engine stored it, as C++ converts it to UInt64 (sign-extended when signed).
            uint64_t value = type.is_signed ? static_cast<uint64_t>(std::stoll(text)) : std::stoull(text);
            ASSERT_EQ(std::to_string(cityHash64Integer(integerBits(static_cast<int64_t>(value), type.width))),
                      result.getString(row, "h"))
                << type.name << " " << text;
            ASSERT_EQ(std::to_string(intHash64(value)), result.getString(row, "i"))
                << type.name << " " << text;
        }
    }
}

// UUIDs (26.5 only: 18.16 refuses cityHash64 of a UUID) and several String arguments.
TEST(CityHash, EqualsTheEmbeddedEngineForUuidsAndSeveralArguments) {
    CHFLEET_REQUIRE_EMBEDDED_ENGINE();
    EmbeddedConnection engine;
    auto samples = integerSamples(1500);
    std::string pairs;
    for (size_t i = 0; i + 1 < samples.size(); i += 2) {
        pairs += std::string(i == 0 ? "" : ",") + "(" + std::to_string(samples[i]) + "," +
                 std::to_string(samples[i + 1]) + ")";
    }
    auto result =
        query(engine,
              "SELECT toString(hi) AS hi, toString(lo) AS lo, toString(cityHash64(toUUID(u))) AS h, "
              "toString(cityHash64(toString(hi), toString(lo))) AS h2, "
              "toString(cityHash64(toString(hi), toString(lo), toUUID(u))) AS h3 "
              "FROM (SELECT toUInt64(tupleElement(p, 1)) AS hi, toUInt64(tupleElement(p, 2)) AS lo, "
              "concat(leftPad(lower(hex(hi)), 16, '0'), leftPad(lower(hex(lo)), 16, '0')) AS x, "
              "concat(substring(x, 1, 8), '-', substring(x, 9, 4), '-', substring(x, 13, 4), '-', "
              "substring(x, 17, 4), '-', substring(x, 21, 12)) AS u FROM (SELECT arrayJoin([" +
                  pairs + "]) AS p))",
              {{"max_query_size", "10000000"}});
    ASSERT_EQ(result.rowCount(), samples.size() / 2);
    for (size_t row = 0; row < result.rowCount(); ++row) {
        const auto& hi = result.getString(row, "hi");
        const auto& lo = result.getString(row, "lo");
        ASSERT_EQ(std::to_string(cityHash64Uuid(std::stoull(hi), std::stoull(lo))),
                  result.getString(row, "h"))
            << hi << " " << lo;
        uint64_t two = cityHash64Combine(cityHash64(hi), cityHash64(lo));
        ASSERT_EQ(std::to_string(two), result.getString(row, "h2"));
        ASSERT_EQ(std::to_string(cityHash64Combine(two, cityHash64Uuid(std::stoull(hi), std::stoull(lo)))),
                  result.getString(row, "h3"));
    }
}

}  // namespace
}  // namespace chfleet::clickhouse
