// ValueType::parse: a column type as system.columns prints it, read into a ValueType (its kind, Nullable,
// the parameters of FixedString, Decimal and Enum); every type ingest does not check is refused here.
#include <fmt/format.h>

#include <string>
#include <utility>

#include "clickhouse/Quoting.h"
#include "common/Exception.h"
#include "common/Text.h"
#include "ingest/format/ValueGrammar.h"
#include "ingest/format/ValueType.h"

namespace chfleet::ingest {

namespace {

using text::trim;
using value_grammar::readNumber;

constexpr std::string_view kSupportedTypes =
    "String, FixedString(N), UUID, Date, DateTime, DateTime('tz'), UInt8-UInt64, Int8-Int64, Float32, "
    "Float64, Decimal(P, S), Decimal32/64/128(S), Enum8, Enum16, each possibly Nullable or LowCardinality";

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

}  // namespace chfleet::ingest
