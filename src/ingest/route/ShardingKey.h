#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "topology/Fleet.h"

namespace chfleet::ingest {

/// A table's sharding key, evaluated here exactly as ClickHouse evaluates it when a Distributed table places
/// a row, so that ingest can send each row straight to its shard.
///
/// Supported expressions (anything else is refused when the key is parsed, never guessed at per row):
/// - cityHash64(a1[, a2, ...]) where each argument is a column of type String, FixedString(N), UInt8..UInt64,
///   Int8..Int64, Date, DateTime('UTC'), UUID or LowCardinality(String | FixedString(N)), or
///   toString(<column>) of a String, integer or UUID column. UUID and LowCardinality arguments exist for
///   ClickHouse 20+ only (18.16 refuses them in cityHash64, so no such table exists there); UUIDs hash their
///   16 bytes.
/// - intHash64(<integer or Date column>);
/// - a bare integer column (the Distributed selector divides its bytes as an unsigned number);
/// - rand() or rand64(): any shard.
/// A plain DateTime is refused: its text names a different instant in each server time zone. Values outside
/// what ClickHouse 18.16 and current versions store alike (Date and DateTime after 2105-12-31) or outside
/// their type (300 for a UInt8, which servers silently wrap) are refused per row.
class ShardingKey {
  public:
    /// Parses table.sharding_key against table.columns. Throws Exception(InvalidConfig) naming the table, the
    /// expression and what is supported.
    static ShardingKey parse(const topology::Table& table);

    /// Names of the columns the key reads, in argument order (empty for rand()).
    const std::vector<std::string>& columns() const { return columns_; }
    bool isRandom() const { return form_ == Form::Random; }
    /// The expression as the fleet file wrote it.
    const std::string& expression() const { return expression_; }

    /// The key's value for one row. `values[i]` is the value of columns()[i] as ClickHouse's TabSeparated
    /// prints it after unescaping ("42", "-7", "2024-01-31", "6f1e2b6c-..."). A FixedString value shorter
    /// than its N is padded with zero bytes, as ClickHouse stores it. Throws Exception(BadArguments) naming
    /// the column when a value does not parse as its column's type. Allocates nothing (safe to call from
    /// several threads at once).
    uint64_t evaluate(std::span<const std::string_view> values) const;

  private:
    enum class Form { Random, CityHash64, IntHash64, Column };
    enum class Kind { String, FixedString, Integer, Date, DateTimeUtc, Uuid };

    /// One column the key reads and how its text becomes what the expression hashes.
    struct Argument {
        Kind kind = Kind::String;
        int width = 0;           ///< Integer: bytes
        bool is_signed = false;  ///< Integer
        size_t fixed_size = 0;   ///< FixedString(N): N
        bool to_string = false;  ///< toString(column): the canonical text of the value is hashed
        std::string column;
        std::string column_type;  ///< as the fleet file wrote it, for messages
    };

    ShardingKey() = default;

    /// The argument reading `column` of `table`; throws Exception(InvalidConfig) when the table has no such
    /// column or the key cannot read its type.
    static Argument argumentFor(const topology::Table& table, const std::string& column, bool to_string);
    /// cityHash64 of one argument's value.
    uint64_t hashArgument(const Argument& argument, std::string_view text) const;
    /// An Integer argument's value: signed values sign-extended to 64 bits.
    uint64_t integerValue(const Argument& argument, std::string_view text) const;
    [[noreturn]] void badValue(const Argument& argument, std::string_view text,
                               std::string_view expected) const;

    Form form_ = Form::Random;
    std::string table_;
    std::string expression_;
    std::vector<Argument> arguments_;
    std::vector<std::string> columns_;
};

/// The 1-based shard of `key` in `region`, as a Distributed table picks it: weights become slots (shard i
/// repeated weight(i) times, in shard order; a shard of weight 0 gets none), slot = key % total weight.
/// Throws Exception(InvalidConfig) when the region has no shard of positive weight.
int shardFor(uint64_t key, const topology::Region& region);

}  // namespace chfleet::ingest
