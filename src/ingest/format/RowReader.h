#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/Text.h"
#include "ingest/format/RowFormat.h"
#include "ingest/format/ValueType.h"
#include "topology/Fleet.h"

namespace chfleet::ingest {

/// Reads the body of `INSERT INTO t [(columns)] FORMAT fmt` the way a ClickHouse server reads it, one chunk
/// at a time, and hands out each complete row with every value checked against its column's type (see
/// ValueType for the grammar of each type and FieldValue for what a value is). Rows may straddle chunks; the
/// reader keeps the incomplete tail and copies nothing else. A row is handed out by the feed() that completes
/// it (a row of 4 KiB or more may wait until the tail has doubled). A reader serves one body; after it
/// threw, it is done.
///
/// What each format accepts (as ClickHouse 26.5 does, differences noted):
/// - JSONEachRow: objects one after another, separated by whitespace and at most one comma, or all of them
///   inside one JSON array; a UTF-8 byte order mark at the start is skipped. Keys are the column names; an
///   absent key is omitted (the column's default), a repeated key is an error, an unknown key is an error
///   unless skip_unknown_fields. Values: strings (\uXXXX escapes and surrogate pairs become UTF-8; a lone
///   surrogate or a bad hex digit is an error, 26.5 stores junk), numbers bare or quoted, true/false for
///   number and String columns, null (NULL, or the default when the column is not Nullable), a bare day
///   number for Date. Objects and arrays are refused as values (26.5 stores their text in String columns).
/// - TabSeparated (TabSeparatedRaw: no escapes): one row per line, fields separated by tabs, ClickHouse's
///   escapes (\t \n \\ \xHH ...; \N alone is NULL, or the default when the column is not Nullable). A
///   line ending in \r is an error (Windows line ends), as in ClickHouse.
/// - CSV: fields separated by commas, lines by \n or \r\n; a field in double quotes may hold anything, ""
///   is a quote; spaces and tabs around a field are ignored; an empty unquoted field is omitted,
///   an unquoted \N right before the separator is NULL (or the default). A quoted field that the end of the
///   body cuts off is an error (26.5 takes it as it is).
/// - *WithNames: the first line names the columns of the rows that follow; an unknown name is an error
///   unless skip_unknown_fields (its values are then skipped), a repeated name is an error.
/// - Empty lines at the end of a TabSeparated or CSV body are ignored (26.5 refuses them when rows have more
///   than one column); an empty line in between is a row of one empty value, so an error unless the rows
///   have a single column.
/// - As in ClickHouse, NULL or an empty CSV value for an Enum column without DEFAULT is an error unless the
///   Enum has an element numbered 0 (ClickHouse reads them as 0).
class RowReader {
  public:
    using RowCallback = std::function<void(std::span<const FieldValue>)>;

    /// `columns`: the table's columns. `insert_columns`: the column list of the INSERT, empty for all
    /// columns. Throws Exception(BadArguments) for an unknown or repeated column in `insert_columns` and for
    /// a column whose type ingest does not support, Exception(InvalidConfig) for a DEFAULT literal that is
    /// not a value of its column's type.
    /// `parse_at_bytes`: how much data is gathered before it is parsed (tests pass 1 to parse at every cut).
    RowReader(InputFormat format, const std::vector<topology::Column>& columns,
              std::vector<std::string> insert_columns, bool skip_unknown_fields,
              size_t parse_at_bytes = kParseAtBytes);

    static constexpr size_t kParseAtBytes = 64 << 10;

    /// Reads the next chunk of the body and calls `on_row` for each row it completes, with the values in the
    /// order of rowColumns(). Throws RowError for a malformed row or a value that does not fit its column.
    void feed(std::string_view chunk, const RowCallback& on_row);
    /// The end of the body: reads the last row (which needs no final newline). A truncated row is a RowError.
    void finish(const RowCallback& on_row);

    /// The columns each row carries: the INSERT's column list (or all columns of the table), or for the
    /// *WithNames formats the columns the header names, once the header was read.
    const std::vector<std::string>& rowColumns() const { return row_names_; }
    /// Appends a row as on_row received it as a TabSeparated line (appendTabSeparatedRow with, for each of
    /// rowColumns(), what an omitted value is written as).
    void appendTabSeparated(std::string& out, std::span<const FieldValue> row) const;

    size_t rowsRead() const { return rows_; }
    InputFormat format() const { return format_; }

    /// Reading one body on several threads (RequestRouter cuts it into stretches at line ends):
    ///
    /// True once a copy of this reader can read on from a row boundary: the header of a *WithNames format
    /// and the start of a JSON body are read, and the rows are not the elements of one JSON array (whose
    /// commas tie each row to the one before).
    bool splittable() const;
    /// Takes the data fed but not parsed yet (the start of an incomplete row); the reader holds none after.
    std::string takeUnparsed();
    /// A reader with this one's columns and state, to read from a row boundary on with buffers of its own;
    /// its rows are numbered from `rows_before` + 1 in errors.
    RowReader continuation(size_t rows_before) const;
    /// Reads `data`, which starts at a row boundary, in place (no copy): as feed() would when `final` is
    /// false, as feed() then finish() would when it is true. Returns the bytes the complete rows took; the
    /// rest is the start of a row that goes on after `data`, or what may lie between rows.
    size_t readStretch(std::string_view data, bool final, const RowCallback& on_row);
    /// True when `rest`, the end of a stretch after its complete rows, is only what may lie between rows
    /// (nothing; whitespace in JSONEachRow), so that the next stretch starts at a row boundary.
    bool onlyBetweenRows(std::string_view rest) const;

  private:
    enum class Step { Row, Header, End };
    enum class Arena : uint8_t { Input, Unescaped, Canonical };

    /// Where the value of one row column is while the row is being read (arenas may grow and move).
    struct Slot {
        Arena arena = Arena::Input;
        bool is_null = false;
        bool omitted = true;
        const char* data = nullptr;  ///< Arena::Input
        size_t offset = 0;           ///< other arenas
        size_t size = 0;
    };

    // RowReader.cpp: streaming, storing values, errors.

    size_t parse(std::string_view data, bool final, const RowCallback& on_row);
    Step step(const char*& p, const char* end, bool final);
    inline void beginRow();  ///< defined in RowReaderInternals.h, for the readers of each format
    void emitRow(const RowCallback& on_row);

    /// Checks the text of a value of row column `column` and records where its canonical text is. `arena`
    /// is where `text` lies (Input or Unescaped).
    void storeValue(int column, std::string_view text, Arena arena);
    /// NULL, or the default when the column is not Nullable. `marker` is the text that said so, for errors.
    void storeNull(int column, std::string_view marker);
    /// The column's default (an empty CSV value, a NULL for a column that is not Nullable).
    void storeDefault(int column, std::string_view marker);

    [[noreturn]] void failRow(std::string message) const;
    [[noreturn]] void failValue(int column, std::string_view text, std::string_view problem) const;
    [[noreturn]] void failHeader(std::string message) const;

    // DelimitedRowReader.cpp: the TabSeparated and CSV formats, read by one piece of code that differs only
    // in how a field is scanned and what its text means (chosen at compile time by the delimiter).

    enum class Delimiter : char { Tab = '\t', Comma = ',' };

    /// One field of a TabSeparated or CSV line as it is in the data.
    struct RawField {
        const char* begin = nullptr;
        const char* stop = nullptr;
        bool quoted = false;   ///< CSV: in double quotes
        bool escaped = false;  ///< holds escapes (TSV) or doubled quotes (CSV)
        bool trimmed = false;  ///< CSV: spaces or tabs followed the value (so \N  is text, not NULL)
    };

    template <Delimiter kDelimiter>
    Step readDelimitedRow(const char*& p, const char* end, bool final);
    /// The header line of the *WithNames formats: its names choose and order the row columns.
    template <Delimiter kDelimiter>
    Step readHeader(const char*& p, const char* end, bool final);
    /// Makes the columns `names` (the header line) the row columns.
    void useHeader(const std::vector<std::string>& names);
    /// True (and `p` at `end`) when nothing but line ends remains (trailing empty lines are ignored).
    template <Delimiter kDelimiter>
    bool onlyLineEndsRemain(const char*& p, const char* end, bool final) const;

    /// Reads a field and the separator after it; true when that ended the line (or the data).
    template <Delimiter kDelimiter>
    bool readField(const char*& p, const char* end, bool final, RawField& field) const;
    /// Reads a field up to its separator, which it leaves at `p`.
    void scanTsvField(const char*& p, const char* end, bool final, RawField& field) const;
    void scanCsvField(const char*& p, const char* end, bool final, RawField& field) const;
    /// Consumes the separator after a field; true when it ended the line (or the data).
    bool endTsvField(const char*& p, const char* end, const RawField& field) const;
    bool endCsvField(const char*& p, const char* end, bool final) const;

    /// The text of an escaped field with its escapes (TSV: unescapeTsv) or doubled quotes (CSV:
    /// undoubleQuotes) undone.
    template <Delimiter kDelimiter>
    std::string_view unescapeField(int column, const RawField& field);
    /// Undo TSV escapes as ClickHouse does; the result lies in unescaped_. `column` names the value in an
    /// error (-1: the header).
    std::string_view unescapeTsv(int column, const char* begin, const char* end);
    std::string_view undoubleQuotes(const char* begin, const char* end);

    // JsonRowReader.cpp: the JSONEachRow format.

    Step readJsonRow(const char*& p, const char* end, bool final);
    void readJsonString(const char*& p, const char* end, bool final, const char*& begin, const char*& stop,
                        bool& escaped) const;
    void readJsonValue(const char*& p, const char* end, bool final, int column);
    void skipJsonValue(const char*& p, const char* end, bool final);
    /// The row column of a JSON key, or -1 to skip its value (unknown, skip_unknown_fields); throws for an
    /// unknown key otherwise.
    int lookupJsonKey(std::string_view key);
    void unescapeJson(const char* begin, const char* end, std::string& out) const;

    InputFormat format_;
    bool skip_unknown_fields_;
    bool with_names_;
    bool escaped_tsv_;

    std::vector<std::string> allowed_names_;  ///< the columns rows may carry (insert list or all)
    std::vector<ValueType> allowed_types_;
    std::vector<ColumnDefault> allowed_defaults_;
    std::vector<bool> allowed_default_fails_;  ///< NULL is an error (Enum without 0 and without DEFAULT)
    text::StringMap<int> allowed_index_;

    std::vector<std::string> row_names_;
    std::vector<ValueType> row_types_;
    std::vector<ColumnDefault> row_defaults_;
    std::vector<int> row_allowed_;   ///< row column -> allowed column
    std::vector<int> field_column_;  ///< field position of a line -> row column, -1 to skip (TSV/CSV)
    bool header_read_ = false;

    bool json_prefix_read_ = false;
    bool json_in_array_ = false;
    int json_next_key_ = 0;  ///< guess of the next key's row column (keys usually come in one order)

    std::vector<Slot> slots_;
    std::vector<FieldValue> values_;
    std::vector<size_t> seen_;  ///< attempt that last set each row column (repeated JSON keys)
    size_t attempt_ = 0;        ///< counts row starts, retries included
    std::string unescaped_;
    std::string canonical_;
    std::string key_;
    std::string problem_;

    size_t parse_at_bytes_;
    std::string buffer_;     ///< the incomplete tail of the data fed so far
    size_t retry_size_ = 0;  ///< parse the buffer again once it holds this much (amortizes long rows)
    size_t rows_ = 0;
    bool finished_ = false;
};

}  // namespace chfleet::ingest
