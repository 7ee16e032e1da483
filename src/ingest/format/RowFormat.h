#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/Exception.h"
#include "topology/Fleet.h"

/// The input formats of `chfleet ingest` and the TabSeparated rows it writes for the shard servers.
namespace chfleet::ingest {

/// The formats an INSERT body may be in. Each name ClickHouse 26.5 accepts for them is accepted, in any case
/// (26.5 looks format names up case-insensitively; 18.16 wanted the exact spelling).
enum class InputFormat {
    JSONEachRow,               ///< also JSONLines, NDJSON, JSONL
    TabSeparated,              ///< also TSV
    TabSeparatedRaw,           ///< also TSVRaw: no escapes
    TabSeparatedWithNames,     ///< also TSVWithNames
    TabSeparatedRawWithNames,  ///< also TSVRawWithNames
    CSV,
    CSVWithNames,
};

/// The format of a FORMAT clause, or nullopt for a format ingest does not read.
std::optional<InputFormat> parseFormatName(std::string_view name);
/// The canonical name ("JSONEachRow", "TabSeparated", ...).
std::string_view formatName(InputFormat format);
/// "JSONEachRow (JSONLines, NDJSON, JSONL), TabSeparated (TSV), ...", for an error message.
std::string supportedFormatNames();

/// One value of a row, valid only during the on_row call that receives it: the canonical text of the value
/// (unescaped, unquoted, checked against the column's type and written the way every server version reads
/// alike, see ValueType), NULL, or omitted. Omitted means the column's default: a JSONEachRow key that is
/// absent, JSON null or \N for a column that is not Nullable, an empty unquoted CSV field.
struct FieldValue {
    std::string_view text;
    bool is_null = false;
    bool omitted = false;
};

/// A failure in an INSERT body, named the way ClickHouse names it: the data row (1-based, header lines not
/// counted), the column when one is concerned, and what was wrong. Code BadArguments.
class RowError : public Exception {
  public:
    RowError(size_t row, std::string column, std::string message)
        : Exception(ErrorCode::BadArguments, std::move(message)), row_(row), column_(std::move(column)) {}

    size_t row() const noexcept { return row_; }
    /// Empty when the row as a whole is malformed.
    const std::string& column() const noexcept { return column_; }

  private:
    size_t row_;
    std::string column_;
};

/// What an omitted value of a column is written as.
struct ColumnDefault {
    std::string text;       ///< the value itself (canonical, unescaped), e.g. for routing a row by it
    bool is_null = false;   ///< the default is NULL (`text` is empty)
    std::string tsv;        ///< escaped TabSeparated text; \N for NULL
    bool computed = false;  ///< the column's DEFAULT is an expression ingest cannot evaluate (now(), a + 1):
                            ///< `tsv` is then the type's default, which is what 18.16 stores for an omitted
                            ///< JSONEachRow key, but a modern server would have computed the expression
};

/// The default of `column`: its default_expression when that is a plain literal ('text', a number, NULL),
/// checked and written canonically for the type; else the type's default (empty string, 0, 1970-01-01,
/// 0000000000 for DateTime, the zero UUID, the enum element with the smallest number; NULL when Nullable).
/// Throws Exception(InvalidConfig) when the literal is not a value of the type, Exception(BadArguments) when
/// the type is not supported.
ColumnDefault columnDefault(const topology::Column& column);

/// Appends one row as a TabSeparated line: values escaped as ClickHouse writes them (clickhouse/Quoting.h),
/// \N for NULL, `defaults[i].tsv` for an omitted value. `values` and `defaults` are in the same order.
void appendTabSeparatedRow(std::string& out, std::span<const FieldValue> values,
                           std::span<const ColumnDefault> defaults);

}  // namespace chfleet::ingest
