#include "erase/Subject.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "clickhouse/Quoting.h"
#include "common/Digest.h"
#include "common/Exception.h"
#include "common/Text.h"

namespace chfleet::erase {

using clickhouse::quoteIdentifier;
using clickhouse::quoteString;

namespace {

/// The type without Nullable(...) / LowCardinality(...) around it.
std::string_view baseType(std::string_view type) {
    for (std::string_view wrapper : {"Nullable(", "LowCardinality("}) {
        while (type.size() > wrapper.size() && type.substr(0, wrapper.size()) == wrapper &&
               type.back() == ')') {
            type = type.substr(wrapper.size(), type.size() - wrapper.size() - 1);
        }
    }
    return type;
}

bool isIntegerType(std::string_view type) {
    static const std::vector<std::string_view> kTypes = {"UInt8", "UInt16", "UInt32", "UInt64",
                                                         "Int8",  "Int16",  "Int32",  "Int64"};
    return std::find(kTypes.begin(), kTypes.end(), type) != kTypes.end();
}

bool isUuid(std::string_view id) {
    if (id.size() != 36) {
        return false;
    }
    for (size_t i = 0; i < id.size(); ++i) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? id[i] != '-' : text::hexDigitValue(id[i]) < 0) {
            return false;
        }
    }
    return true;
}

/// Whether `id` is a value of the integer type `type` (range checked with the type's bounds).
bool fitsInteger(std::string_view id, std::string_view type) {
    bool is_signed = type[0] == 'I';
    bool negative = is_signed && !id.empty() && id[0] == '-';
    std::string_view digits = negative ? id.substr(1) : id;
    if (digits.empty() || digits.size() > 20 ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return false;
    }
    int bits = std::stoi(std::string(type.substr(is_signed ? 3 : 4)));
    unsigned __int128 value = 0;
    for (char c : digits) {
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    unsigned __int128 limit = is_signed
                                  ? (static_cast<unsigned __int128>(1) << (bits - 1)) - (negative ? 0 : 1)
                                  : (static_cast<unsigned __int128>(1) << bits) - 1;
    return value <= limit;
}

}  // namespace

std::string idProblem(std::string_view id, std::string_view type) {
    if (id.empty()) {
        return "the company ID is empty";
    }
    if (id.size() > kMaxIdLength) {
        return fmt::format("the company ID is {} bytes long; at most {} are accepted", id.size(),
                           kMaxIdLength);
    }
    for (unsigned char c : id) {
        if (c < 0x20 || c == 0x7f) {
            return "the company ID holds a control character (NUL, newline, tab ...)";
        }
        if (c == '\'' || c == '"' || c == '`' || c == '\\') {
            return "the company ID holds a quote or a backslash, which no company ID of this fleet may hold";
        }
    }
    if (text::trim(id).size() != id.size()) {
        return "the company ID has spaces around it";
    }
    std::string_view base = baseType(type);
    if (base == "String") {
        return "";
    }
    if (base == "UUID") {
        return isUuid(id) ? "" : "the company ID is not a UUID (the region key's type)";
    }
    if (isIntegerType(base)) {
        return fitsInteger(id, base)
                   ? ""
                   : fmt::format("the company ID is not a {} (the region key's type)", base);
    }
    return fmt::format("erasure does not support region keys of type {} (String, UUID and integers are)",
                       type);
}

std::string canonicalId(std::string_view id, std::string_view type) {
    std::string_view base = baseType(type);
    if (base == "UUID") {
        return text::toLower(id);
    }
    if (isIntegerType(base)) {
        bool negative = !id.empty() && id[0] == '-';
        std::string_view digits = negative ? id.substr(1) : id;
        size_t first = std::min(digits.find_first_not_of('0'), digits.size() - 1);
        std::string canonical(digits.substr(first));
        return negative && canonical != "0" ? "-" + canonical : canonical;
    }
    return std::string(id);
}

std::string subjectOf(std::string_view salt, std::string_view canonical_id) {
    std::string material(salt);
    material.append(canonical_id);
    return sha256Hex(material);
}

std::vector<const topology::Table*> erasableTables(const topology::Fleet& fleet) {
    std::vector<const topology::Table*> tables;
    for (const auto& table : fleet.schema.tables) {
        if (!table.region_key.empty() && table.column(table.region_key) != nullptr) {
            tables.push_back(&table);
        }
    }
    return tables;
}

std::string regionKeyType(const topology::Fleet& fleet) {
    std::string type;
    std::string first;
    for (const auto* table : erasableTables(fleet)) {
        std::string this_type(baseType(table->column(table->region_key)->type));
        if (type.empty()) {
            type = this_type;
            first = table->name;
        } else if (this_type != type) {
            throw Exception(ErrorCode::InvalidConfig,
                            "the region keys of {} ({}) and {} ({}) have different types; erasure needs one "
                            "company ID type across the schema",
                            first, type, table->name, this_type);
        }
    }
    if (type.empty()) {
        throw Exception(ErrorCode::InvalidConfig,
                        "no table of the schema has a region_key: there is nothing to erase a company from");
    }
    return type;
}

std::string idCondition(const topology::Table& table, std::string_view id) {
    std::string key = quoteIdentifier(table.region_key);
    std::string_view base = baseType(table.column(table.region_key)->type);
    if (base == "UUID") {
        return key + " = toUUID(" + quoteString(text::toLower(id)) + ")";
    }
    if (isIntegerType(base)) {
        return key + " = to" + std::string(base) + "(" + quoteString(id) + ")";
    }
    return key + " = " + quoteString(id);
}

std::string subjectCondition(const topology::Table& table, std::string_view salt,
                             const std::vector<std::string>& subjects) {
    if (subjects.empty()) {
        return "";
    }
    std::string list;
    for (const auto& subject : subjects) {
        list += (list.empty() ? "" : ", ") + quoteString(subject);
    }
    return "lower(hex(SHA256(concat(" + quoteString(salt) + ", toString(" +
           quoteIdentifier(table.region_key) + "))))) IN (" + list + ")";
}

std::string shortSubject(std::string_view subject) {
    return std::string(subject.substr(0, 12));
}

}  // namespace chfleet::erase
