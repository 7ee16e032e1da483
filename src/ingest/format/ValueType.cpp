// ValueType's grammar of values: check() and the integers, floats, decimals, strings, UUIDs and enums it
// checks and writes canonically, and what a type's zero and default are. Dates and times are in
// DateTimeValues.cpp; the parser of type names (ValueType::parse) is in TypeParser.cpp.
#include "ingest/format/ValueType.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "clickhouse/Quoting.h"
#include "common/Text.h"
#include "ingest/format/ValueGrammar.h"

namespace chfleet::ingest {

namespace {

using value_grammar::allDigits, value_grammar::emit, value_grammar::isDigit, value_grammar::parseUnsigned;

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

}  // namespace

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
