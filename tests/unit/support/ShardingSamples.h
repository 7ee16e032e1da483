#pragma once

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "clickhouse/Connection.h"
#include "clickhouse/Quoting.h"
#include "clickhouse/Result.h"
#include "ingest/route/ShardingKey.h"
#include "topology/Fleet.h"

/// Builders and checks shared by the sharding-key tests (unit tests against the embedded engine, integration
/// tests against 18.16): a table of given columns and key, a one-column key, its value for one text.
namespace chfleet::testing {

inline topology::Table tableWith(std::vector<std::pair<std::string, std::string>> columns, std::string key) {
    topology::Table table;
    table.name = "t";
    for (auto& [name, type] : columns) {
        table.columns.push_back({name, type, ""});
    }
    table.sharding_key = std::move(key);
    return table;
}

inline ingest::ShardingKey keyOf(const std::string& type, const std::string& expression) {
    return ingest::ShardingKey::parse(tableWith({{"c", type}}, expression));
}

inline uint64_t evaluate1(const ingest::ShardingKey& key, std::string_view value) {
    std::array<std::string_view, 1> values{value};
    return key.evaluate(values);
}

/// The integer types a key may hash, with their width in bytes and sign.
struct IntegerType {
    std::string name;
    int width;
    bool is_signed;
};

inline const std::vector<IntegerType>& integerTypes() {
    static const std::vector<IntegerType> types{
        {"UInt8", 1, false}, {"UInt16", 2, false}, {"UInt32", 4, false}, {"UInt64", 8, false},
        {"Int8", 1, true},   {"Int16", 2, true},   {"Int32", 4, true},   {"Int64", 8, true}};
    return types;
}

/// Deterministic pseudo-random numbers (splitmix64).
class Sequence {
  public:
    explicit Sequence(uint64_t seed) : state_(seed) {}
    uint64_t next() {
        uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }

  private:
    uint64_t state_;
};

/// Texts of integers of a type: every value of 8 and 16 bit types; boundaries and `count` values of every
/// magnitude, negative ones included, for wider ones.
inline std::vector<std::string> integerTexts(int width, bool is_signed, size_t count) {
    std::vector<std::string> texts;
    int bits = 8 * width;
    if (width <= 2) {
        int64_t low = is_signed ? -(int64_t{1} << (bits - 1)) : 0;
        for (int64_t v = low; v < low + (int64_t{1} << bits); ++v) {
            texts.push_back(std::to_string(v));
        }
        return texts;
    }
    Sequence random(static_cast<uint64_t>(width) * 31 + is_signed);
    for (size_t i = 0; i < count; ++i) {
        uint64_t raw = random.next() >> (random.next() % 64);
        if (bits < 64) {
            raw &= (uint64_t{1} << bits) - 1;
        }
        if (is_signed) {
            int64_t value = bits < 64 && raw >> (bits - 1) ? static_cast<int64_t>(raw - (uint64_t{1} << bits))
                                                           : static_cast<int64_t>(raw);
            texts.push_back(std::to_string(value));
        } else {
            texts.push_back(std::to_string(raw));
        }
    }
    if (is_signed) {
        int64_t max = bits == 64 ? std::numeric_limits<int64_t>::max() : (int64_t{1} << (bits - 1)) - 1;
        for (int64_t v : {int64_t{0}, int64_t{1}, int64_t{-1}, max, max - 1, -max, -max - 1}) {
            texts.push_back(std::to_string(v));
        }
    } else {
        uint64_t max = bits == 64 ? std::numeric_limits<uint64_t>::max() : (uint64_t{1} << bits) - 1;
        for (uint64_t v : {uint64_t{0}, uint64_t{1}, max, max - 1}) {
            texts.push_back(std::to_string(v));
        }
    }
    return texts;
}

inline std::string arrayLiteral(const std::vector<std::string>& texts) {
    std::string literal = "[";
    for (size_t i = 0; i < texts.size(); ++i) {
        literal += (i == 0 ? "" : ",") + clickhouse::quoteString(texts[i]);
    }
    return literal + "]";
}

inline const clickhouse::Settings kLongQueries{{"max_query_size", "100000000"}};

/// Compares, for every text, `key` (whose one column is `c`) with a server's (or the embedded engine's)
/// `expression` of c, where c is the text converted by `conversion` (an expression of s). Reports the first
/// few differences.
inline void expectHashesAgree(clickhouse::Connection& engine, const ingest::ShardingKey& key,
                              const std::vector<std::string>& texts, const std::string& conversion,
                              const std::string& expression) {
    auto result =
        clickhouse::query(engine,
                          "SELECT s, toString(" + expression + ") AS h FROM (SELECT s, " + conversion +
                              " AS c FROM (SELECT arrayJoin(" + arrayLiteral(texts) + ") AS s))",
                          kLongQueries);
    ASSERT_EQ(result.rowCount(), texts.size());
    int differences = 0;
    for (size_t row = 0; row < result.rowCount() && differences < 5; ++row) {
        const std::string& text = result.getString(row, "s");
        uint64_t ours = evaluate1(key, text);
        if (std::to_string(ours) != result.getString(row, "h")) {
            ++differences;
            ADD_FAILURE() << key.expression() << " of '" << text << "': engine " << result.getString(row, "h")
                          << ", ours " << ours;
        }
    }
}

}  // namespace chfleet::testing
