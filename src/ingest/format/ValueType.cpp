#include "ingest/format/ValueType.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <limits>

#include "clickhouse/Quoting.h"
#include "common/Exception.h"
#include "common/Text.h"

namespace chfleet::ingest {

namespace {

using text::trim;

constexpr std::string_view kSupportedTypes =
    "String, FixedString(N), UUID, Date, DateTime, DateTime('tz'), UInt8-UInt64, Int8-Int64, Float32, "
    "Float64, Decimal(P, S), Decimal32/64/128(S), Enum8, Enum16, each possibly Nullable or LowCardinality";

/// 1970-01-01 .. 2149-06-06 (the Date range) and the last day a DateTime reaches (2106-02-07).
constexpr int64_t kMaxDateDay = 65535;
constexpr int64_t kMaxDatetimeDay = 49710;
constexpr uint64_t kMaxDatetime = 4294967295ULL;

bool isDigit(char c) {
    return c >= '0' && c <= '9';
}

bool allDigits(std::string_view text) {
    return std::all_of(text.begin(), text.end(), isDigit);
}

/// Days from 1970-01-01 to a proleptic Gregorian date (the usual era-based civil calendar arithmetic).
int64_t daysFromCivil(int64_t year, unsigned month, unsigned day) {
    year -= month <= 2 ? 1 : 0;
    const int64_t era = (year >= 0 ? year : year - 399) / 400;
    const auto year_of_era = static_cast<unsigned>(year - era * 400);
    const unsigned day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
    const unsigned day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + static_cast<int64_t>(day_of_era) - 719468;
}

struct CivilDate {
    int64_t year;
    unsigned month;
    unsigned day;
};

CivilDate civilFromDays(int64_t days) {
    days += 719468;
    const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    const auto day_of_era = static_cast<unsigned>(days - era * 146097);
    const unsigned year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
    const unsigned day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    const unsigned mp = (5 * day_of_year + 2) / 153;
    const unsigned day = day_of_year - (153 * mp + 2) / 5 + 1;
    const unsigned month = mp < 10 ? mp + 3 : mp - 9;
    return {static_cast<int64_t>(year_of_era) + era * 400 + (month <= 2 ? 1 : 0), month, day};
}

unsigned daysInMonth(int64_t year, unsigned month) {
    static constexpr std::array<unsigned, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : kDays[month - 1];
}

/// Reads 1..max_digits digits at `pos`; false when there is none.
bool readNumber(std::string_view text, size_t& pos, size_t max_digits, unsigned& value) {
    size_t start = pos;
    value = 0;
    while (pos < text.size() && isDigit(text[pos]) && pos - start < max_digits) {
        value = value * 10 + static_cast<unsigned>(text[pos] - '0');
        ++pos;
    }
    return pos > start;
}

/// A calendar date at the start of `text`: YYYY-M-D with '-' or '/' (one or two digits for month and day).
/// Sets `days` (from 1970-01-01, unchecked range) and advances `pos`; false when it is not a real date.
bool readDate(std::string_view text, size_t& pos, int64_t& days) {
    unsigned year = 0;
    unsigned month = 0;
    unsigned day = 0;
    size_t start = pos;
    if (!readNumber(text, pos, 4, year) || pos - start != 4) {
        return false;
    }
    if (pos >= text.size() || (text[pos] != '-' && text[pos] != '/')) {
        return false;
    }
    ++pos;
    if (!readNumber(text, pos, 2, month)) {
        return false;
    }
    if (pos >= text.size() || (text[pos] != '-' && text[pos] != '/')) {
        return false;
    }
    ++pos;
    if (!readNumber(text, pos, 2, day)) {
        return false;
    }
    if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
        return false;
    }
    days = daysFromCivil(year, month, day);
    return true;
}

void appendPadded(std::string& out, uint64_t value, size_t width) {
    char digits[20];
    size_t count = 0;
    do {
        digits[count++] = static_cast<char>('0' + value % 10);
        value /= 10;
    } while (value > 0);
    for (size_t i = count; i < width; ++i) {
        out += '0';
    }
    while (count > 0) {
        out += digits[--count];
    }
}

void appendDate(std::string& out, int64_t days) {
    CivilDate date = civilFromDays(days);
    appendPadded(out, static_cast<uint64_t>(date.year), 4);
    out += '-';
    appendPadded(out, date.month, 2);
    out += '-';
    appendPadded(out, date.day, 2);
}

/// The number written by the two digits at `text[pos]` (both known to be digits).
unsigned twoDigits(std::string_view text, size_t pos) {
    return static_cast<unsigned>((text[pos] - '0') * 10 + (text[pos + 1] - '0'));
}

/// True for text of the shape `pattern`, where '9' stands for any digit and other bytes for themselves.
bool hasShape(std::string_view text, std::string_view pattern) {
    if (text.size() != pattern.size()) {
        return false;
    }
    for (size_t i = 0; i < text.size(); ++i) {
        if (pattern[i] == '9' ? !isDigit(text[i]) : text[i] != pattern[i]) {
            return false;
        }
    }
    return true;
}

/// Days from 1970-01-01 of a canonical YYYY-MM-DD at the start of `text`, or -1 when it is no real date.
int64_t canonicalDateDays(std::string_view text) {
    auto year = static_cast<int64_t>(twoDigits(text, 0) * 100 + twoDigits(text, 2));
    unsigned month = twoDigits(text, 5);
    unsigned day = twoDigits(text, 8);
    if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
        return -1;
    }
    return daysFromCivil(year, month, day);
}

/// Appends `text` to `out` unless it is already `canonical`'s spelling.
ValueType::Verdict emit(std::string_view text, std::string_view canonical, std::string& out) {
    if (text == canonical) {
        return ValueType::Verdict::Valid;
    }
    out.append(canonical);
    return ValueType::Verdict::Rewritten;
}

/// Reads a single-quoted literal of a type's arguments ('name', 'Europe/Berlin'), backslash escapes and
/// doubled quotes undone, and advances `pos` past it.
bool readQuoted(std::string_view text, size_t& pos, std::string& value) {
    if (pos >= text.size() || text[pos] != '\'') {
        return false;
    }
    value.clear();
    for (++pos; pos < text.size(); ++pos) {
        char c = text[pos];
        if (c == '\'') {
            if (pos + 1 < text.size() && text[pos + 1] == '\'') {
                value += '\'';
                ++pos;
                continue;
            }
            ++pos;
            return true;
        }
        if (c == '\\') {
            size_t length = pos + 1 < text.size() && text[pos + 1] == 'x' ? 4 : 2;
            if (pos + length > text.size()) {
                return false;
            }
            value += clickhouse::unescapeTsvField(text.substr(pos, length));
            pos += length - 1;
            continue;
        }
        value += c;
    }
    return false;
}

void skipSpaces(std::string_view text, size_t& pos) {
    while (pos < text.size() && text[pos] == ' ') {
        ++pos;
    }
}

bool readSignedInt(std::string_view text, size_t& pos, int& value) {
    bool negative = pos < text.size() && text[pos] == '-';
    if (negative) {
        ++pos;
    }
    unsigned magnitude = 0;
    if (!readNumber(text, pos, 6, magnitude)) {
        return false;
    }
    value = negative ? -static_cast<int>(magnitude) : static_cast<int>(magnitude);
    return true;
}

uint32_t parseSmallNumber(std::string_view text, std::string_view type) {
    text = trim(text);
    unsigned value = 0;
    size_t pos = 0;
    if (!readNumber(text, pos, 5, value) || pos != text.size()) {
        throw Exception(ErrorCode::BadArguments, "type {} has a bad argument '{}'", type, text);
    }
    return value;
}

struct IntegerRange {
    bool is_signed;
    uint64_t max_positive;
    uint64_t max_negative;  ///< magnitude of the minimum
};

IntegerRange integerRange(TypeKind kind) {
    switch (kind) {
        case TypeKind::UInt8:
            return {false, 255, 0};
        case TypeKind::UInt16:
            return {false, 65535, 0};
        case TypeKind::UInt32:
            return {false, 4294967295ULL, 0};
        case TypeKind::UInt64:
            return {false, std::numeric_limits<uint64_t>::max(), 0};
        case TypeKind::Int8:
            return {true, 127, 128};
        case TypeKind::Int16:
            return {true, 32767, 32768};
        case TypeKind::Int32:
            return {true, 2147483647ULL, 2147483648ULL};
        default:
            return {true, 9223372036854775807ULL, 9223372036854775808ULL};
    }
}

/// Parses an unsigned decimal of at most 20 digits; false on overflow.
bool parseUnsigned(std::string_view digits, uint64_t& value) {
    value = 0;
    for (char c : digits) {
        auto digit = static_cast<uint64_t>(c - '0');
        if (value > (std::numeric_limits<uint64_t>::max() - digit) / 10) {
            return false;
        }
        value = value * 10 + digit;
    }
    return true;
}

}  // namespace

ValueType ValueType::parse(std::string_view type) {
    ValueType result;
    result.name_ = std::string(trim(type));
    std::string_view rest = trim(type);
    auto unsupported = [&]() {
        return Exception(ErrorCode::BadArguments, "type {} is not supported by ingest (supported: {})",
                         result.name_, kSupportedTypes);
    };
    auto unwrap = [&](std::string_view wrapper) {
        if (rest.size() > wrapper.size() + 2 && rest.substr(0, wrapper.size()) == wrapper &&
            rest[wrapper.size()] == '(' && rest.back() == ')') {
            rest = trim(rest.substr(wrapper.size() + 1, rest.size() - wrapper.size() - 2));
            return true;
        }
        return false;
    };
    while (true) {
        if (unwrap("LowCardinality")) {
            continue;
        }
        if (unwrap("Nullable")) {
            result.nullable_ = true;
            continue;
        }
        break;
    }
    std::string_view base = rest;
    std::string_view arguments;
    bool has_arguments = false;
    if (auto open = rest.find('('); open != std::string_view::npos) {
        if (rest.back() != ')') {
            throw unsupported();
        }
        base = trim(rest.substr(0, open));
        arguments = trim(rest.substr(open + 1, rest.size() - open - 2));
        has_arguments = true;
    }

    static constexpr std::pair<std::string_view, TypeKind> kSimple[] = {
        {"String", TypeKind::String},   {"UUID", TypeKind::UUID},     {"Date", TypeKind::Date},
        {"UInt8", TypeKind::UInt8},     {"UInt16", TypeKind::UInt16}, {"UInt32", TypeKind::UInt32},
        {"UInt64", TypeKind::UInt64},   {"Int8", TypeKind::Int8},     {"Int16", TypeKind::Int16},
        {"Int32", TypeKind::Int32},     {"Int64", TypeKind::Int64},   {"Float32", TypeKind::Float32},
        {"Float64", TypeKind::Float64},
    };
    for (const auto& [type_name, kind] : kSimple) {
        if (base == type_name) {
            if (has_arguments) {
                throw unsupported();
            }
            result.kind_ = kind;
            return result;
        }
    }
    if (base == "DateTime") {
        result.kind_ = TypeKind::DateTime;
        if (has_arguments) {
            size_t pos = 0;
            std::string time_zone;
            if (!readQuoted(arguments, pos, time_zone) || pos != arguments.size()) {
                throw unsupported();
            }
        }
        return result;
    }
    if (base == "FixedString" && has_arguments) {
        result.kind_ = TypeKind::FixedString;
        result.fixed_size_ = parseSmallNumber(arguments, result.name_);
        if (result.fixed_size_ == 0) {
            throw unsupported();
        }
        return result;
    }
    if (base == "Decimal" && has_arguments) {
        result.kind_ = TypeKind::Decimal;
        auto comma = arguments.find(',');
        result.precision_ = parseSmallNumber(arguments.substr(0, comma), result.name_);
        result.scale_ =
            comma == std::string_view::npos ? 0 : parseSmallNumber(arguments.substr(comma + 1), result.name_);
        if (result.precision_ < 1 || result.precision_ > 38 || result.scale_ > result.precision_) {
            throw unsupported();
        }
        return result;
    }
    static constexpr std::pair<std::string_view, uint32_t> kSizedDecimals[] = {
        {"Decimal32", 9}, {"Decimal64", 18}, {"Decimal128", 38}};
    for (const auto& [type_name, precision] : kSizedDecimals) {
        if (base == type_name && has_arguments) {
            result.kind_ = TypeKind::Decimal;
            result.precision_ = precision;
            result.scale_ = parseSmallNumber(arguments, result.name_);
            if (result.scale_ > precision) {
                throw unsupported();
            }
            return result;
        }
    }
    if ((base == "Enum8" || base == "Enum16") && has_arguments) {
        result.kind_ = base == "Enum8" ? TypeKind::Enum8 : TypeKind::Enum16;
        int limit = result.kind_ == TypeKind::Enum8 ? 128 : 32768;
        size_t pos = 0;
        std::string element;
        while (pos < arguments.size()) {
            skipSpaces(arguments, pos);
            int value = 0;
            if (!readQuoted(arguments, pos, element)) {
                throw unsupported();
            }
            skipSpaces(arguments, pos);
            if (pos >= arguments.size() || arguments[pos] != '=') {
                throw unsupported();
            }
            ++pos;
            skipSpaces(arguments, pos);
            if (!readSignedInt(arguments, pos, value) || value < -limit || value >= limit) {
                throw unsupported();
            }
            result.enum_elements_.emplace_back(element, value);
            skipSpaces(arguments, pos);
            if (pos < arguments.size()) {
                if (arguments[pos] != ',') {
                    throw unsupported();
                }
                ++pos;
            }
        }
        if (result.enum_elements_.empty()) {
            throw unsupported();
        }
        return result;
    }
    throw unsupported();
}

bool ValueType::isText() const {
    return kind_ == TypeKind::String || kind_ == TypeKind::FixedString || kind_ == TypeKind::Enum8 ||
           kind_ == TypeKind::Enum16;
}

bool ValueType::isInteger() const {
    switch (kind_) {
        case TypeKind::UInt8:
        case TypeKind::UInt16:
        case TypeKind::UInt32:
        case TypeKind::UInt64:
        case TypeKind::Int8:
        case TypeKind::Int16:
        case TypeKind::Int32:
        case TypeKind::Int64:
            return true;
        default:
            return false;
    }
}

ValueType::Verdict ValueType::check(std::string_view text, std::string& out, std::string& problem) const {
    switch (kind_) {
        case TypeKind::String:
            return Verdict::Valid;
        case TypeKind::FixedString:
            if (text.size() > fixed_size_) {
                problem = fmt::format("expected at most {} bytes, got {}", fixed_size_, text.size());
                return Verdict::Invalid;
            }
            return Verdict::Valid;
        case TypeKind::UUID:
            return checkUuid(text, out, problem);
        case TypeKind::Date:
            return checkDate(text, out, problem);
        case TypeKind::DateTime:
            return checkDateTime(text, out, problem);
        case TypeKind::Float32:
        case TypeKind::Float64:
            return checkFloat(text, out, problem);
        case TypeKind::Decimal:
            return checkDecimal(text, out, problem);
        case TypeKind::Enum8:
        case TypeKind::Enum16:
            return checkEnum(text, out, problem);
        default:
            return checkInteger(text, out, problem);
    }
}

ValueType::Verdict ValueType::checkInteger(std::string_view text, std::string& out,
                                           std::string& problem) const {
    IntegerRange range = integerRange(kind_);
    if (text.empty()) {
        out += '0';
        return Verdict::Rewritten;
    }
    bool negative = text[0] == '-';
    std::string_view digits = negative ? text.substr(1) : text;
    uint64_t magnitude = 0;
    bool valid = (!negative || range.is_signed) && !digits.empty() && digits.size() <= 20 &&
                 allDigits(digits) && (digits.size() == 1 || digits[0] != '0') &&
                 parseUnsigned(digits, magnitude) &&
                 magnitude <= (negative ? range.max_negative : range.max_positive);
    if (!valid) {
        if (range.is_signed) {
            problem =
                fmt::format("expected an integer from -{} to {}", range.max_negative, range.max_positive);
        } else {
            problem = fmt::format("expected an integer from 0 to {}", range.max_positive);
        }
        return Verdict::Invalid;
    }
    if (negative && magnitude == 0) {
        out += '0';
        return Verdict::Rewritten;
    }
    return Verdict::Valid;
}

ValueType::Verdict ValueType::checkFloat(std::string_view text, std::string& out,
                                         std::string& problem) const {
    if (text.empty()) {
        out += '0';
        return Verdict::Rewritten;
    }
    size_t pos = 0;
    bool negative = false;
    if (text[0] == '+' || text[0] == '-') {
        negative = text[0] == '-';
        ++pos;
    }
    std::string_view body = text.substr(pos);
    if (text::equalsIgnoreCase(body, "inf") || text::equalsIgnoreCase(body, "infinity")) {
        return emit(text, negative ? "-inf" : "inf", out);
    }
    if (text::equalsIgnoreCase(body, "nan")) {
        return emit(text, "nan", out);
    }
    size_t int_start = pos;
    while (pos < text.size() && isDigit(text[pos])) {
        ++pos;
    }
    std::string_view int_part = text.substr(int_start, pos - int_start);
    std::string_view frac_part;
    bool has_point = pos < text.size() && text[pos] == '.';
    if (has_point) {
        size_t frac_start = ++pos;
        while (pos < text.size() && isDigit(text[pos])) {
            ++pos;
        }
        frac_part = text.substr(frac_start, pos - frac_start);
    }
    std::string_view exponent;
    if (pos < text.size() && (text[pos] == 'e' || text[pos] == 'E')) {
        size_t exponent_start = pos++;
        if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
            ++pos;
        }
        size_t digits_start = pos;
        while (pos < text.size() && isDigit(text[pos])) {
            ++pos;
        }
        if (pos == digits_start) {
            pos = std::string_view::npos;  // an exponent without digits
        } else {
            exponent = text.substr(exponent_start, pos - exponent_start);
        }
    }
    if (pos != text.size() || (int_part.empty() && frac_part.empty())) {
        problem = "expected a floating-point number (like -1.5, 2.5e-3, inf or nan)";
        return Verdict::Invalid;
    }
    bool canonical = text[0] != '+' && !int_part.empty() && (!has_point || !frac_part.empty());
    if (canonical) {
        return Verdict::Valid;
    }
    if (negative) {
        out += '-';
    }
    out.append(int_part.empty() ? "0" : int_part);
    if (!frac_part.empty()) {
        out += '.';
        out.append(frac_part);
    }
    out.append(exponent);
    return Verdict::Rewritten;
}

/* Decimal(P, S): the digits are placed by the decimal point and the exponent, the integer part (without
 * leading zeros) may have at most P - S digits and fractional digits after the S-th are cut off, as
 * ClickHouse does when it reads text. The canonical form has no exponent, no leading zeros, no trailing
 * fractional zeros and no sign on zero, so any server reads it exactly. */
ValueType::Verdict ValueType::checkDecimal(std::string_view text, std::string& out,
                                           std::string& problem) const {
    if (text.empty()) {
        out += '0';
        return Verdict::Rewritten;
    }
    if (isCanonicalDecimal(text)) {
        return Verdict::Valid;
    }
    auto invalid = [&](std::string message) {
        problem = std::move(message);
        return Verdict::Invalid;
    };
    const std::string syntax =
        fmt::format("expected a decimal number with at most {} digits before the point and {} after it",
                    precision_ - scale_, scale_);
    size_t pos = 0;
    bool negative = false;
    if (text[0] == '+' || text[0] == '-') {
        negative = text[0] == '-';
        ++pos;
    }
    std::string digits;
    size_t int_start = pos;
    while (pos < text.size() && isDigit(text[pos])) {
        ++pos;
    }
    auto int_length = static_cast<int64_t>(pos - int_start);
    digits.append(text.substr(int_start, pos - int_start));
    if (pos < text.size() && text[pos] == '.') {
        size_t frac_start = ++pos;
        while (pos < text.size() && isDigit(text[pos])) {
            ++pos;
        }
        digits.append(text.substr(frac_start, pos - frac_start));
    }
    int64_t exponent = 0;
    if (pos < text.size() && (text[pos] == 'e' || text[pos] == 'E') && !digits.empty()) {
        ++pos;
        bool exponent_negative = false;
        if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
            exponent_negative = text[pos] == '-';
            ++pos;
        }
        size_t exponent_start = pos;
        while (pos < text.size() && isDigit(text[pos])) {
            exponent = std::min<int64_t>(exponent * 10 + (text[pos] - '0'), 100000);
            ++pos;
        }
        if (pos == exponent_start) {
            return invalid(syntax);
        }
        exponent = exponent_negative ? -exponent : exponent;
    }
    if (pos != text.size() || digits.empty()) {
        return invalid(syntax);
    }
    const auto length = static_cast<int64_t>(digits.size());
    const int64_t point = int_length + exponent;  // digits before the decimal point
    int64_t first_nonzero = 0;
    while (first_nonzero < length && digits[first_nonzero] == '0') {
        ++first_nonzero;
    }
    int64_t integer_digits = first_nonzero < point ? point - first_nonzero : 0;
    if (first_nonzero == length) {
        integer_digits = 0;
    }
    if (integer_digits > static_cast<int64_t>(precision_ - scale_)) {
        return invalid(fmt::format("expected at most {} digits before the decimal point for {}",
                                   precision_ - scale_, name_));
    }
    std::string canonical;
    for (int64_t k = point - integer_digits; k < point; ++k) {
        canonical += k < length ? digits[k] : '0';
    }
    if (canonical.empty()) {
        canonical = "0";
    }
    std::string fraction;
    for (int64_t k = point; k < point + static_cast<int64_t>(scale_); ++k) {
        fraction += k >= 0 && k < length ? digits[k] : '0';
    }
    while (!fraction.empty() && fraction.back() == '0') {
        fraction.pop_back();
    }
    if (!fraction.empty()) {
        canonical += '.';
        canonical += fraction;
    }
    if (negative && (integer_digits > 0 || !fraction.empty())) {
        canonical.insert(canonical.begin(), '-');
    }
    return emit(text, canonical, out);
}

bool ValueType::isCanonicalDecimal(std::string_view text) const {
    size_t pos = text[0] == '-' ? 1 : 0;
    size_t int_start = pos;
    while (pos < text.size() && isDigit(text[pos])) {
        ++pos;
    }
    size_t int_digits = pos - int_start;
    if (int_digits == 0 || (int_digits > 1 && text[int_start] == '0') || int_digits > precision_ - scale_) {
        return false;
    }
    if (pos == text.size()) {
        return text != "-0";
    }
    if (text[pos] != '.') {
        return false;
    }
    size_t frac_start = ++pos;
    while (pos < text.size() && isDigit(text[pos])) {
        ++pos;
    }
    size_t frac_digits = pos - frac_start;
    return pos == text.size() && frac_digits > 0 && frac_digits <= scale_ && text.back() != '0';
}

ValueType::Verdict ValueType::checkDate(std::string_view text, std::string& out, std::string& problem) const {
    if (hasShape(text, "9999-99-99")) {
        int64_t days = canonicalDateDays(text);
        if (days >= 0 && days <= kMaxDateDay) {
            return Verdict::Valid;
        }
    }
    if (text == "0000-00-00") {
        out += "1970-01-01";
        return Verdict::Rewritten;
    }
    int64_t days = -1;
    size_t pos = 0;
    bool parsed = false;
    if (text.size() == 8 && allDigits(text)) {
        unsigned year = 0;
        unsigned month = 0;
        unsigned day = 0;
        size_t digit = 0;
        readNumber(text, digit, 4, year);
        readNumber(text, digit, 2, month);
        readNumber(text, digit, 2, day);
        if (month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month)) {
            days = daysFromCivil(year, month, day);
            parsed = true;
        }
    } else {
        parsed = readDate(text, pos, days) && pos == text.size();
    }
    if (!parsed || days < 0 || days > kMaxDateDay) {
        problem = "expected a date YYYY-MM-DD from 1970-01-01 to 2149-06-06";
        return Verdict::Invalid;
    }
    std::string canonical;
    appendDate(canonical, days);
    return emit(text, canonical, out);
}

bool ValueType::checkDayNumber(std::string_view digits, std::string& out, std::string& problem) const {
    uint64_t days = 0;
    if (digits.empty() || digits.size() > 5 || !allDigits(digits) || !parseUnsigned(digits, days) ||
        days > static_cast<uint64_t>(kMaxDateDay)) {
        problem = "expected a date YYYY-MM-DD from 1970-01-01 to 2149-06-06 or a day number up to 65535";
        return false;
    }
    appendDate(out, static_cast<int64_t>(days));
    return true;
}

/* DateTime: a local date and time stays local text (the server applies the column's or its own time zone,
 * exactly as if the client had inserted directly); a value that names its offset, or a unix timestamp, is an
 * absolute instant and is written as a 10-digit timestamp, which every server reads alike whatever its
 * date_time_input_format (basic wants exactly 10 digits, best_effort 9 or 10, 18.16 any). */
ValueType::Verdict ValueType::checkDateTime(std::string_view text, std::string& out,
                                            std::string& problem) const {
    auto invalid = [&]() {
        problem =
            "expected YYYY-MM-DD hh:mm:ss or a unix timestamp, from 1970-01-01 00:00:00 to 2106-02-07 "
            "06:28:15";
        return Verdict::Invalid;
    };
    if (hasShape(text, "9999-99-99 99:99:99")) {
        int64_t days = canonicalDateDays(text);
        if (days >= 0 && days <= kMaxDatetimeDay && twoDigits(text, 11) <= 23 && twoDigits(text, 14) <= 59 &&
            twoDigits(text, 17) <= 59) {
            return Verdict::Valid;
        }
    }
    if (text == "0000-00-00 00:00:00" || text == "0000-00-00") {
        out += "0000000000";
        return Verdict::Rewritten;
    }
    if (!text.empty() && allDigits(text)) {
        uint64_t timestamp = 0;
        if (text.size() < 9 || text.size() > 10 || !parseUnsigned(text, timestamp) ||
            timestamp > kMaxDatetime) {
            return invalid();
        }
        if (text.size() == 10) {
            return Verdict::Valid;
        }
        appendPadded(out, timestamp, 10);
        return Verdict::Rewritten;
    }
    size_t pos = 0;
    int64_t days = 0;
    if (!readDate(text, pos, days)) {
        return invalid();
    }
    unsigned hour = 0;
    unsigned minute = 0;
    unsigned second = 0;
    bool has_offset = false;
    int64_t offset_seconds = 0;
    if (pos < text.size()) {
        if (text[pos] != ' ' && text[pos] != 'T') {
            return invalid();
        }
        ++pos;
        if (!readNumber(text, pos, 2, hour) || pos >= text.size() || text[pos] != ':') {
            return invalid();
        }
        ++pos;
        if (!readNumber(text, pos, 2, minute)) {
            return invalid();
        }
        if (pos < text.size() && text[pos] == ':') {
            ++pos;
            if (!readNumber(text, pos, 2, second)) {
                return invalid();
            }
        }
        if (pos < text.size() && text[pos] == '.') {
            size_t fraction_start = ++pos;
            while (pos < text.size() && isDigit(text[pos])) {
                ++pos;
            }
            if (pos == fraction_start) {
                return invalid();
            }
        }
        if (pos < text.size() && text[pos] == ' ') {
            ++pos;
            if (pos == text.size()) {
                return invalid();
            }
        }
        if (pos < text.size()) {
            has_offset = true;
            if (text[pos] == 'Z') {
                ++pos;
            } else if (text[pos] == '+' || text[pos] == '-') {
                bool negative = text[pos] == '-';
                ++pos;
                size_t hours_start = pos;
                unsigned offset_hours = 0;
                unsigned offset_minutes = 0;
                if (!readNumber(text, pos, 2, offset_hours) || pos - hours_start != 2) {
                    return invalid();
                }
                if (pos < text.size()) {
                    if (text[pos] == ':') {
                        ++pos;
                    }
                    size_t minutes_start = pos;
                    if (!readNumber(text, pos, 2, offset_minutes) || pos - minutes_start != 2) {
                        return invalid();
                    }
                }
                if (offset_hours > 14 || offset_minutes > 59) {
                    return invalid();
                }
                offset_seconds = static_cast<int64_t>(offset_hours) * 3600 + offset_minutes * 60;
                if (negative) {
                    offset_seconds = -offset_seconds;
                }
            }
            if (pos != text.size()) {
                return invalid();
            }
        }
    }
    if (hour > 23 || minute > 59 || second > 59) {
        return invalid();
    }
    if (has_offset) {
        int64_t timestamp = days * 86400 + hour * 3600 + minute * 60 + second - offset_seconds;
        if (timestamp < 0 || static_cast<uint64_t>(timestamp) > kMaxDatetime) {
            return invalid();
        }
        appendPadded(out, static_cast<uint64_t>(timestamp), 10);
        return Verdict::Rewritten;
    }
    if (days < 0 || days > kMaxDatetimeDay) {
        return invalid();
    }
    std::string canonical;
    appendDate(canonical, days);
    canonical += ' ';
    appendPadded(canonical, hour, 2);
    canonical += ':';
    appendPadded(canonical, minute, 2);
    canonical += ':';
    appendPadded(canonical, second, 2);
    return emit(text, canonical, out);
}

ValueType::Verdict ValueType::checkUuid(std::string_view text, std::string& out, std::string& problem) const {
    bool dashed = text.size() == 36;
    bool valid = dashed || text.size() == 32;
    bool lower_case = true;
    for (size_t i = 0; valid && i < text.size(); ++i) {
        char c = text[i];
        if (dashed && (i == 8 || i == 13 || i == 18 || i == 23)) {
            valid = c == '-';
        } else {
            valid = text::hexDigitValue(c) >= 0;
            lower_case = lower_case && !(c >= 'A' && c <= 'F');
        }
    }
    if (!valid) {
        problem = "expected a UUID (8-4-4-4-12 hexadecimal digits)";
        return Verdict::Invalid;
    }
    if (dashed && lower_case) {
        return Verdict::Valid;
    }
    size_t digits = 0;
    for (char c : text) {
        if (c != '-') {
            if (digits == 8 || digits == 12 || digits == 16 || digits == 20) {
                out += '-';
            }
            out += text::toLower(c);
            ++digits;
        }
    }
    return Verdict::Rewritten;
}

ValueType::Verdict ValueType::checkEnum(std::string_view text, std::string& out, std::string& problem) const {
    for (const auto& [element, value] : enum_elements_) {
        if (element == text) {
            return Verdict::Valid;
        }
    }
    bool negative = !text.empty() && text[0] == '-';
    std::string_view digits = negative ? text.substr(1) : text;
    uint64_t magnitude = 0;
    if (!digits.empty() && digits.size() <= 5 && allDigits(digits) &&
        (digits.size() == 1 || digits[0] != '0') && parseUnsigned(digits, magnitude)) {
        int number = negative ? -static_cast<int>(magnitude) : static_cast<int>(magnitude);
        for (const auto& [element, value] : enum_elements_) {
            if (value == number) {
                out += element;
                return Verdict::Rewritten;
            }
        }
    }
    std::string names;
    size_t shown = std::min<size_t>(enum_elements_.size(), 10);
    for (size_t i = 0; i < shown; ++i) {
        names += (i == 0 ? "" : ", ") + clickhouse::quoteString(enum_elements_[i].first);
    }
    if (shown < enum_elements_.size()) {
        names += fmt::format(" (and {} more)", enum_elements_.size() - shown);
    }
    problem = fmt::format("expected one of {} or its number", names);
    return Verdict::Invalid;
}

bool ValueType::hasZero() const {
    if (kind_ != TypeKind::Enum8 && kind_ != TypeKind::Enum16) {
        return true;
    }
    return std::any_of(enum_elements_.begin(), enum_elements_.end(),
                       [](const auto& element) { return element.second == 0; });
}

std::string ValueType::problemOfZero() const {
    std::string out;
    std::string problem;
    check("0", out, problem);
    return problem;
}

std::string ValueType::defaultText() const {
    switch (kind_) {
        case TypeKind::String:
        case TypeKind::FixedString:
            return "";
        case TypeKind::UUID:
            return "00000000-0000-0000-0000-000000000000";
        case TypeKind::Date:
            return "1970-01-01";
        case TypeKind::DateTime:
            return "0000000000";
        case TypeKind::Enum8:
        case TypeKind::Enum16:
            return std::min_element(enum_elements_.begin(), enum_elements_.end(),
                                    [](const auto& a, const auto& b) { return a.second < b.second; })
                ->first;
        default:
            return "0";
    }
}

}  // namespace chfleet::ingest
