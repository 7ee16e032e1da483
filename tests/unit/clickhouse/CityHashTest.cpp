#include <gtest/gtest.h>

#include <string>

#include "clickhouse/CityHash.h"
#include "clickhouse/EmbeddedConnection.h"
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
    if (!EmbeddedConnection::available()) {
        GTEST_SKIP() << EmbeddedConnection::unavailableReason();
    }
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

}  // namespace
}  // namespace chfleet::clickhouse
