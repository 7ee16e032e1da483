#include "clickhouse/Quoting.h"

#include "common/Exception.h"
#include "common/Text.h"

namespace chfleet::clickhouse {

namespace {

constexpr char kHexDigits[] = "0123456789ABCDEF";

/// The escape both literals and TSV fields use for backslash and the control bytes that have a letter
/// (\\ \0 \b \f \n \r \t); nullptr for any other byte.
const char* namedEscape(char c) {
    switch (c) {
        case '\\':
            return "\\\\";
        case '\0':
            return "\\0";
        case '\b':
            return "\\b";
        case '\f':
            return "\\f";
        case '\n':
            return "\\n";
        case '\r':
            return "\\r";
        case '\t':
            return "\\t";
        default:
            return nullptr;
    }
}

/// Appends `value` escaped for a literal delimited by `quote` (a string literal or a back-quoted identifier).
void appendEscapedLiteral(std::string& out, std::string_view value, char quote) {
    for (char c : value) {
        auto byte = static_cast<unsigned char>(c);
        if (const char* escape = namedEscape(c)) {
            out += escape;
        } else if (c == quote) {
            out += '\\';
            out += c;
        } else if (byte < 0x20 || byte == 0x7F) {
            out += "\\x";
            out += kHexDigits[byte >> 4];
            out += kHexDigits[byte & 0x0F];
        } else {
            out += c;
        }
    }
}

std::string quoted(std::string_view value, char quote) {
    std::string out;
    out.reserve(value.size() + 2);
    out += quote;
    appendEscapedLiteral(out, value, quote);
    out += quote;
    return out;
}

}  // namespace

std::string quoteString(std::string_view value) {
    return quoted(value, '\'');
}

std::string quoteIdentifier(std::string_view name) {
    return quoted(name, '`');
}

std::string qualifiedName(std::string_view database, std::string_view table) {
    if (database.empty()) {
        return quoteIdentifier(table);
    }
    return quoteIdentifier(database) + "." + quoteIdentifier(table);
}

std::string escapeTsvField(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        if (const char* escape = namedEscape(c)) {
            out += escape;
        } else if (c == '\'') {
            out += "\\'";
        } else {
            out += c;
        }
    }
    return out;
}

char escapedByte(char c) {
    switch (c) {
        case 'a':
            return '\a';
        case 'b':
            return '\b';
        case 'e':
            return '\x1B';
        case 'f':
            return '\f';
        case 'n':
            return '\n';
        case 'r':
            return '\r';
        case 't':
            return '\t';
        case 'v':
            return '\v';
        case '0':
            return '\0';
        default:
            return c;
    }
}

std::string unescapeTsvField(std::string_view field) {
    std::string out;
    out.reserve(field.size());
    for (size_t i = 0; i < field.size(); ++i) {
        char c = field[i];
        if (c != '\\') {
            out += c;
            continue;
        }
        if (i + 1 == field.size()) {
            throw Exception(ErrorCode::BadResponse, "a TSV field of {} bytes ends with a lone backslash",
                            field.size());
        }
        char next = field[++i];
        switch (next) {
            case 'a':
            case 'b':
            case 'e':
            case 'f':
            case 'n':
            case 'r':
            case 't':
            case 'v':
            case '0':
                out += escapedByte(next);
                break;
            case 'x': {
                int high = i + 1 < field.size() ? text::hexDigitValue(field[i + 1]) : -1;
                int low = i + 2 < field.size() ? text::hexDigitValue(field[i + 2]) : -1;
                if (high < 0 || low < 0) {
                    throw Exception(ErrorCode::BadResponse,
                                    "a TSV field has a \\x escape without two hex digits at byte {}", i);
                }
                out += static_cast<char>(high * 16 + low);
                i += 2;
                break;
            }
            case '\\':
            case '\'':
            case '"':
            case '`':
            case '/':
            case '=':
            case ':':
                out += next;
                break;
            default:
                // Like ClickHouse: an unknown escape keeps its backslash ('100\%' stays '100\%' for LIKE).
                out += '\\';
                out += next;
        }
    }
    return out;
}

}  // namespace chfleet::clickhouse
