#include "clickhouse/Result.h"

#include <algorithm>
#include <charconv>
#include <optional>

#include "clickhouse/Quoting.h"
#include "clickhouse/ServerError.h"
#include "common/Exception.h"

namespace chfleet::clickhouse {

namespace {

constexpr std::string_view kNullMarker = "\\N";

std::vector<std::string_view> splitFields(std::string_view line) {
    std::vector<std::string_view> fields;
    size_t start = 0;
    while (true) {
        size_t tab = line.find('\t', start);
        if (tab == std::string_view::npos) {
            fields.push_back(line.substr(start));
            return fields;
        }
        fields.push_back(line.substr(start, tab - start));
        start = tab + 1;
    }
}

/// The type inside Nullable(...) and LowCardinality(...).
std::string_view baseType(std::string_view type) {
    for (std::string_view wrapper : {"Nullable(", "LowCardinality("}) {
        while (type.substr(0, wrapper.size()) == wrapper && type.back() == ')') {
            type = type.substr(wrapper.size(), type.size() - wrapper.size() - 1);
        }
    }
    return type;
}

/// True when no value of `type` can start with "Code: ", so that such a line must be an exception.
bool cannotLookLikeException(std::string_view type) {
    type = baseType(type);
    for (std::string_view prefix : {"UInt", "Int", "Float", "Decimal", "Date", "Bool", "UUID", "IPv"}) {
        if (type.substr(0, prefix.size()) == prefix) {
            return true;
        }
    }
    return false;
}

template <typename T>
std::optional<T> parseNumber(std::string_view text) {
    T value{};
    if (text.empty()) {
        return std::nullopt;
    }
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return value;
}

}  // namespace

Result Result::parse(std::string_view body, std::string source) {
    Result result;
    result.source_ = std::move(source);

    std::vector<std::string_view> lines;
    size_t start = 0;
    while (start < body.size()) {
        size_t end = body.find('\n', start);
        std::string_view line =
            end == std::string_view::npos ? body.substr(start) : body.substr(start, end - start);
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);  // output_format_tsv_crlf_end_of_line; a \r in a value is escaped
        }
        lines.push_back(line);
        start = end == std::string_view::npos ? body.size() : end + 1;
    }
    bool complete = !body.empty() && body.back() == '\n';

    // A misfit from line `from` on may be an error the server appended after streaming began: it runs from
    // there to the end of the body.
    auto fail = [&](size_t from, const std::string& what) -> Exception {
        size_t offset = static_cast<size_t>(lines[from].data() - body.data());
        if (auto error = parseExceptionText(body.substr(offset))) {
            throw ServerException(error->code, std::move(error->message), result.source_);
        }
        return Exception(ErrorCode::BadResponse, "answer of {} is not TabSeparatedWithNamesAndTypes: {}",
                         result.source_, what);
    };

    if (lines.empty()) {
        throw Exception(ErrorCode::BadResponse,
                        "answer of {} is empty where names and types of columns were expected",
                        result.source_);
    }
    if (lines.size() < 2) {
        throw fail(0, "no line of types");
    }
    for (auto name : splitFields(lines[0])) {
        result.names_.push_back(unescapeTsvField(name));
    }
    for (auto type : splitFields(lines[1])) {
        result.types_.push_back(unescapeTsvField(type));
    }
    if (result.types_.size() != result.names_.size()) {
        throw fail(0, fmt::format("{} types for {} names", result.types_.size(), result.names_.size()));
    }
    bool first_is_numeric = cannotLookLikeException(result.types_[0]);
    size_t columns = result.names_.size();
    for (size_t i = 2; i < lines.size(); ++i) {
        auto fields = splitFields(lines[i]);
        if (fields.size() != columns) {
            throw fail(i, fmt::format("line {} has {} fields for {} columns", i + 1, fields.size(), columns));
        }
        if (first_is_numeric && fields[0].substr(0, 6) == "Code: ") {
            throw fail(i, fmt::format("line {} starts with text in a numeric column", i + 1));
        }
        if (i + 1 == lines.size() && !complete) {
            throw fail(i, fmt::format("line {} is cut off (no line end)", i + 1));
        }
        for (auto field : fields) {
            bool is_null = field == kNullMarker;
            result.nulls_.push_back(is_null);
            result.cells_.push_back(is_null ? std::string() : unescapeTsvField(field));
        }
    }
    return result;
}

bool Result::hasColumn(std::string_view column) const {
    return std::find(names_.begin(), names_.end(), column) != names_.end();
}

size_t Result::columnIndex(std::string_view column) const {
    auto it = std::find(names_.begin(), names_.end(), column);
    if (it == names_.end()) {
        std::string known;
        for (const auto& name : names_) {
            known += known.empty() ? name : ", " + name;
        }
        throw Exception(ErrorCode::BadResponse, "answer of {} has no column '{}' (columns: {})", source_,
                        column, known);
    }
    return static_cast<size_t>(it - names_.begin());
}

size_t Result::cellIndex(size_t row, std::string_view column) const {
    size_t index = columnIndex(column);
    if (row >= rowCount()) {
        throw Exception(ErrorCode::BadResponse,
                        "row {} of column '{}' requested but the answer of {} has {} rows", row, column,
                        source_, rowCount());
    }
    return row * names_.size() + index;
}

void Result::throwBadValue(size_t row, std::string_view column, std::string_view expected) const {
    size_t cell = cellIndex(row, column);
    if (nulls_[cell]) {
        throw Exception(ErrorCode::BadResponse, "column '{}' row {} in the answer of {} is NULL, expected {}",
                        column, row, source_, expected);
    }
    throw Exception(ErrorCode::BadResponse, "column '{}' row {} in the answer of {} is '{}', expected {}",
                    column, row, source_, cells_[cell], expected);
}

bool Result::isNull(size_t row, std::string_view column) const {
    return nulls_[cellIndex(row, column)];
}

const std::string& Result::getString(size_t row, std::string_view column) const {
    size_t cell = cellIndex(row, column);
    if (nulls_[cell]) {
        throwBadValue(row, column, "a string");
    }
    return cells_[cell];
}

uint64_t Result::getUInt64(size_t row, std::string_view column) const {
    size_t cell = cellIndex(row, column);
    // from_chars takes no sign for an unsigned type, so "-1" is rejected rather than wrapped.
    auto value = nulls_[cell] ? std::nullopt : parseNumber<uint64_t>(cells_[cell]);
    if (!value) {
        throwBadValue(row, column, "an unsigned 64-bit integer");
    }
    return *value;
}

int64_t Result::getInt64(size_t row, std::string_view column) const {
    size_t cell = cellIndex(row, column);
    auto value = nulls_[cell] ? std::nullopt : parseNumber<int64_t>(cells_[cell]);
    if (!value) {
        throwBadValue(row, column, "a signed 64-bit integer");
    }
    return *value;
}

double Result::getDouble(size_t row, std::string_view column) const {
    size_t cell = cellIndex(row, column);
    auto value = nulls_[cell] ? std::nullopt : parseNumber<double>(cells_[cell]);
    if (!value) {
        throwBadValue(row, column, "a number");
    }
    return *value;
}

bool Result::getBool(size_t row, std::string_view column) const {
    size_t cell = cellIndex(row, column);
    const auto& text = cells_[cell];
    if (!nulls_[cell]) {
        if (text == "1" || text == "true") {
            return true;
        }
        if (text == "0" || text == "false") {
            return false;
        }
    }
    throwBadValue(row, column, "0/1 or false/true");
}

Result query(Connection& connection, std::string_view select, const Settings& settings) {
    // A trailing ';' would end the statement before the FORMAT clause.
    size_t end = select.find_last_not_of(" \t\r\n;");
    std::string sql(select.substr(0, end == std::string_view::npos ? 0 : end + 1));
    sql += " FORMAT TabSeparatedWithNamesAndTypes";
    return Result::parse(connection.execute(sql, {}, settings), connection.describe());
}

void execute(Connection& connection, std::string_view sql, const Settings& settings) {
    connection.execute(sql, {}, settings);
}

std::string scalar(Connection& connection, std::string_view select, const Settings& settings) {
    auto result = query(connection, select, settings);
    if (result.rowCount() != 1 || result.columnCount() != 1) {
        throw Exception(ErrorCode::BadResponse,
                        "{} answered {} rows of {} columns where one value was expected",
                        connection.describe(), result.rowCount(), result.columnCount());
    }
    return result.getString(0, result.names()[0]);
}

}  // namespace chfleet::clickhouse
