// RowReader's own part: choosing the columns, streaming the chunks of a body through the reader of its format
// (parse, step), storing each value checked against its column's type, handing out rows, and the errors.
// The readers of the formats are in JsonRowReader.cpp and DelimitedRowReader.cpp.
#include "ingest/format/RowReader.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "clickhouse/Quoting.h"
#include "ingest/format/RowReaderInternals.h"

namespace chfleet::ingest {

namespace {

using row_reading::isJsonSpace, row_reading::NeedMoreData, row_reading::shown;

constexpr size_t kShownBytes = 40;

}  // namespace

std::string row_reading::shown(std::string_view text) {
    if (text.size() <= kShownBytes) {
        return clickhouse::quoteString(text);
    }
    return clickhouse::quoteString(text.substr(0, kShownBytes)) + "...";
}

std::string row_reading::shownAt(const char* p, const char* end) {
    if (p >= end) {
        return "the end of the data";
    }
    return shown(std::string_view(p, std::min<size_t>(end - p, 20)));
}

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
    bool header = with_names_ && !header_read_;
    switch (format_) {
        case InputFormat::JSONEachRow:
            return readJsonRow(p, end, final);
        case InputFormat::CSV:
        case InputFormat::CSVWithNames:
            return header ? readHeader<Delimiter::Comma>(p, end, final)
                          : readDelimitedRow<Delimiter::Comma>(p, end, final);
        default:
            return header ? readHeader<Delimiter::Tab>(p, end, final)
                          : readDelimitedRow<Delimiter::Tab>(p, end, final);
    }
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
