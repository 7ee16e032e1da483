#include "ingest/format/RowFormat.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>

#include "clickhouse/Quoting.h"
#include "ingest/format/ValueType.h"

namespace chfleet::ingest {

namespace {

struct FormatAlias {
    std::string_view name;
    InputFormat format;
};

/// Canonical names first; then the aliases ClickHouse 26.5 lists in system.formats for the same readers.
constexpr std::array<FormatAlias, 14> kFormatNames = {{
    {"JSONEachRow", InputFormat::JSONEachRow},
    {"TabSeparated", InputFormat::TabSeparated},
    {"TabSeparatedRaw", InputFormat::TabSeparatedRaw},
    {"TabSeparatedWithNames", InputFormat::TabSeparatedWithNames},
    {"TabSeparatedRawWithNames", InputFormat::TabSeparatedRawWithNames},
    {"CSV", InputFormat::CSV},
    {"CSVWithNames", InputFormat::CSVWithNames},
    {"JSONLines", InputFormat::JSONEachRow},
    {"NDJSON", InputFormat::JSONEachRow},
    {"JSONL", InputFormat::JSONEachRow},
    {"TSV", InputFormat::TabSeparated},
    {"TSVRaw", InputFormat::TabSeparatedRaw},
    {"TSVWithNames", InputFormat::TabSeparatedWithNames},
    {"TSVRawWithNames", InputFormat::TabSeparatedRawWithNames},
}};

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [&](char x, char y) { return lower(x) == lower(y); });
}

/// Bytes escapeTsvField changes; others are copied as they are.
constexpr std::array<bool, 256> kNeedsEscape = [] {
    std::array<bool, 256> table{};
    for (unsigned char c : {'\\', '\0', '\b', '\f', '\n', '\r', '\t', '\''}) {
        table[c] = true;
    }
    return table;
}();

/// Whether one of the 8 bytes at `p` may need an escape: a byte under 14 (the control characters among
/// them), a backslash or a quote (the zero-byte test, a word at a time; it may say yes for a plain byte).
bool mayNeedEscape(const char* p) {
    constexpr uint64_t kOnes = 0x0101010101010101ULL;
    constexpr uint64_t kHighs = 0x8080808080808080ULL;
    uint64_t word = 0;
    std::memcpy(&word, p, sizeof(word));
    uint64_t backslashes = word ^ (kOnes * '\\');
    uint64_t quotes = word ^ (kOnes * '\'');
    return (((word - kOnes * 14) & ~word) | ((backslashes - kOnes) & ~backslashes) |
            ((quotes - kOnes) & ~quotes)) &
           kHighs;
}

void appendEscaped(std::string& out, std::string_view value) {
    size_t i = 0;
    while (i + 8 <= value.size() && !mayNeedEscape(value.data() + i)) {
        i += 8;
    }
    bool plain = std::none_of(value.begin() + static_cast<ptrdiff_t>(i), value.end(),
                              [](char c) { return kNeedsEscape[static_cast<unsigned char>(c)]; });
    if (plain) {
        out.append(value);
    } else {
        out.append(clickhouse::escapeTsvField(value));
    }
}

/// The value of a ClickHouse string literal ('it''s', 'a\tb'), or nullopt when `literal` is not exactly one.
std::optional<std::string> stringLiteral(std::string_view literal) {
    if (literal.size() < 2 || literal.front() != '\'' || literal.back() != '\'') {
        return std::nullopt;
    }
    std::string_view inner = literal.substr(1, literal.size() - 2);
    std::string escaped;  // the literal's body with '' turned into \' so one unescape undoes everything
    for (size_t i = 0; i < inner.size(); ++i) {
        char c = inner[i];
        if (c == '\\') {
            if (i + 1 == inner.size()) {
                return std::nullopt;
            }
            escaped += c;
            escaped += inner[++i];
        } else if (c == '\'') {
            if (i + 1 == inner.size() || inner[i + 1] != '\'') {
                return std::nullopt;
            }
            escaped += "\\'";
            ++i;
        } else {
            escaped += c;
        }
    }
    return clickhouse::unescapeTsvField(escaped);
}

bool isNumberLiteral(std::string_view literal) {
    if (!literal.empty() && (literal.front() == '-' || literal.front() == '+')) {
        literal.remove_prefix(1);
    }
    return !literal.empty() && (literal.front() >= '0' && literal.front() <= '9') &&
           std::all_of(literal.begin(), literal.end(), [](char c) {
               return (c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '-' || c == '+';
           });
}

}  // namespace

std::optional<InputFormat> parseFormatName(std::string_view name) {
    for (const auto& alias : kFormatNames) {
        if (equalsIgnoreCase(alias.name, name)) {
            return alias.format;
        }
    }
    return std::nullopt;
}

std::string_view formatName(InputFormat format) {
    for (const auto& alias : kFormatNames) {
        if (alias.format == format) {
            return alias.name;
        }
    }
    return "unknown";
}

std::string supportedFormatNames() {
    std::string names;
    for (size_t i = 0; i < 7; ++i) {
        names += (i == 0 ? "" : ", ") + std::string(kFormatNames[i].name);
        std::string aliases;
        for (size_t j = 7; j < kFormatNames.size(); ++j) {
            if (kFormatNames[j].format == kFormatNames[i].format) {
                aliases += (aliases.empty() ? "" : ", ") + std::string(kFormatNames[j].name);
            }
        }
        if (!aliases.empty()) {
            names += " (" + aliases + ")";
        }
    }
    return names;
}

ColumnDefault columnDefault(const topology::Column& column) {
    ValueType type = ValueType::parse(column.type);
    ColumnDefault result;
    result.is_null = type.nullable();
    result.text = type.nullable() ? "" : type.defaultText();
    result.tsv = type.nullable() ? "\\N" : type.defaultText();
    std::string_view expression = column.default_expression;
    while (!expression.empty() && expression.front() == ' ') {
        expression.remove_prefix(1);
    }
    while (!expression.empty() && expression.back() == ' ') {
        expression.remove_suffix(1);
    }
    if (expression.empty()) {
        return result;
    }
    if (equalsIgnoreCase(expression, "NULL")) {
        result.computed = !type.nullable();
        return result;
    }
    std::optional<std::string> value = stringLiteral(expression);
    if (!value && isNumberLiteral(expression)) {
        value = std::string(expression);
    }
    if (!value) {
        result.computed = true;
        return result;
    }
    std::string canonical;
    std::string problem;
    bool valid = true;
    if (type.kind() == TypeKind::Date && expression.front() != '\'') {
        valid = type.checkDayNumber(*value, canonical, problem);
    } else if (type.kind() == TypeKind::DateTime && expression.front() != '\'' && !value->empty() &&
               value->size() <= 10 &&
               std::all_of(value->begin(), value->end(), [](char c) { return c >= '0' && c <= '9'; })) {
        canonical = std::string(10 - value->size(), '0') + *value;
        valid = canonical <= "4294967295";
        problem = "expected a unix timestamp up to 4294967295";
    } else {
        switch (type.check(*value, canonical, problem)) {
            case ValueType::Verdict::Valid:
                canonical = *value;
                break;
            case ValueType::Verdict::Rewritten:
                break;
            case ValueType::Verdict::Invalid:
                valid = false;
                break;
        }
    }
    if (!valid) {
        throw Exception(ErrorCode::InvalidConfig,
                        "column `{}` ({}): DEFAULT {} is not a value of the type: {}", column.name,
                        column.type, column.default_expression, problem);
    }
    result.is_null = false;
    result.text = canonical;
    result.tsv.clear();
    appendEscaped(result.tsv, canonical);
    return result;
}

void appendTabSeparatedRow(std::string& out, std::span<const FieldValue> values,
                           std::span<const ColumnDefault> defaults) {
    for (size_t i = 0; i < values.size(); ++i) {
        if (i > 0) {
            out += '\t';
        }
        const FieldValue& value = values[i];
        if (value.omitted) {
            out.append(defaults[i].tsv);
        } else if (value.is_null) {
            out.append("\\N");
        } else {
            appendEscaped(out, value.text);
        }
    }
    out += '\n';
}

}  // namespace chfleet::ingest
