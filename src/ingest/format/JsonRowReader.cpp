// The reader of JSONEachRow bodies (RowReader's JSON part): the optional enclosing array, one object per row,
// keys matched to the row columns, strings unescaped to UTF-8, and bare tokens (numbers, true, false, null)
// taken as ClickHouse takes them for each column type.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>

#include "common/Text.h"
#include "ingest/format/RowReader.h"
#include "ingest/format/RowReaderInternals.h"

namespace chfleet::ingest {

namespace {

using row_reading::isJsonSpace, row_reading::NeedMoreData, row_reading::shown, row_reading::shownAt;

constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";

/// Ends a bare JSON token (number, true, false, null).
bool isJsonDelimiter(char c) {
    return c == ',' || c == '}' || c == ']' || isJsonSpace(c);
}

/// A bare JSON token (number, true, false, null) at `p`, up to its delimiter, which it leaves at `p`.
std::string_view readBareToken(const char*& p, const char* end, bool final) {
    const char* begin = p;
    while (p < end && !isJsonDelimiter(*p)) {
        ++p;
    }
    if (p == end && !final) {
        throw NeedMoreData{};
    }
    return std::string_view(begin, static_cast<size_t>(p - begin));
}

/// The first '"' or '\\' in [p, end), or `end`: eight bytes at a time (the zero-byte test of each XOR; its
/// lowest flagged byte is always a true match), then byte by byte for the last few.
const char* findQuoteOrBackslash(const char* p, const char* end) {
    constexpr uint64_t kOnes = 0x0101010101010101ULL;
    constexpr uint64_t kHighs = 0x8080808080808080ULL;
    for (; end - p >= 8; p += 8) {
        uint64_t word = 0;
        std::memcpy(&word, p, sizeof(word));
        uint64_t quotes = word ^ (kOnes * '"');
        uint64_t backslashes = word ^ (kOnes * '\\');
        uint64_t found = (((quotes - kOnes) & ~quotes) | ((backslashes - kOnes) & ~backslashes)) & kHighs;
        if (found != 0) {
            return p + std::countr_zero(found) / 8;
        }
    }
    while (p < end && *p != '"' && *p != '\\') {
        ++p;
    }
    return p;
}

int hex4(const char* p) {
    int value = 0;
    for (int i = 0; i < 4; ++i) {
        int digit = text::hexDigitValue(p[i]);
        if (digit < 0) {
            return -1;
        }
        value = value * 16 + digit;
    }
    return value;
}

void appendUtf8(std::string& out, uint32_t code_point) {
    if (code_point < 0x80) {
        out += static_cast<char>(code_point);
    } else if (code_point < 0x800) {
        out += static_cast<char>(0xC0 | (code_point >> 6));
        out += static_cast<char>(0x80 | (code_point & 0x3F));
    } else if (code_point < 0x10000) {
        out += static_cast<char>(0xE0 | (code_point >> 12));
        out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (code_point & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (code_point >> 18));
        out += static_cast<char>(0x80 | ((code_point >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (code_point & 0x3F));
    }
}

/// True for a JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
bool isJsonNumber(std::string_view token) {
    size_t pos = 0;
    auto digits = [&]() {
        size_t start = pos;
        while (pos < token.size() && token[pos] >= '0' && token[pos] <= '9') {
            ++pos;
        }
        return pos - start;
    };
    if (pos < token.size() && token[pos] == '-') {
        ++pos;
    }
    size_t int_start = pos;
    size_t int_digits = digits();
    if (int_digits == 0 || (int_digits > 1 && token[int_start] == '0')) {
        return false;
    }
    if (pos < token.size() && token[pos] == '.') {
        ++pos;
        if (digits() == 0) {
            return false;
        }
    }
    if (pos < token.size() && (token[pos] == 'e' || token[pos] == 'E')) {
        ++pos;
        if (pos < token.size() && (token[pos] == '+' || token[pos] == '-')) {
            ++pos;
        }
        if (digits() == 0) {
            return false;
        }
    }
    return pos == token.size();
}

}  // namespace

RowReader::Step RowReader::readJsonRow(const char*& p, const char* end, bool final) {
    bool prefix_read = json_prefix_read_;
    bool in_array = json_in_array_;
    auto skipSpace = [&]() {
        while (p < end && isJsonSpace(*p)) {
            ++p;
        }
    };
    auto need = [&]() {
        if (p == end) {
            if (!final) {
                throw NeedMoreData{};
            }
            failRow("the data ends in the middle of a row (a JSON object is not closed)");
        }
    };
    bool closing = false;
    if (!prefix_read) {
        auto available = static_cast<size_t>(end - p);
        if (available >= kByteOrderMark.size() && std::string_view(p, 3) == kByteOrderMark) {
            p += kByteOrderMark.size();
        } else if (!final && available < kByteOrderMark.size() &&
                   std::string_view(p, available) == kByteOrderMark.substr(0, available)) {
            throw NeedMoreData{};
        }
        skipSpace();
        if (p == end && !final) {
            throw NeedMoreData{};
        }
        if (p < end && *p == '[') {
            in_array = true;
            ++p;
            skipSpace();
            if (p == end && !final) {
                throw NeedMoreData{};
            }
            closing = p < end && *p == ']';
        }
        prefix_read = true;
    } else {
        skipSpace();
        if (in_array) {
            if (p == end && !final) {
                throw NeedMoreData{};
            }
            if (p < end && *p == ']') {
                closing = true;
            } else if (p < end && *p == ',') {
                ++p;
                skipSpace();
            } else if (p < end) {
                failRow(fmt::format("expected ',' or ']' between the rows of the JSON array, got {}",
                                    shownAt(p, end)));
            }
        } else if (p < end && *p == ',') {
            ++p;
            skipSpace();
        }
    }
    if (closing) {
        ++p;
        skipSpace();
        if (p != end) {
            failRow(fmt::format("expected nothing after the ] that closes the JSON array of rows, got {}",
                                shownAt(p, end)));
        }
        if (!final) {
            throw NeedMoreData{};
        }
        return Step::End;
    }
    if (p == end) {
        if (!final) {
            throw NeedMoreData{};
        }
        if (in_array) {
            failRow("the JSON array of rows is not closed (a ] is missing)");
        }
        return Step::End;
    }
    if (*p != '{') {
        failRow(fmt::format("expected '{{' at the start of a row, got {}", shownAt(p, end)));
    }
    ++p;
    beginRow();
    skipSpace();
    need();
    if (*p == '}') {
        ++p;
    } else {
        while (true) {
            need();
            if (*p != '"') {
                failRow(fmt::format("expected a key in double quotes, got {}", shownAt(p, end)));
            }
            const char* key_begin = nullptr;
            const char* key_stop = nullptr;
            bool key_escaped = false;
            readJsonString(p, end, final, key_begin, key_stop, key_escaped);
            std::string_view key(key_begin, static_cast<size_t>(key_stop - key_begin));
            if (key_escaped) {
                key_.clear();
                unescapeJson(key_begin, key_stop, key_);
                key = key_;
            }
            skipSpace();
            need();
            if (*p != ':') {
                failRow(fmt::format("expected ':' after the key {}, got {}", shown(key), shownAt(p, end)));
            }
            ++p;
            skipSpace();
            need();
            int column = lookupJsonKey(key);
            if (column < 0) {
                skipJsonValue(p, end, final);
            } else {
                if (seen_[column] == attempt_) {
                    failRow(fmt::format("the key `{}` appears twice in the row", key));
                }
                seen_[column] = attempt_;
                readJsonValue(p, end, final, column);
            }
            skipSpace();
            need();
            if (*p == ',') {
                ++p;
                skipSpace();
                continue;
            }
            if (*p == '}') {
                ++p;
                break;
            }
            failRow(
                fmt::format("expected ',' or '}}' after the value of `{}`, got {}", key, shownAt(p, end)));
        }
    }
    json_prefix_read_ = prefix_read;
    json_in_array_ = in_array;
    return Step::Row;
}

int RowReader::lookupJsonKey(std::string_view key) {
    int column = -1;
    if (json_next_key_ < static_cast<int>(row_names_.size()) && row_names_[json_next_key_] == key) {
        column = json_next_key_;
    } else if (auto it = allowed_index_.find(key); it != allowed_index_.end()) {
        column = it->second;
    } else if (!skip_unknown_fields_) {
        throw RowError(
            rows_ + 1, std::string(key),
            fmt::format("Cannot parse input: row {}: unknown key `{}`: the INSERT has no such column "
                        "(its columns: {}; the setting input_format_skip_unknown_fields=1 skips "
                        "unknown keys)",
                        rows_ + 1, key, fmt::join(allowed_names_, ", ")));
    }
    if (column >= 0) {
        json_next_key_ = column + 1;
    }
    return column;
}

void RowReader::readJsonString(const char*& p, const char* end, bool final, const char*& begin,
                               const char*& stop, bool& escaped) const {
    ++p;  // the opening quote
    begin = p;
    escaped = false;
    // One pass over the bytes, eight at a time between quotes and backslashes; an escape costs nothing more
    // than skipping the escaped byte.
    const char* q = p;
    while (true) {
        q = findQuoteOrBackslash(q, end);
        if (q == end || (*q == '\\' && q + 1 == end)) {
            break;
        }
        if (*q == '"') {
            stop = q;
            p = q + 1;
            return;
        }
        escaped = true;
        q += 2;
    }
    if (!final) {
        throw NeedMoreData{};
    }
    failRow("the data ends inside a JSON string (a closing \" is missing)");
}

void RowReader::readJsonValue(const char*& p, const char* end, bool final, int column) {
    const ValueType& type = row_types_[column];
    char c = *p;
    if (c == '"') {
        const char* begin = nullptr;
        const char* stop = nullptr;
        bool escaped = false;
        readJsonString(p, end, final, begin, stop, escaped);
        if (escaped && type.isText()) {
            size_t offset = unescaped_.size();
            unescapeJson(begin, stop, unescaped_);
            storeValue(column, std::string_view(unescaped_).substr(offset), Arena::Unescaped);
        } else {
            storeValue(column, std::string_view(begin, static_cast<size_t>(stop - begin)), Arena::Input);
        }
        return;
    }
    if (c == '{' || c == '[') {
        failValue(column, std::string_view(p, 1),
                  c == '{' ? "expected a string, a number, true, false or null, not a JSON object"
                           : "expected a string, a number, true, false or null, not a JSON array");
    }
    std::string_view token = readBareToken(p, end, final);
    if (token == "null") {
        storeNull(column, token);
        return;
    }
    if (token == "true" || token == "false") {
        if (type.isInteger() || type.isFloat()) {
            storeValue(column, token == "true" ? "1" : "0", Arena::Input);
        } else if (type.kind() == TypeKind::String) {
            storeValue(column, token, Arena::Input);
        } else {
            failValue(column, token, "expected a JSON string, not a boolean");
        }
        return;
    }
    switch (type.kind()) {
        case TypeKind::String:
            if (!isJsonNumber(token)) {
                failValue(column, token, "expected a string, a number, true, false or null");
            }
            storeValue(column, token, Arena::Input);
            return;
        case TypeKind::FixedString:
        case TypeKind::UUID:
            failValue(column, token, "expected a JSON string");
        case TypeKind::Date: {
            size_t offset = canonical_.size();
            if (!type.checkDayNumber(token, canonical_, problem_)) {
                failValue(column, token, problem_);
            }
            Slot& slot = slots_[column];
            slot = Slot{Arena::Canonical, false, false, nullptr, offset, canonical_.size() - offset};
            return;
        }
        default:
            storeValue(column, token, Arena::Input);
    }
}

void RowReader::skipJsonValue(const char*& p, const char* end, bool final) {
    const char* begin = nullptr;
    const char* stop = nullptr;
    bool escaped = false;
    char c = *p;
    if (c == '"') {
        readJsonString(p, end, final, begin, stop, escaped);
        return;
    }
    if (c == '{' || c == '[') {
        int depth = 0;
        while (true) {
            if (p == end) {
                if (!final) {
                    throw NeedMoreData{};
                }
                failRow("the data ends inside a JSON object or array");
            }
            char d = *p;
            if (d == '"') {
                readJsonString(p, end, final, begin, stop, escaped);
                continue;
            }
            if (d == '{' || d == '[') {
                ++depth;
            } else if ((d == '}' || d == ']') && --depth == 0) {
                ++p;
                return;
            }
            ++p;
        }
    }
    std::string_view token = readBareToken(p, end, final);
    if (token != "null" && token != "true" && token != "false" && !isJsonNumber(token)) {
        failRow(fmt::format("expected a JSON value, got {}",
                            shown(token.empty() ? std::string_view(p, 1) : token)));
    }
}

void RowReader::unescapeJson(const char* begin, const char* end, std::string& out) const {
    for (const char* p = begin; p < end; ++p) {
        const auto* backslash = static_cast<const char*>(std::memchr(p, '\\', static_cast<size_t>(end - p)));
        out.append(p, static_cast<size_t>((backslash == nullptr ? end : backslash) - p));  // at once
        if (backslash == nullptr) {
            return;
        }
        p = backslash;
        char next = *++p;  // readJsonString made sure a byte follows every backslash
        switch (next) {
            case 'b':
                out += '\b';
                break;
            case 'f':
                out += '\f';
                break;
            case 'n':
                out += '\n';
                break;
            case 'r':
                out += '\r';
                break;
            case 't':
                out += '\t';
                break;
            case 'u': {
                int unit = end - p > 4 ? hex4(p + 1) : -1;
                if (unit < 0) {
                    failRow(
                        fmt::format("bad escape sequence in a JSON string: \\u must be followed by four "
                                    "hexadecimal digits, got {}",
                                    shown(std::string_view(p - 1, std::min<size_t>(end - p + 1, 6)))));
                }
                p += 4;
                uint32_t code_point = static_cast<uint32_t>(unit);
                if (unit >= 0xD800 && unit <= 0xDBFF) {
                    int low = end - p > 6 && p[1] == '\\' && p[2] == 'u' ? hex4(p + 3) : -1;
                    if (low < 0xDC00 || low > 0xDFFF) {
                        failRow(
                            fmt::format("bad escape sequence in a JSON string: the high surrogate \\u{:04x} "
                                        "is not followed by a low surrogate \\udc00-\\udfff",
                                        unit));
                    }
                    code_point = 0x10000 + ((static_cast<uint32_t>(unit) - 0xD800) << 10) +
                                 (static_cast<uint32_t>(low) - 0xDC00);
                    p += 6;
                } else if (unit >= 0xDC00 && unit <= 0xDFFF) {
                    failRow(
                        fmt::format("bad escape sequence in a JSON string: the low surrogate \\u{:04x} has "
                                    "no high surrogate before it",
                                    unit));
                }
                appendUtf8(out, code_point);
                break;
            }
            default:  // \" \\ \/ and, as ClickHouse reads them, unknown escapes: the byte itself
                out += next;
        }
    }
}

}  // namespace chfleet::ingest
