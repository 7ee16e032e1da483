#include "ingest/format/RowReader.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <utility>

#include "clickhouse/Quoting.h"
#include "common/Text.h"

namespace chfleet::ingest {

namespace {

/* How the reader streams: each step reads one row (or the header) from the bytes at hand. When a row runs
 * past them, the helper that noticed throws NeedMoreData; parse() catches it, keeps the bytes from the start
 * of that row for the next chunk and nothing of the partial row survives (arenas and slots are reset when a
 * row begins; state that spans rows, like JSON's enclosing array, is committed only when a row completes).
 * Chunks are gathered until 64 KiB (kParseAtBytes) are at hand before a parse, so the throw and the re-read
 * of a partial row happen once per 64 KiB, not once per network read (a few KiB). A tail longer than that is
 * parsed again only when it has doubled, so a huge row spread over many small chunks still costs linear time.
 * At finish() the same code runs with `final` set: the end of the data then ends the last row, or is an error
 * when the row is incomplete. */
struct NeedMoreData {};

constexpr size_t kShownBytes = 40;
constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";

std::string shown(std::string_view text) {
    if (text.size() <= kShownBytes) {
        return clickhouse::quoteString(text);
    }
    return clickhouse::quoteString(text.substr(0, kShownBytes)) + "...";
}

std::string shownAt(const char* p, const char* end) {
    if (p >= end) {
        return "the end of the data";
    }
    return shown(std::string_view(p, std::min<size_t>(end - p, 20)));
}

bool isJsonSpace(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/// Ends a bare JSON token (number, true, false, null).
bool isJsonDelimiter(char c) {
    return c == ',' || c == '}' || c == ']' || isJsonSpace(c);
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

/// Whether ClickHouse drops the backslash of the escape that decodes to `c` (it keeps it for unknown escapes
/// like \% or \:, so that LIKE patterns survive).
bool dropsBackslash(char c) {
    return c == '\\' || c == '\'' || c == '"' || c == '`' || c == '/' || c == '=' ||
           static_cast<unsigned char>(c) <= 31;
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

RowReader::RowReader(InputFormat format, const std::vector<topology::Column>& columns,
                     std::vector<std::string> insert_columns, bool skip_unknown_fields, size_t parse_at_bytes)
    : format_(format),
      skip_unknown_fields_(skip_unknown_fields),
      with_names_(format == InputFormat::TabSeparatedWithNames ||
                  format == InputFormat::TabSeparatedRawWithNames || format == InputFormat::CSVWithNames),
      escaped_tsv_(format == InputFormat::TabSeparated || format == InputFormat::TabSeparatedWithNames),
      parse_at_bytes_(parse_at_bytes) {
    auto table_columns = [&]() {
        std::string names;
        for (const auto& column : columns) {
            names += (names.empty() ? "" : ", ") + column.name;
        }
        return names;
    };
    std::vector<const topology::Column*> chosen;
    if (insert_columns.empty()) {
        for (const auto& column : columns) {
            chosen.push_back(&column);
        }
    }
    for (const auto& name : insert_columns) {
        auto it = std::find_if(columns.begin(), columns.end(),
                               [&](const topology::Column& column) { return column.name == name; });
        if (it == columns.end()) {
            throw Exception(ErrorCode::BadArguments,
                            "the INSERT names column `{}`, which the table does not have (its columns: {})",
                            name, table_columns());
        }
        if (std::find(chosen.begin(), chosen.end(), &*it) != chosen.end()) {
            throw Exception(ErrorCode::BadArguments, "the INSERT names column `{}` twice", name);
        }
        chosen.push_back(&*it);
    }
    for (const topology::Column* column : chosen) {
        try {
            allowed_types_.push_back(ValueType::parse(column->type));
        } catch (const Exception& e) {
            throw Exception(e.code(), "column `{}`: {}", column->name, e.what());
        }
        allowed_defaults_.push_back(columnDefault(*column));
        // ClickHouse reads NULL for such a column as the type's zero, which an Enum may not have.
        allowed_default_fails_.push_back(column->default_expression.empty() &&
                                         !allowed_types_.back().nullable() &&
                                         !allowed_types_.back().hasZero());
        allowed_index_.emplace(column->name, static_cast<int>(allowed_names_.size()));
        allowed_names_.push_back(column->name);
    }
    for (size_t i = 0; i < allowed_names_.size(); ++i) {
        row_allowed_.push_back(static_cast<int>(i));
        row_names_.push_back(allowed_names_[i]);
        row_types_.push_back(allowed_types_[i]);
        row_defaults_.push_back(allowed_defaults_[i]);
        field_column_.push_back(static_cast<int>(i));
    }
    slots_.resize(row_names_.size());
    values_.resize(row_names_.size());
    seen_.resize(row_names_.size(), 0);
    unescaped_.reserve(4096);
    canonical_.reserve(4096);
}

void RowReader::feed(std::string_view chunk, const RowCallback& on_row) {
    if (finished_) {
        throw Exception(ErrorCode::BadArguments, "RowReader::feed after finish");
    }
    if (buffer_.empty() && chunk.size() >= parse_at_bytes_) {
        size_t consumed = parse(chunk, false, on_row);
        buffer_.assign(chunk.substr(consumed));
    } else {
        buffer_.append(chunk);
        if (buffer_.size() < std::max(retry_size_, parse_at_bytes_)) {
            return;
        }
        size_t consumed = parse(buffer_, false, on_row);
        buffer_.erase(0, consumed);
    }
    // The incomplete tail is parsed again once parse_at_bytes are at hand, or once it has doubled.
    retry_size_ = buffer_.size() * 2;
}

void RowReader::finish(const RowCallback& on_row) {
    if (finished_) {
        return;
    }
    finished_ = true;
    parse(buffer_, true, on_row);
    buffer_.clear();
}

bool RowReader::splittable() const {
    if (with_names_) {
        return header_read_;
    }
    return format_ != InputFormat::JSONEachRow || (json_prefix_read_ && !json_in_array_);
}

std::string RowReader::takeUnparsed() {
    retry_size_ = 0;
    return std::exchange(buffer_, {});
}

RowReader RowReader::continuation(size_t rows_before) const {
    RowReader copy(*this);
    copy.buffer_.clear();
    copy.retry_size_ = 0;
    copy.rows_ = rows_before;
    copy.finished_ = false;
    return copy;
}

size_t RowReader::readStretch(std::string_view data, bool final, const RowCallback& on_row) {
    return parse(data, final, on_row);
}

bool RowReader::onlyBetweenRows(std::string_view rest) const {
    if (format_ != InputFormat::JSONEachRow) {
        return rest.empty();
    }
    return std::all_of(rest.begin(), rest.end(), isJsonSpace);
}

void RowReader::appendTabSeparated(std::string& out, std::span<const FieldValue> row) const {
    appendTabSeparatedRow(out, row, row_defaults_);
}

size_t RowReader::parse(std::string_view data, bool final, const RowCallback& on_row) {
    const char* p = data.data();
    const char* end = p + data.size();
    while (true) {
        const char* row_start = p;
        Step result = Step::End;
        try {
            result = step(p, end, final);
        } catch (const NeedMoreData&) {
            return static_cast<size_t>(row_start - data.data());
        }
        if (result == Step::End) {
            return data.size();
        }
        if (result == Step::Row) {
            emitRow(on_row);
        }
    }
}

RowReader::Step RowReader::step(const char*& p, const char* end, bool final) {
    if (with_names_ && !header_read_) {
        return readHeader(p, end, final);
    }
    switch (format_) {
        case InputFormat::JSONEachRow:
            return readJsonRow(p, end, final);
        case InputFormat::CSV:
        case InputFormat::CSVWithNames:
            return readCsvRow(p, end, final);
        default:
            return readTsvRow(p, end, final);
    }
}

void RowReader::beginRow() {
    unescaped_.clear();
    canonical_.clear();
    for (Slot& slot : slots_) {
        slot.omitted = true;
        slot.is_null = false;
    }
    ++attempt_;
}

void RowReader::emitRow(const RowCallback& on_row) {
    for (size_t i = 0; i < slots_.size(); ++i) {
        const Slot& slot = slots_[i];
        FieldValue& value = values_[i];
        value.omitted = slot.omitted;
        value.is_null = slot.is_null;
        if (slot.omitted || slot.is_null) {
            value.text = {};
        } else if (slot.arena == Arena::Input) {
            value.text = std::string_view(slot.data, slot.size);
        } else {
            const std::string& arena = slot.arena == Arena::Unescaped ? unescaped_ : canonical_;
            value.text = std::string_view(arena.data() + slot.offset, slot.size);
        }
    }
    on_row(std::span<const FieldValue>(values_));
    ++rows_;
}

bool RowReader::onlyLineEndsRemain(const char*& p, const char* end, bool final) const {
    bool csv = format_ == InputFormat::CSV || format_ == InputFormat::CSVWithNames;
    const char* q = p;
    while (q < end && (*q == '\n' || (csv && *q == '\r'))) {
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
    while (true) {
        if (p == end) {
            if (!final) {
                throw NeedMoreData{};
            }
            break;
        }
        char c = *p;
        if (c == '\t' || c == '\n') {
            break;
        }
        if (c == '\\' && escaped_tsv_) {
            field.escaped = true;
            if (++p == end) {
                if (!final) {
                    throw NeedMoreData{};
                }
                failRow("the data ends with a lone backslash (an unfinished escape sequence)");
            }
        }
        ++p;
    }
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
    while (true) {
        if (p == end) {
            if (!final) {
                throw NeedMoreData{};
            }
            break;
        }
        char c = *p;
        if (c == ',' || c == '\n') {
            break;
        }
        if (c == '\r') {
            if (p + 1 == end) {
                if (!final) {
                    throw NeedMoreData{};
                }
                break;
            }
            if (p[1] == '\n') {
                break;
            }
        }
        ++p;
    }
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

RowReader::Step RowReader::readTsvRow(const char*& p, const char* end, bool final) {
    if (onlyLineEndsRemain(p, end, final)) {
        return Step::End;
    }
    beginRow();
    const size_t fields = field_column_.size();
    RawField field;
    for (size_t f = 0; f < fields; ++f) {
        scanTsvField(p, end, final, field);
        bool line_end = endTsvField(p, end, field);
        if (line_end != (f + 1 == fields)) {
            failRow(fmt::format("expected {} tab-separated values in the line, got {}", fields,
                                line_end ? fmt::to_string(f + 1) : "more"));
        }
        int column = field_column_[f];
        if (column < 0) {
            continue;
        }
        std::string_view raw(field.begin, static_cast<size_t>(field.stop - field.begin));
        if (raw == "\\N") {
            storeNull(column, raw);
        } else if (field.escaped && row_types_[column].isText()) {
            storeValue(column, unescapeTsv(column, field.begin, field.stop), Arena::Unescaped);
        } else {
            storeValue(column, raw, Arena::Input);
        }
    }
    return Step::Row;
}

RowReader::Step RowReader::readCsvRow(const char*& p, const char* end, bool final) {
    if (onlyLineEndsRemain(p, end, final)) {
        return Step::End;
    }
    beginRow();
    const size_t fields = field_column_.size();
    RawField field;
    for (size_t f = 0; f < fields; ++f) {
        scanCsvField(p, end, final, field);
        bool line_end = endCsvField(p, end, final);
        if (line_end != (f + 1 == fields)) {
            failRow(fmt::format("expected {} comma-separated values in the line, got {}", fields,
                                line_end ? fmt::to_string(f + 1) : "more"));
        }
        int column = field_column_[f];
        if (column < 0) {
            continue;
        }
        std::string_view raw(field.begin, static_cast<size_t>(field.stop - field.begin));
        if (field.quoted) {
            if (field.escaped) {
                storeValue(column, undoubleQuotes(field.begin, field.stop), Arena::Unescaped);
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
    return Step::Row;
}

RowReader::Step RowReader::readHeader(const char*& p, const char* end, bool final) {
    if (p == end) {
        if (!final) {
            throw NeedMoreData{};
        }
        return Step::End;
    }
    bool csv = format_ == InputFormat::CSVWithNames;
    std::vector<std::string> names;
    RawField field;
    bool line_end = false;
    while (!line_end) {
        if (csv) {
            scanCsvField(p, end, final, field);
            line_end = endCsvField(p, end, final);
        } else {
            scanTsvField(p, end, final, field);
            line_end = endTsvField(p, end, field);
        }
        unescaped_.clear();
        if (csv && field.escaped) {
            names.emplace_back(undoubleQuotes(field.begin, field.stop));
        } else if (!csv && field.escaped) {
            names.emplace_back(unescapeTsv(-1, field.begin, field.stop));
        } else {
            names.emplace_back(field.begin, field.stop);
        }
    }
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
    return Step::Header;
}

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
    const char* begin = p;
    while (p < end && !isJsonDelimiter(*p)) {
        ++p;
    }
    if (p == end && !final) {
        throw NeedMoreData{};
    }
    std::string_view token(begin, static_cast<size_t>(p - begin));
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
    const char* token_begin = p;
    while (p < end && !isJsonDelimiter(*p)) {
        ++p;
    }
    if (p == end && !final) {
        throw NeedMoreData{};
    }
    std::string_view token(token_begin, static_cast<size_t>(p - token_begin));
    if (token != "null" && token != "true" && token != "false" && !isJsonNumber(token)) {
        failRow(fmt::format("expected a JSON value, got {}",
                            shown(token.empty() ? std::string_view(p, 1) : token)));
    }
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

std::string_view RowReader::undoubleQuotes(const char* begin, const char* end) {
    size_t offset = unescaped_.size();
    for (const char* p = begin; p < end; ++p) {
        unescaped_ += *p;
        if (*p == '"') {
            ++p;  // the second quote of a pair
        }
    }
    return std::string_view(unescaped_).substr(offset);
}

void RowReader::storeValue(int column, std::string_view text, Arena arena) {
    Slot& slot = slots_[column];
    slot.omitted = false;
    slot.is_null = false;
    size_t before = canonical_.size();
    switch (row_types_[column].check(text, canonical_, problem_)) {
        case ValueType::Verdict::Valid:
            slot.arena = arena;
            if (arena == Arena::Input) {
                slot.data = text.data();
            } else {
                slot.offset = static_cast<size_t>(text.data() - unescaped_.data());
            }
            slot.size = text.size();
            return;
        case ValueType::Verdict::Rewritten:
            slot.arena = Arena::Canonical;
            slot.offset = before;
            slot.size = canonical_.size() - before;
            return;
        case ValueType::Verdict::Invalid:
            failValue(column, text, problem_);
    }
}

void RowReader::storeNull(int column, std::string_view marker) {
    if (!row_types_[column].nullable()) {
        storeDefault(column, marker);
        return;
    }
    Slot& slot = slots_[column];
    slot.is_null = true;
    slot.omitted = false;
}

void RowReader::storeDefault(int column, std::string_view marker) {
    if (allowed_default_fails_[row_allowed_[column]]) {
        failValue(
            column, marker,
            fmt::format("{}; NULL and empty values stand for 0 when the column has no DEFAULT, and 0 is "
                        "not an element",
                        row_types_[column].problemOfZero()));
    }
    Slot& slot = slots_[column];
    slot.is_null = false;
    slot.omitted = true;
}

void RowReader::failRow(std::string message) const {
    if (with_names_ && !header_read_) {
        failHeader(std::move(message));
    }
    throw RowError(rows_ + 1, {}, fmt::format("Cannot parse input: row {}: {}", rows_ + 1, message));
}

void RowReader::failValue(int column, std::string_view text, std::string_view problem) const {
    throw RowError(rows_ + 1, row_names_[column],
                   fmt::format("Cannot parse input: row {}, column `{}` ({}): {}, got {}", rows_ + 1,
                               row_names_[column], row_types_[column].name(), problem, shown(text)));
}

void RowReader::failHeader(std::string message) const {
    throw RowError(
        0, {}, fmt::format("Cannot parse input: the header line of {}: {}", formatName(format_), message));
}

}  // namespace chfleet::ingest
