#include "ingest/route/ShardingKey.h"

#include <array>
#include <cctype>
#include <charconv>
#include <optional>
#include <random>

#include "clickhouse/CityHash.h"
#include "common/Exception.h"
#include "common/Text.h"

namespace chfleet::ingest {

namespace {

namespace ch = clickhouse;

constexpr const char* kSupported =
    "Supported: cityHash64(c1[, c2, ...]) over columns of type String, FixedString(N), UInt8..UInt64, "
    "Int8..Int64, Date, DateTime('UTC'), UUID, LowCardinality(String) or toString(<String, integer or UUID "
    "column>); intHash64(<integer or Date column>); a bare integer column; rand()";

// The last day that ClickHouse 18.16 and current versions store alike: 18.16's date tables end with 2105 (it
// turns later dates into 0000-00-00), current versions go on to 2149 (Date) and 2106 (DateTime).
constexpr int64_t kLastDay = 49672;  // 2105-12-31

/// An expression split into tokens: names (plain, `back-quoted` or "double-quoted") and the marks ( ) ,.
class Tokens {
  public:
    explicit Tokens(std::string_view text) : text_(text) {}

    /// The next name, or nullopt (nothing consumed) when the next token is not one.
    std::optional<std::string> name() {
        skipSpace();
        if (pos_ >= text_.size()) {
            return std::nullopt;
        }
        char c = text_[pos_];
        if (c == '`' || c == '"') {
            size_t end = text_.find(c, pos_ + 1);
            if (end == std::string_view::npos || end == pos_ + 1) {
                return std::nullopt;
            }
            std::string quoted(text_.substr(pos_ + 1, end - pos_ - 1));
            pos_ = end + 1;
            return quoted;
        }
        if (!(std::isalpha(static_cast<unsigned char>(c)) || c == '_')) {
            return std::nullopt;
        }
        size_t start = pos_;
        while (pos_ < text_.size() &&
               (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_')) {
            ++pos_;
        }
        return std::string(text_.substr(start, pos_ - start));
    }

    /// Consumes `mark` if it is next.
    bool mark(char mark) {
        skipSpace();
        if (pos_ < text_.size() && text_[pos_] == mark) {
            ++pos_;
            return true;
        }
        return false;
    }

    bool atEnd() {
        skipSpace();
        return pos_ == text_.size();
    }

  private:
    void skipSpace() {
        while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) {
            ++pos_;
        }
    }

    std::string_view text_;
    size_t pos_ = 0;
};

std::string withoutSpaces(std::string_view text) {
    std::string out;
    for (char c : text) {
        if (!std::isspace(static_cast<unsigned char>(c))) {
            out += c;
        }
    }
    return out;
}

bool isDigit(char c) {
    return c >= '0' && c <= '9';
}

/// `text` holds exactly `count` decimal digits from `pos`; their value in `out`.
bool digitsAt(std::string_view text, size_t pos, size_t count, unsigned& out) {
    out = 0;
    for (size_t i = pos; i < pos + count; ++i) {
        if (!isDigit(text[i])) {
            return false;
        }
        out = out * 10 + static_cast<unsigned>(text[i] - '0');
    }
    return true;
}

/// Days since 1970-01-01 of a proleptic Gregorian date (the civil-from-days inverse, valid for year >= 1).
int64_t daysFromCivil(unsigned year, unsigned month, unsigned day) {
    int64_t y = static_cast<int64_t>(year) - (month <= 2 ? 1 : 0);
    int64_t era = y / 400;
    int64_t year_of_era = y - era * 400;
    int64_t month_from_march = month > 2 ? month - 3 : month + 9;
    int64_t day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + day_of_era - 719468;
}

bool isLeapYear(unsigned year) {
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

/// "YYYY-MM-DD" (the form ClickHouse prints) as days since 1970-01-01, within what both engines store.
/// "0000-00-00", which 18.16 prints for day 0, is day 0 for both engines.
std::optional<uint32_t> parseDate(std::string_view text) {
    if (text == "0000-00-00") {
        return 0;
    }
    unsigned year = 0;
    unsigned month = 0;
    unsigned day = 0;
    if (text.size() != 10 || text[4] != '-' || text[7] != '-' || !digitsAt(text, 0, 4, year) ||
        !digitsAt(text, 5, 2, month) || !digitsAt(text, 8, 2, day)) {
        return std::nullopt;
    }
    static constexpr std::array<unsigned, 12> kMonthDays{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month < 1 || month > 12 || day < 1 ||
        day > kMonthDays[month - 1] + (month == 2 && isLeapYear(year) ? 1 : 0)) {
        return std::nullopt;
    }
    int64_t days = daysFromCivil(year, month, day);
    if (days < 0 || days > kLastDay) {
        return std::nullopt;
    }
    return static_cast<uint32_t>(days);
}

/// "YYYY-MM-DD hh:mm:ss" in UTC as seconds since the epoch, within what both engines store. Not
/// "0000-00-00 00:00:00": 18.16 reads it as 0, 26.5 as a time in 2026.
std::optional<uint64_t> parseDateTimeUtc(std::string_view text) {
    if (text.starts_with("0000-00-00")) {
        return std::nullopt;
    }
    unsigned hour = 0;
    unsigned minute = 0;
    unsigned second = 0;
    if (text.size() != 19 || text[10] != ' ' || text[13] != ':' || text[16] != ':' ||
        !digitsAt(text, 11, 2, hour) || !digitsAt(text, 14, 2, minute) || !digitsAt(text, 17, 2, second) ||
        hour > 23 || minute > 59 || second > 59) {
        return std::nullopt;
    }
    auto days = parseDate(text.substr(0, 10));
    if (!days) {
        return std::nullopt;
    }
    return uint64_t{*days} * 86400 + hour * 3600 + minute * 60 + second;
}

/// "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (either case) as the numbers its two halves spell.
bool parseUuid(std::string_view text, uint64_t& high, uint64_t& low) {
    if (text.size() != 36 || text[8] != '-' || text[13] != '-' || text[18] != '-' || text[23] != '-') {
        return false;
    }
    uint64_t halves[2] = {0, 0};
    int digits = 0;
    for (char c : text) {
        if (c == '-') {
            continue;
        }
        int value = text::hexDigitValue(c);
        if (value < 0) {
            return false;
        }
        uint64_t& half = halves[digits / 16];
        half = (half << 4) | static_cast<uint64_t>(value);
        ++digits;
    }
    high = halves[0];
    low = halves[1];
    return true;
}

/// ClickHouse's text of a UUID: lower-case hex with dashes.
void formatUuid(uint64_t high, uint64_t low, char (&out)[36]) {
    static constexpr char kHex[] = "0123456789abcdef";
    size_t pos = 0;
    for (int digit = 0; digit < 32; ++digit) {
        if (digit == 8 || digit == 12 || digit == 16 || digit == 20) {
            out[pos++] = '-';
        }
        uint64_t half = digit < 16 ? high : low;
        int shift = 60 - 4 * (digit % 16);
        out[pos++] = kHex[(half >> shift) & 0xf];
    }
}

/// Decimal text of a signed integer of `width` bytes. A leading '+' and leading zeros are accepted, as
/// ClickHouse accepts them; values outside the type are refused (ClickHouse would store them wrapped).
std::optional<int64_t> parseSigned(std::string_view text, int width) {
    if (!text.empty() && text.front() == '+') {
        text.remove_prefix(1);
        if (!text.empty() && text.front() == '-') {
            return std::nullopt;
        }
    }
    int64_t value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
        return std::nullopt;
    }
    if (width < 8) {
        int64_t limit = int64_t{1} << (8 * width - 1);
        if (value < -limit || value >= limit) {
            return std::nullopt;
        }
    }
    return value;
}

/// Decimal text of an unsigned integer of `width` bytes (no sign but an optional '+').
std::optional<uint64_t> parseUnsigned(std::string_view text, int width) {
    if (!text.empty() && text.front() == '+') {
        text.remove_prefix(1);
    }
    uint64_t value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
        return std::nullopt;
    }
    if (width < 8 && value >> (8 * width) != 0) {
        return std::nullopt;
    }
    return value;
}

/// Bytes and signedness of an integer type name; width 0 when `type` is not one.
std::pair<int, bool> integerType(std::string_view type) {
    static constexpr std::array<std::pair<std::string_view, std::pair<int, bool>>, 8> kTypes{{
        {"UInt8", {1, false}},
        {"UInt16", {2, false}},
        {"UInt32", {4, false}},
        {"UInt64", {8, false}},
        {"Int8", {1, true}},
        {"Int16", {2, true}},
        {"Int32", {4, true}},
        {"Int64", {8, true}},
    }};
    for (const auto& [name, info] : kTypes) {
        if (name == type) {
            return info;
        }
    }
    return {0, false};
}

/// N of "FixedString(N)", 0 when `type` is not one.
size_t fixedStringSize(std::string_view type) {
    constexpr std::string_view kPrefix = "FixedString(";
    if (!type.starts_with(kPrefix) || !type.ends_with(")")) {
        return 0;
    }
    auto digits = type.substr(kPrefix.size(), type.size() - kPrefix.size() - 1);
    size_t size = 0;
    auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), size);
    return error == std::errc() && end == digits.data() + digits.size() ? size : 0;
}

/// Zero bytes a short FixedString value is padded with, per thread (evaluate() may run on several at once).
std::string& paddingBuffer() {
    thread_local std::string buffer;
    return buffer;
}

uint64_t randomKey() {
    thread_local std::mt19937_64 generator{std::random_device{}()};
    return generator();
}

}  // namespace

ShardingKey ShardingKey::parse(const topology::Table& table) {
    ShardingKey key;
    key.table_ = table.name;
    key.expression_ = table.sharding_key;
    auto refuse = [&](std::string_view why) -> Exception {
        return Exception(ErrorCode::InvalidConfig, "table {}: sharding_key '{}': {}. {}.", table.name,
                         table.sharding_key, why, kSupported);
    };
    if (table.sharding_key.empty()) {
        throw refuse("the table has no sharding key, so its regional Distributed tables refuse inserts");
    }

    Tokens tokens(table.sharding_key);
    auto name = tokens.name();
    if (!name) {
        throw refuse("it does not start with a function or column name");
    }
    if (!tokens.mark('(')) {
        // A bare column.
        if (!tokens.atEnd()) {
            throw refuse("only a function call or a single column can be evaluated");
        }
        Argument argument = argumentFor(table, *name, false);
        if (argument.kind != Kind::Integer) {
            throw refuse(
                fmt::format("column {} is of type {}; a Distributed table's selector needs an integer",
                            argument.column, argument.column_type));
        }
        key.form_ = Form::Column;
        key.arguments_.push_back(std::move(argument));
    } else if (*name == "rand" || *name == "rand64") {
        if (!tokens.mark(')') || !tokens.atEnd()) {
            throw refuse("rand() takes no arguments here");
        }
        key.form_ = Form::Random;
    } else if (*name == "cityHash64" || *name == "intHash64") {
        key.form_ = *name == "cityHash64" ? Form::CityHash64 : Form::IntHash64;
        do {
            auto column = tokens.name();
            if (!column) {
                throw refuse("each argument must be a column or toString(<column>)");
            }
            bool to_string = false;
            if (*column == "toString" && tokens.mark('(')) {
                column = tokens.name();
                if (!column || !tokens.mark(')')) {
                    throw refuse("toString() must hold exactly one column");
                }
                to_string = true;
            }
            key.arguments_.push_back(argumentFor(table, *column, to_string));
        } while (tokens.mark(','));
        if (!tokens.mark(')') || !tokens.atEnd()) {
            throw refuse(
                "the function's arguments must be columns separated by commas and nothing may follow");
        }
        if (key.form_ == Form::IntHash64) {
            const Argument& argument = key.arguments_.front();
            if (key.arguments_.size() != 1 || argument.to_string ||
                (argument.kind != Kind::Integer && argument.kind != Kind::Date)) {
                throw refuse("intHash64 takes one integer or Date column");
            }
        }
    } else {
        throw refuse(fmt::format("function {} is not supported", *name));
    }
    for (const auto& argument : key.arguments_) {
        key.columns_.push_back(argument.column);
    }
    return key;
}

ShardingKey::Argument ShardingKey::argumentFor(const topology::Table& table, const std::string& column,
                                               bool to_string) {
    const topology::Column* found = table.column(column);
    if (found == nullptr) {
        throw Exception(ErrorCode::InvalidConfig,
                        "table {}: sharding_key '{}' reads column {}, which the table does not have",
                        table.name, table.sharding_key, column);
    }
    Argument argument;
    argument.column = column;
    argument.column_type = found->type;
    argument.to_string = to_string;
    std::string type = withoutSpaces(found->type);
    if (type.starts_with("LowCardinality(") && type.ends_with(")")) {
        // Hash functions see a LowCardinality column's values as the plain column's.
        std::string inner = type.substr(15, type.size() - 16);
        if (inner == "String" || fixedStringSize(inner) > 0) {
            type = inner;
        }
    }
    auto [width, is_signed] = integerType(type);
    if (width > 0) {
        argument.kind = Kind::Integer;
        argument.width = width;
        argument.is_signed = is_signed;
    } else if (type == "String") {
        argument.kind = Kind::String;
    } else if (size_t size = fixedStringSize(type); size > 0 && !to_string) {
        argument.kind = Kind::FixedString;
        argument.fixed_size = size;
    } else if (type == "Date" && !to_string) {
        argument.kind = Kind::Date;
    } else if (type == "DateTime('UTC')" && !to_string) {
        argument.kind = Kind::DateTimeUtc;
    } else if (type == "UUID") {
        argument.kind = Kind::Uuid;
    } else {
        std::string why = "the type is not supported";
        if (to_string &&
            (type == "Date" || type.starts_with("DateTime") || type.starts_with("FixedString"))) {
            why =
                "toString() is supported for String, integer and UUID columns only (18.16 prints day 0 as "
                "0000-00-00, later versions as 1970-01-01); hash the column itself";
        } else if (type == "DateTime" || type.starts_with("DateTime(")) {
            why =
                "a DateTime's text names a different instant in each server time zone; declare the column "
                "DateTime('UTC') to make its key computable outside the server";
        } else if (type.starts_with("Nullable(")) {
            why = "a NULL key cannot place a row";
        }
        throw Exception(ErrorCode::InvalidConfig,
                        "table {}: sharding_key '{}' reads {}{}{} of type {}: {}. {}.", table.name,
                        table.sharding_key, to_string ? "toString(" : "", column, to_string ? ")" : "",
                        found->type, why, kSupported);
    }
    return argument;
}

uint64_t ShardingKey::evaluate(std::span<const std::string_view> values) const {
    if (values.size() != arguments_.size()) {
        throw Exception(ErrorCode::BadArguments,
                        "table {}: sharding key {} reads {} columns, {} values given", table_, expression_,
                        arguments_.size(), values.size());
    }
    switch (form_) {
        case Form::Random:
            return randomKey();
        case Form::Column: {
            const Argument& argument = arguments_.front();
            // The selector divides the value's bytes as an unsigned number of the same width.
            return ch::integerBits(static_cast<int64_t>(integerValue(argument, values[0])), argument.width);
        }
        case Form::IntHash64: {
            const Argument& argument = arguments_.front();
            if (argument.kind == Kind::Date) {
                auto days = parseDate(values[0]);
                if (!days) {
                    badValue(argument, values[0], "a date YYYY-MM-DD from 1970-01-01 to 2105-12-31");
                }
                return ch::intHash64(*days);
            }
            return ch::intHash64(integerValue(argument, values[0]));
        }
        case Form::CityHash64: {
            uint64_t hash = hashArgument(arguments_[0], values[0]);
            for (size_t i = 1; i < arguments_.size(); ++i) {
                hash = ch::cityHash64Combine(hash, hashArgument(arguments_[i], values[i]));
            }
            return hash;
        }
    }
    throw Exception(ErrorCode::Failed, "table {}: sharding key {} has an unknown form", table_, expression_);
}

uint64_t ShardingKey::integerValue(const Argument& argument, std::string_view text) const {
    if (argument.is_signed) {
        if (auto value = parseSigned(text, argument.width)) {
            return static_cast<uint64_t>(*value);
        }
    } else if (auto value = parseUnsigned(text, argument.width)) {
        return *value;
    }
    badValue(argument, text, "an integer within the column's type");
}

uint64_t ShardingKey::hashArgument(const Argument& argument, std::string_view text) const {
    switch (argument.kind) {
        case Kind::String:
            return ch::cityHash64(text);
        case Kind::FixedString: {
            if (text.size() == argument.fixed_size) {
                return ch::cityHash64(text);
            }
            if (text.size() > argument.fixed_size) {
                badValue(argument, text, "at most N bytes");
            }
            std::string& buffer = paddingBuffer();
            buffer.assign(text);
            buffer.resize(argument.fixed_size, '\0');
            return ch::cityHash64(buffer);
        }
        case Kind::Integer: {
            uint64_t value = integerValue(argument, text);
            if (argument.to_string) {
                char digits[24];
                auto end =
                    argument.is_signed
                        ? std::to_chars(digits, digits + sizeof(digits), static_cast<int64_t>(value)).ptr
                        : std::to_chars(digits, digits + sizeof(digits), value).ptr;
                return ch::cityHash64(std::string_view(digits, static_cast<size_t>(end - digits)));
            }
            return ch::cityHash64Integer(ch::integerBits(static_cast<int64_t>(value), argument.width));
        }
        case Kind::Date: {
            auto days = parseDate(text);
            if (!days) {
                badValue(argument, text, "a date YYYY-MM-DD from 1970-01-01 to 2105-12-31");
            }
            return ch::cityHash64Integer(*days);
        }
        case Kind::DateTimeUtc: {
            auto seconds = parseDateTimeUtc(text);
            if (!seconds) {
                badValue(argument, text,
                         "a time YYYY-MM-DD hh:mm:ss from 1970-01-01 00:00:00 to 2105-12-31 23:59:59");
            }
            return ch::cityHash64Integer(*seconds);
        }
        case Kind::Uuid: {
            uint64_t high = 0;
            uint64_t low = 0;
            if (!parseUuid(text, high, low)) {
                badValue(argument, text, "a UUID xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx");
            }
            if (argument.to_string) {
                char canonical[36];
                formatUuid(high, low, canonical);
                return ch::cityHash64(std::string_view(canonical, sizeof(canonical)));
            }
            return ch::cityHash64Uuid(high, low);
        }
    }
    throw Exception(ErrorCode::Failed, "table {}: sharding key {} has an argument of unknown kind", table_,
                    expression_);
}

void ShardingKey::badValue(const Argument& argument, std::string_view text, std::string_view expected) const {
    constexpr size_t kShown = 80;
    throw Exception(
        ErrorCode::BadArguments,
        "table {}: column {} ({}) holds '{}'{}, which is not {}: the row's shard (sharding key {}) "
        "cannot be computed; fix the value",
        table_, argument.column, argument.column_type, text.substr(0, kShown),
        text.size() > kShown ? "..." : "", expected, expression_);
}

int shardFor(uint64_t key, const topology::Region& region) {
    uint64_t total = 0;
    for (int shard = 1; shard <= region.shards; ++shard) {
        total += static_cast<uint64_t>(region.weight(shard));
    }
    if (total == 0) {
        throw Exception(
            ErrorCode::InvalidConfig,
            "region {} has no shard of positive weight: no row can be placed on it; give it shards "
            "and at least one weight above 0",
            region.name);
    }
    uint64_t slot = key % total;
    for (int shard = 1; shard <= region.shards; ++shard) {
        auto weight = static_cast<uint64_t>(region.weight(shard));
        if (slot < weight) {
            return shard;
        }
        slot -= weight;
    }
    return region.shards;  // not reached: slot < total
}

}  // namespace chfleet::ingest
