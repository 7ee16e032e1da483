// The reader of TabSeparated (Raw, WithNames) and CSV (WithNames) bodies, RowReader's delimited part: both
// are lines of fields, so one piece of code reads their rows and their header line, chosen at compile time by
// the delimiter; they differ only in how a field is scanned (TSV escapes; CSV quotes and trimmed spaces) and
// what its text means (\N, an empty CSV value).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "clickhouse/Quoting.h"
#include "common/Text.h"
#include "ingest/format/RowReader.h"
#include "ingest/format/RowReaderInternals.h"

namespace chfleet::ingest {

namespace {

using row_reading::NeedMoreData, row_reading::shown, row_reading::shownAt;

/// Whether ClickHouse drops the backslash of the escape that decodes to `c` (it keeps it for unknown escapes
/// like \% or \:, so that LIKE patterns survive).
bool dropsBackslash(char c) {
    return c == '\\' || c == '\'' || c == '"' || c == '`' || c == '/' || c == '=' ||
           static_cast<unsigned char>(c) <= 31;
}

/// Moves `p` over an unquoted field up to the byte at which `ends(p)` is true (the separator or the line end)
/// or to the end of the data, which needs more data unless it is `final`. `ends` may step `p` over an escape
/// sequence (TSV).
template <typename Ends>
void scanUnquoted(const char*& p, const char* end, bool final, Ends ends) {
    while (true) {
        if (p == end) {
            if (!final) {
                throw NeedMoreData{};
            }
            return;
        }
        if (ends(p)) {
            return;
        }
        ++p;
    }
}

}  // namespace

template <RowReader::Delimiter kDelimiter>
bool RowReader::onlyLineEndsRemain(const char*& p, const char* end, bool final) const {
    constexpr bool kCsv = kDelimiter == Delimiter::Comma;
    const char* q = p;
    while (q < end && (*q == '\n' || (kCsv && *q == '\r'))) {
        ++q;
    }
    if (q < end) {
        return false;
    }
    if (!final) {
        throw NeedMoreData{};
    }
    p = end;
    return true;
}

void RowReader::scanTsvField(const char*& p, const char* end, bool final, RawField& field) const {
    field.begin = p;
    field.quoted = false;
    field.escaped = false;
    scanUnquoted(p, end, final, [&](const char*& q) {
        char c = *q;
        if (c == '\t' || c == '\n') {
            return true;
        }
        if (c == '\\' && escaped_tsv_) {
            field.escaped = true;
            if (++q == end) {
                if (!final) {
                    throw NeedMoreData{};
                }
                failRow("the data ends with a lone backslash (an unfinished escape sequence)");
            }
        }
        return false;
    });
    field.stop = p;
}

bool RowReader::endTsvField(const char*& p, const char* end, const RawField& field) const {
    if (p < end && *p == '\t') {
        ++p;
        return false;
    }
    if (field.stop > field.begin && field.stop[-1] == '\r') {
        failRow(
            "the line ends with a carriage return (\\r, Windows line ends): TabSeparated lines end with \\n "
            "only; write a carriage return inside a value as \\r");
    }
    if (p < end) {
        ++p;
    }
    return true;
}

void RowReader::scanCsvField(const char*& p, const char* end, bool final, RawField& field) const {
    while (p < end && (*p == ' ' || *p == '\t')) {
        ++p;
    }
    if (p == end && !final) {
        throw NeedMoreData{};
    }
    field.escaped = false;
    field.trimmed = false;
    field.quoted = p < end && *p == '"';
    if (field.quoted) {
        field.begin = ++p;
        while (true) {
            const char* quote = static_cast<const char*>(std::memchr(p, '"', static_cast<size_t>(end - p)));
            if (quote == nullptr) {
                if (!final) {
                    throw NeedMoreData{};
                }
                failRow("a quoted value is not closed (a \" is missing)");
            }
            if (quote + 1 == end && !final) {
                throw NeedMoreData{};  // a doubled quote may follow
            }
            if (quote + 1 < end && quote[1] == '"') {
                field.escaped = true;
                p = quote + 2;
                continue;
            }
            field.stop = quote;
            p = quote + 1;
            break;
        }
        while (p < end && (*p == ' ' || *p == '\t')) {
            ++p;
        }
        if (p == end && !final) {
            throw NeedMoreData{};
        }
        return;
    }
    field.begin = p;
    scanUnquoted(p, end, final, [&](const char* q) {
        char c = *q;
        if (c == ',' || c == '\n') {
            return true;
        }
        if (c != '\r') {
            return false;
        }
        if (q + 1 == end) {
            if (!final) {
                throw NeedMoreData{};
            }
            return true;
        }
        return q[1] == '\n';
    });
    const char* stop = p;
    while (stop > field.begin && (stop[-1] == ' ' || stop[-1] == '\t')) {
        --stop;
    }
    field.trimmed = stop != p;
    field.stop = stop;
}

bool RowReader::endCsvField(const char*& p, const char* end, bool final) const {
    if (p == end) {
        return true;
    }
    char c = *p;
    if (c == ',') {
        ++p;
        return false;
    }
    if (c == '\n') {
        ++p;
        return true;
    }
    if (c == '\r' && p + 1 == end && !final) {
        throw NeedMoreData{};  // \r\n may be split between chunks
    }
    if (c == '\r' && (p + 1 == end || p[1] == '\n')) {
        p += p + 1 == end ? 1 : 2;
        return true;
    }
    failRow(fmt::format("expected ',' or the end of the line after a quoted value, got {}", shownAt(p, end)));
}

template <RowReader::Delimiter kDelimiter>
bool RowReader::readField(const char*& p, const char* end, bool final, RawField& field) const {
    if constexpr (kDelimiter == Delimiter::Tab) {
        scanTsvField(p, end, final, field);
        return endTsvField(p, end, field);
    } else {
        scanCsvField(p, end, final, field);
        return endCsvField(p, end, final);
    }
}

template <RowReader::Delimiter kDelimiter>
std::string_view RowReader::unescapeField(int column, const RawField& field) {
    if constexpr (kDelimiter == Delimiter::Tab) {
        return unescapeTsv(column, field.begin, field.stop);
    } else {
        return undoubleQuotes(field.begin, field.stop);
    }
}

template <RowReader::Delimiter kDelimiter>
RowReader::Step RowReader::readDelimitedRow(const char*& p, const char* end, bool final) {
    constexpr std::string_view kValues = kDelimiter == Delimiter::Tab ? "tab-separated" : "comma-separated";
    if (onlyLineEndsRemain<kDelimiter>(p, end, final)) {
        return Step::End;
    }
    beginRow();
    const size_t fields = field_column_.size();
    RawField field;
    for (size_t f = 0; f < fields; ++f) {
        bool line_end = readField<kDelimiter>(p, end, final, field);
        if (line_end != (f + 1 == fields)) {
            failRow(fmt::format("expected {} {} values in the line, got {}", fields, kValues,
                                line_end ? fmt::to_string(f + 1) : "more"));
        }
        int column = field_column_[f];
        if (column < 0) {
            continue;
        }
        std::string_view raw(field.begin, static_cast<size_t>(field.stop - field.begin));
        if constexpr (kDelimiter == Delimiter::Tab) {
            if (raw == "\\N") {
                storeNull(column, raw);
            } else if (field.escaped && row_types_[column].isText()) {
                storeValue(column, unescapeField<kDelimiter>(column, field), Arena::Unescaped);
            } else {
                storeValue(column, raw, Arena::Input);
            }
        } else {
            if (field.quoted) {
                if (field.escaped) {
                    storeValue(column, unescapeField<kDelimiter>(column, field), Arena::Unescaped);
                } else {
                    storeValue(column, raw, Arena::Input);
                }
            } else if (raw == "\\N" && !field.trimmed) {  // as ClickHouse, which looks for \N before trimming
                storeNull(column, raw);
            } else if (raw.empty()) {
                storeDefault(column, raw);
            } else {
                storeValue(column, raw, Arena::Input);
            }
        }
    }
    return Step::Row;
}

template <RowReader::Delimiter kDelimiter>
RowReader::Step RowReader::readHeader(const char*& p, const char* end, bool final) {
    if (p == end) {
        if (!final) {
            throw NeedMoreData{};
        }
        return Step::End;
    }
    std::vector<std::string> names;
    RawField field;
    bool line_end = false;
    while (!line_end) {
        line_end = readField<kDelimiter>(p, end, final, field);
        unescaped_.clear();
        if (field.escaped) {
            names.emplace_back(unescapeField<kDelimiter>(-1, field));
        } else {
            names.emplace_back(field.begin, field.stop);
        }
    }
    useHeader(names);
    return Step::Header;
}

void RowReader::useHeader(const std::vector<std::string>& names) {
    std::vector<int> row_allowed;
    std::vector<int> field_column;
    for (const auto& name : names) {
        auto it = allowed_index_.find(name);
        if (it == allowed_index_.end()) {
            if (!skip_unknown_fields_) {
                failHeader(
                    fmt::format("unknown column `{}` (the INSERT's columns: {}; the setting "
                                "input_format_skip_unknown_fields=1 skips the values of unknown columns)",
                                name, fmt::join(allowed_names_, ", ")));
            }
            field_column.push_back(-1);
            continue;
        }
        if (std::find(row_allowed.begin(), row_allowed.end(), it->second) != row_allowed.end()) {
            failHeader(fmt::format("column `{}` is named twice", name));
        }
        field_column.push_back(static_cast<int>(row_allowed.size()));
        row_allowed.push_back(it->second);
    }
    row_allowed_ = std::move(row_allowed);
    field_column_ = std::move(field_column);
    row_names_.clear();
    row_types_.clear();
    row_defaults_.clear();
    for (int allowed : row_allowed_) {
        row_names_.push_back(allowed_names_[allowed]);
        row_types_.push_back(allowed_types_[allowed]);
        row_defaults_.push_back(allowed_defaults_[allowed]);
    }
    slots_.assign(row_names_.size(), Slot{});
    values_.assign(row_names_.size(), FieldValue{});
    seen_.assign(row_names_.size(), 0);
    header_read_ = true;
}

std::string_view RowReader::unescapeTsv(int column, const char* begin, const char* end) {
    size_t offset = unescaped_.size();
    for (const char* p = begin; p < end; ++p) {
        char c = *p;
        if (c != '\\') {
            unescaped_ += c;
            continue;
        }
        char next = *++p;  // scanTsvField made sure a byte follows every backslash
        if (next == 'x') {
            int high = p + 1 < end ? text::hexDigitValue(p[1]) : -1;
            int low = p + 2 < end ? text::hexDigitValue(p[2]) : -1;
            if (high < 0 || low < 0) {
                std::string_view text(begin, static_cast<size_t>(end - begin));
                if (column < 0) {
                    failHeader(fmt::format(
                        "bad escape sequence \\x (two hexadecimal digits must follow) in {}", shown(text)));
                }
                failValue(column, text, "bad escape sequence \\x (two hexadecimal digits must follow)");
            }
            unescaped_ += static_cast<char>(high * 16 + low);
            p += 2;
        } else if (next != 'N') {  // \N inside a value stands for nothing
            char decoded = clickhouse::escapedByte(next);
            if (!dropsBackslash(decoded)) {
                unescaped_ += '\\';
            }
            unescaped_ += decoded;
        }
    }
    return std::string_view(unescaped_).substr(offset);
}

std::string_view RowReader::undoubleQuotes(const char* begin, const char* end) {
    size_t offset = unescaped_.size();
    for (const char* p = begin; p < end;) {
        const auto* quote = static_cast<const char*>(std::memchr(p, '"', static_cast<size_t>(end - p)));
        if (quote == nullptr) {
            unescaped_.append(p, static_cast<size_t>(end - p));
            break;
        }
        unescaped_.append(p, static_cast<size_t>(quote + 1 - p));  // up to the first quote of a pair, at once
        p = quote + 2;                                             // past the second
    }
    return std::string_view(unescaped_).substr(offset);
}

template RowReader::Step RowReader::readDelimitedRow<RowReader::Delimiter::Tab>(const char*&, const char*,
                                                                                bool);
template RowReader::Step RowReader::readDelimitedRow<RowReader::Delimiter::Comma>(const char*&, const char*,
                                                                                  bool);
template RowReader::Step RowReader::readHeader<RowReader::Delimiter::Tab>(const char*&, const char*, bool);
template RowReader::Step RowReader::readHeader<RowReader::Delimiter::Comma>(const char*&, const char*, bool);

}  // namespace chfleet::ingest
