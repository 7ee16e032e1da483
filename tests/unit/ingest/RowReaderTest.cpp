#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "common/Exception.h"
#include "ingest/format/RowReader.h"

namespace chfleet::ingest {
namespace {

using namespace std::string_literals;

const std::vector<topology::Column> event_columns = {
    {"event_id", "UUID", ""},
    {"company_id", "String", ""},
    {"event_type", "Enum8('click' = 1, 'view' = 2)", ""},
    {"ts", "DateTime", ""},
    {"amount", "Decimal(9, 2)", ""},
    {"count", "UInt32", ""},
    {"note", "Nullable(String)", ""},
    {"payload", "String", "'{}'"},
};

const std::vector<topology::Column> two_columns = {{"a", "UInt8", ""}, {"b", "String", ""}};

/// What a reader made of a body: the row columns and the rows as the TabSeparated lines it writes.
struct ReadResult {
    std::vector<std::string> columns;
    std::string tsv;
    size_t rows = 0;
};

/// Reads `body` fed in chunks of `chunk` bytes (0: all at once).
ReadResult readBody(InputFormat format, const std::vector<topology::Column>& columns, std::string_view body,
                    size_t chunk = 0, std::vector<std::string> insert_columns = {},
                    bool skip_unknown = false) {
    RowReader reader(format, columns, std::move(insert_columns), skip_unknown, 1);  // parse at every cut
    ReadResult result;
    auto on_row = [&](std::span<const FieldValue> row) {
        EXPECT_EQ(row.size(), reader.rowColumns().size());
        reader.appendTabSeparated(result.tsv, row);
    };
    if (chunk == 0) {
        reader.feed(body, on_row);
    } else {
        for (size_t offset = 0; offset < body.size(); offset += chunk) {
            reader.feed(body.substr(offset, chunk), on_row);
        }
    }
    reader.finish(on_row);
    result.columns = reader.rowColumns();
    result.rows = reader.rowsRead();
    EXPECT_EQ(std::count(result.tsv.begin(), result.tsv.end(), '\n'), static_cast<long>(result.rows));
    return result;
}

std::string tsvOf(InputFormat format, const std::vector<topology::Column>& columns, std::string_view body,
                  std::vector<std::string> insert_columns = {}, bool skip_unknown = false) {
    return readBody(format, columns, body, 0, std::move(insert_columns), skip_unknown).tsv;
}

/// The RowError a body causes.
RowError errorOf(InputFormat format, const std::vector<topology::Column>& columns, std::string_view body,
                 std::vector<std::string> insert_columns = {}, bool skip_unknown = false) {
    try {
        readBody(format, columns, body, 0, std::move(insert_columns), skip_unknown);
    } catch (const RowError& e) {
        EXPECT_EQ(e.code(), ErrorCode::BadArguments);
        return e;
    }
    ADD_FAILURE() << "no error for " << body;
    return RowError(0, "", "");
}

std::string messageOf(InputFormat format, const std::vector<topology::Column>& columns, std::string_view body,
                      bool skip_unknown = false) {
    return errorOf(format, columns, body, {}, skip_unknown).what();
}

TEST(RowReaderTest, JsonRowsAreCheckedAndWrittenCanonically) {
    std::string body =
        R"({"event_id":"3F2504E0-4F89-11D3-9A0C-0305E82C3301","company_id":"c1","event_type":"view",)"
        R"("ts":"2024-01-31T12:34:56Z","amount":"1.50","count":7,"note":null,"payload":"{\"k\":1}"})"
        "\n"
        R"({"company_id":"c2","event_type":1,"ts":"2024-01-31 12:34:56","amount":2,"count":"8","note":"n"})";
    auto result = readBody(InputFormat::JSONEachRow, event_columns, body);
    EXPECT_EQ(result.columns, (std::vector<std::string>{"event_id", "company_id", "event_type", "ts",
                                                        "amount", "count", "note", "payload"}));
    EXPECT_EQ(result.rows, 2u);
    EXPECT_EQ(result.tsv,
              "3f2504e0-4f89-11d3-9a0c-0305e82c3301\tc1\tview\t1706704496\t1.5\t7\t\\N\t{\"k\":1}\n"
              "00000000-0000-0000-0000-000000000000\tc2\tclick\t2024-01-31 12:34:56\t2\t8\tn\t{}\n");
}

TEST(RowReaderTest, JsonValuesAsClickHouseReadsThem) {
    const std::vector<topology::Column> columns = {{"i", "Int16", ""},
                                                   {"f", "Float64", ""},
                                                   {"s", "String", ""},
                                                   {"d", "Date", ""},
                                                   {"n", "Nullable(UInt8)", ""}};
    EXPECT_EQ(tsvOf(InputFormat::JSONEachRow, columns, R"({"i":-5,"f":1e3,"s":12.5,"d":19000,"n":"7"})"),
              "-5\t1e3\t12.5\t2022-01-08\t7\n");
    EXPECT_EQ(
        tsvOf(InputFormat::JSONEachRow, columns, R"({"i":true,"f":false,"s":true,"d":"2024-01-31","n":""})"),
        "1\t0\ttrue\t2024-01-31\t0\n");
    EXPECT_EQ(tsvOf(InputFormat::JSONEachRow, columns, R"({"i":"","f":"inf","s":"","n":null})"),
              "0\tinf\t\t1970-01-01\t\\N\n");
    EXPECT_EQ(tsvOf(InputFormat::JSONEachRow, columns, R"({"f":NaN,"i":null})"),
              "0\tnan\t\t1970-01-01\t\\N\n");
    EXPECT_EQ(tsvOf(InputFormat::JSONEachRow, columns, " \t{ \"i\" : 1 , \"s\" : \"x\" } \r\n"),
              "1\t0\tx\t1970-01-01\t\\N\n");
}

TEST(RowReaderTest, JsonStringEscapes) {
    const std::vector<topology::Column> columns = {{"s", "String", ""}};
    EXPECT_EQ(
        tsvOf(InputFormat::JSONEachRow, columns, R"({"s":"\ud83d\ude80\u00e9\n\/\"\\\t\b\f\r\u0000x"})"),
        "🚀é\\n/\"\\\\\\t\\b\\f\\r\\0x\n");
    EXPECT_EQ(tsvOf(InputFormat::JSONEachRow, columns, R"({"s":"\q"})"), "q\n");  // as ClickHouse: the byte
    EXPECT_EQ(tsvOf(InputFormat::JSONEachRow, columns, "{\"s\":\"raw\ttab and \xff byte\"}"),
              "raw\\ttab and \xff byte\n");
    EXPECT_EQ(tsvOf(InputFormat::JSONEachRow, columns, R"({"\u0073":"key escaped"})"), "key escaped\n");
    EXPECT_EQ(
        messageOf(InputFormat::JSONEachRow, columns, R"({"s":"\ud83d"})"),
        "Cannot parse input: row 1: bad escape sequence in a JSON string: the high surrogate \\ud83d is not "
        "followed by a low surrogate \\udc00-\\udfff");
    EXPECT_EQ(
        messageOf(InputFormat::JSONEachRow, columns, R"({"s":"\ud83d\u0041"})"),
        "Cannot parse input: row 1: bad escape sequence in a JSON string: the high surrogate \\ud83d is not "
        "followed by a low surrogate \\udc00-\\udfff");
    EXPECT_EQ(
        messageOf(InputFormat::JSONEachRow, columns, R"({"s":"\udc00"})"),
        "Cannot parse input: row 1: bad escape sequence in a JSON string: the low surrogate \\udc00 has no "
        "high surrogate before it");
    EXPECT_EQ(messageOf(InputFormat::JSONEachRow, columns, R"({"s":"\u00zz"})"),
              "Cannot parse input: row 1: bad escape sequence in a JSON string: \\u must be followed by four "
              "hexadecimal digits, got '\\\\u00zz'");
}

TEST(RowReaderTest, JsonRowSeparators) {
    const std::vector<topology::Column> columns = {{"s", "String", ""}};
    EXPECT_EQ(tsvOf(InputFormat::JSONEachRow, columns, R"({"s":"a"}{"s":"b"})"), "a\nb\n");
    EXPECT_EQ(tsvOf(InputFormat::JSONEachRow, columns, "{\"s\":\"a\"},\n{\"s\":\"b\"}\n"), "a\nb\n");
    EXPECT_EQ(tsvOf(InputFormat::JSONEachRow, columns, " [ {\"s\":\"a\"} , {\"s\":\"b\"} ] \n"), "a\nb\n");
    EXPECT_EQ(tsvOf(InputFormat::JSONEachRow, columns, "[]"), "");
    EXPECT_EQ(tsvOf(InputFormat::JSONEachRow, columns, "\xEF\xBB\xBF{\"s\":\"bom\"}"), "bom\n");
    EXPECT_EQ(tsvOf(InputFormat::JSONEachRow, columns, "\n\n"), "");
    EXPECT_EQ(tsvOf(InputFormat::JSONEachRow, columns, ""), "");
    EXPECT_EQ(messageOf(InputFormat::JSONEachRow, columns, R"({"s":"a"},,{"s":"b"})"),
              "Cannot parse input: row 2: expected '{' at the start of a row, got ',{\"s\":\"b\"}'");
    EXPECT_EQ(messageOf(InputFormat::JSONEachRow, columns, R"({"s":"a"};{"s":"b"})"),
              "Cannot parse input: row 2: expected '{' at the start of a row, got ';{\"s\":\"b\"}'");
    EXPECT_EQ(messageOf(InputFormat::JSONEachRow, columns, R"([{"s":"a"})"),
              "Cannot parse input: row 2: the JSON array of rows is not closed (a ] is missing)");
    EXPECT_EQ(messageOf(InputFormat::JSONEachRow, columns, R"([{"s":"a"}]])"),
              "Cannot parse input: row 2: expected nothing after the ] that closes the JSON array of rows, "
              "got ']'");
    EXPECT_EQ(messageOf(InputFormat::JSONEachRow, columns, R"([{"s":"a"} {"s":"b"}])"),
              "Cannot parse input: row 2: expected ',' or ']' between the rows of the JSON array, got "
              "'{\"s\":\"b\"}]'");
}

TEST(RowReaderTest, MalformedJsonNamesTheRow) {
    const std::vector<topology::Column> columns = {{"a", "UInt8", ""}, {"s", "String", ""}};
    auto message = [&](std::string_view body) { return messageOf(InputFormat::JSONEachRow, columns, body); };
    EXPECT_EQ(message("{\"a\":1}\n{\"a\":2,}"),
              "Cannot parse input: row 2: expected a key in double quotes, got '}'");
    EXPECT_EQ(message(R"({"a" 1})"), "Cannot parse input: row 1: expected ':' after the key 'a', got '1}'");
    EXPECT_EQ(message(R"({'a':1})"),
              "Cannot parse input: row 1: expected a key in double quotes, got '\\'a\\':1}'");
    EXPECT_EQ(message(R"({"a":1 "s":"x"})"),
              "Cannot parse input: row 1: expected ',' or '}' after the value of `a`, got '\"s\":\"x\"}'");
    EXPECT_EQ(message(R"({"s":"x)"),
              "Cannot parse input: row 1: the data ends inside a JSON string (a closing \" is missing)");
    EXPECT_EQ(
        message(R"({"a":1)"),
        "Cannot parse input: row 1: the data ends in the middle of a row (a JSON object is not closed)");
    EXPECT_EQ(message(R"({"a":1} garbage)"),
              "Cannot parse input: row 2: expected '{' at the start of a row, got 'garbage'");
    EXPECT_EQ(message(R"({"a":tru})"),
              "Cannot parse input: row 1, column `a` (UInt8): expected an integer from 0 to 255, got 'tru'");
    EXPECT_EQ(message(R"({"s":nul})"),
              "Cannot parse input: row 1, column `s` (String): expected a string, a number, true, false or "
              "null, got 'nul'");
    EXPECT_EQ(message(R"({"s":{"x":1}})"),
              "Cannot parse input: row 1, column `s` (String): expected a string, a number, true, false or "
              "null, not "
              "a JSON object, got '{'");
    EXPECT_EQ(message(R"({"s":[1]})"),
              "Cannot parse input: row 1, column `s` (String): expected a string, a number, true, false or "
              "null, not "
              "a JSON array, got '['");
    EXPECT_EQ(message(R"({"a":1,"a":2})"), "Cannot parse input: row 1: the key `a` appears twice in the row");
}

TEST(RowReaderTest, JsonValueErrorsNameRowAndColumn) {
    auto error = errorOf(InputFormat::JSONEachRow, event_columns,
                         "{\"ts\":\"2024-01-31 00:00:00\"}\n{\"ts\":\"2024-13-01\"}\n");
    EXPECT_EQ(error.row(), 2u);
    EXPECT_EQ(error.column(), "ts");
    EXPECT_STREQ(error.what(),
                 "Cannot parse input: row 2, column `ts` (DateTime): expected YYYY-MM-DD hh:mm:ss or a unix "
                 "timestamp, from 1970-01-01 00:00:00 to 2106-02-07 06:28:15, got '2024-13-01'");
    EXPECT_EQ(messageOf(InputFormat::JSONEachRow, event_columns, R"({"count":-1})"),
              "Cannot parse input: row 1, column `count` (UInt32): expected an integer from 0 to 4294967295, "
              "got '-1'");
    EXPECT_EQ(messageOf(InputFormat::JSONEachRow, event_columns, R"({"count":1.5})"),
              "Cannot parse input: row 1, column `count` (UInt32): expected an integer from 0 to 4294967295, "
              "got '1.5'");
    EXPECT_EQ(
        messageOf(InputFormat::JSONEachRow, event_columns, R"({"event_type":"buy"})"),
        "Cannot parse input: row 1, column `event_type` (Enum8('click' = 1, 'view' = 2)): expected one of "
        "'click', 'view' or its number, got 'buy'");
    EXPECT_EQ(messageOf(InputFormat::JSONEachRow, event_columns, R"({"event_id":123})"),
              "Cannot parse input: row 1, column `event_id` (UUID): expected a JSON string, got '123'");
    EXPECT_EQ(
        messageOf(InputFormat::JSONEachRow, event_columns, R"({"amount":"12345678.9"})"),
        "Cannot parse input: row 1, column `amount` (Decimal(9, 2)): expected at most 7 digits before the "
        "decimal point for Decimal(9, 2), got '12345678.9'");
}

TEST(RowReaderTest, AbsentKeysAndNullsTakeTheDefault) {
    // An absent key and null for a column that is not Nullable are omitted: the writer puts the DEFAULT
    // literal or the type's default; null for a Nullable column is NULL.
    auto result = readBody(InputFormat::JSONEachRow, event_columns,
                           R"({"company_id":null,"ts":null,"payload":null,"note":null})");
    EXPECT_EQ(result.tsv, "00000000-0000-0000-0000-000000000000\t\tclick\t0000000000\t0\t0\t\\N\t{}\n");
    EXPECT_EQ(tsvOf(InputFormat::JSONEachRow, event_columns, "{}"),
              "00000000-0000-0000-0000-000000000000\t\tclick\t0000000000\t0\t0\t\\N\t{}\n");
    // As in ClickHouse, NULL for an Enum column without 0 and without DEFAULT is an error (it reads it as 0).
    EXPECT_EQ(
        messageOf(InputFormat::JSONEachRow, event_columns, R"({"event_type":null})"),
        "Cannot parse input: row 1, column `event_type` (Enum8('click' = 1, 'view' = 2)): expected one of "
        "'click', 'view' or its number; NULL and empty values stand for 0 when the column has no DEFAULT, "
        "and 0 is not an element, got 'null'");
    const std::vector<topology::Column> enums = {{"e", "Enum8('a' = 1)", "'a'"},
                                                 {"z", "Enum8('y' = 1, 'z' = 0)", ""}};
    EXPECT_EQ(tsvOf(InputFormat::CSV, enums, ",\n\\N,\\N\n"), "a\tz\na\tz\n");
}

TEST(RowReaderTest, UnknownJsonKeys) {
    const std::vector<topology::Column> columns = {{"a", "UInt8", ""}};
    auto error = errorOf(InputFormat::JSONEachRow, columns, R"({"a":1,"zz":2})");
    EXPECT_EQ(error.row(), 1u);
    EXPECT_EQ(error.column(), "zz");
    EXPECT_STREQ(
        error.what(),
        "Cannot parse input: row 1: unknown key `zz`: the INSERT has no such column (its columns: a; the "
        "setting input_format_skip_unknown_fields=1 skips unknown keys)");
    EXPECT_EQ(tsvOf(InputFormat::JSONEachRow, columns,
                    R"({"x":{"y":[1,{"z":"]}"}],"w":"}"},"a":1,"n":null,"t":true,"f":-1.5e3,"s":"\"\\"})", {},
                    true),
              "1\n");
    EXPECT_EQ(messageOf(InputFormat::JSONEachRow, columns, R"({"x":bad,"a":1})", true),
              "Cannot parse input: row 1: expected a JSON value, got 'bad'");
    // Keys of table columns left out of the INSERT's column list are unknown too.
    EXPECT_EQ(errorOf(InputFormat::JSONEachRow, two_columns, R"({"a":1,"b":"x"})", {"a"}).column(), "b");
    EXPECT_EQ(tsvOf(InputFormat::JSONEachRow, two_columns, R"({"a":1,"b":"x"})", {"a"}, true), "1\n");
}

TEST(RowReaderTest, TabSeparatedEscapesAsClickHouse) {
    const std::vector<topology::Column> columns = {{"s", "String", ""}, {"n", "Nullable(String)", ""}};
    // \N alone is NULL; inside a value it stands for nothing. Unknown escapes keep their backslash, escaped
    // control bytes (tab, newline) are the bytes themselves.
    EXPECT_EQ(tsvOf(InputFormat::TabSeparated, columns,
                    "a\\tb\\x41\\\\\\'\\q\\:\\/\\=\\a\\e\\0\\Nz\t\\N\n"
                    "tab\\\there\tline\\\nbreak\n"
                    "\\\\N\t\n"),
              "a\\tbA\\\\\\'\\\\q\\\\:/=\a\x1B\\0z\t\\N\n"
              "tab\\there\tline\\nbreak\n"
              "\\\\N\t\n");
    EXPECT_EQ(tsvOf(InputFormat::TabSeparated, columns, "last\trow"), "last\trow\n");
    EXPECT_EQ(tsvOf(InputFormat::TabSeparated, columns, "a\tb\n\n\n"), "a\tb\n");
    EXPECT_EQ(
        messageOf(InputFormat::TabSeparated, columns, "a\tb\\"),
        "Cannot parse input: row 1: the data ends with a lone backslash (an unfinished escape sequence)");
    EXPECT_EQ(messageOf(InputFormat::TabSeparated, columns, "a\\x4\tb\n"),
              "Cannot parse input: row 1, column `s` (String): bad escape sequence \\x (two hexadecimal "
              "digits must "
              "follow), got 'a\\\\x4'");
}

TEST(RowReaderTest, TabSeparatedLines) {
    auto message = [&](std::string_view body) {
        return messageOf(InputFormat::TabSeparated, two_columns, body);
    };
    EXPECT_EQ(tsvOf(InputFormat::TabSeparated, two_columns, "1\tx\n\t\n\\N\t\\N\n"), "1\tx\n0\t\n0\t\n");
    EXPECT_EQ(message("1\tx\n2\n"),
              "Cannot parse input: row 2: expected 2 tab-separated values in the line, got 1");
    EXPECT_EQ(message("1\tx\ty\n"),
              "Cannot parse input: row 1: expected 2 tab-separated values in the line, got more");
    EXPECT_EQ(message("1\tx\n\n2\ty\n"),
              "Cannot parse input: row 2: expected 2 tab-separated values in the line, got 1");
    EXPECT_EQ(message("1\tx\r\n"),
              "Cannot parse input: row 1: the line ends with a carriage return (\\r, Windows line ends): "
              "TabSeparated lines end with \\n only; write a carriage return inside a value as \\r");
    EXPECT_EQ(message("1 \tx\n"),
              "Cannot parse input: row 1, column `a` (UInt8): expected an integer from 0 to 255, got '1 '");
    EXPECT_EQ(
        message("\\x31\tx\n"),
        "Cannot parse input: row 1, column `a` (UInt8): expected an integer from 0 to 255, got '\\\\x31'");
    // With a single column an empty line is a row (an empty value), except at the end of the body.
    const std::vector<topology::Column> one = {{"s", "String", ""}};
    EXPECT_EQ(tsvOf(InputFormat::TabSeparated, one, "a\n\nb\n\n"), "a\n\nb\n");
}

TEST(RowReaderTest, TabSeparatedRawHasNoEscapes) {
    const std::vector<topology::Column> columns = {{"s", "String", ""}, {"n", "Nullable(String)", ""}};
    EXPECT_EQ(tsvOf(InputFormat::TabSeparatedRaw, columns, "a\\tb\\\t\\N\n"), "a\\\\tb\\\\\t\\N\n");
    EXPECT_EQ(parseFormatName("TSVRaw"), InputFormat::TabSeparatedRaw);
}

TEST(RowReaderTest, CsvQuotingAndEmptyFields) {
    const std::vector<topology::Column> columns = {
        {"a", "UInt8", "5"}, {"b", "String", "'dflt'"}, {"c", "Nullable(String)", ""}};
    EXPECT_EQ(tsvOf(InputFormat::CSV, columns,
                    "1,\"x,\"\"q\"\"\",\\N\n"
                    " 2 , y z ,  \n"
                    "\"3\",\"\",\"\\N\"\r\n"
                    ",,\"multi\nline\"\n"
                    "4,'single',NULL"),
              "1\tx,\"q\"\t\\N\n"
              "2\ty z\t\\N\n"
              "3\t\t\\\\N\n"
              "5\tdflt\tmulti\\nline\n"
              "4\t\\'single\\'\tNULL\n");
    EXPECT_EQ(tsvOf(InputFormat::CSV, columns, "1,a\rb,c\r\n"), "1\ta\\rb\tc\n");
    EXPECT_EQ(tsvOf(InputFormat::CSV, columns, "1,b,c\n\n\r\n"), "1\tb\tc\n");
}

TEST(RowReaderTest, MalformedCsv) {
    auto message = [&](std::string_view body) { return messageOf(InputFormat::CSV, two_columns, body); };
    EXPECT_EQ(message("1,x\n2\n"),
              "Cannot parse input: row 2: expected 2 comma-separated values in the line, got 1");
    EXPECT_EQ(message("1,x,y\n"),
              "Cannot parse input: row 1: expected 2 comma-separated values in the line, got more");
    EXPECT_EQ(
        message("1,\"x\"y\n"),
        "Cannot parse input: row 1: expected ',' or the end of the line after a quoted value, got 'y\\n'");
    EXPECT_EQ(message("1,\"unterminated\n"),
              "Cannot parse input: row 1: a quoted value is not closed (a \" is missing)");
    EXPECT_EQ(message("1;x\n"),
              "Cannot parse input: row 1: expected 2 comma-separated values in the line, got 1");
    EXPECT_EQ(message("1;x,y\n"),
              "Cannot parse input: row 1, column `a` (UInt8): expected an integer from 0 to 255, got '1;x'");
    EXPECT_EQ(message("\"5 \",x\n"),
              "Cannot parse input: row 1, column `a` (UInt8): expected an integer from 0 to 255, got '5 '");
    EXPECT_EQ(message("1,x\n\n2,y\n"),
              "Cannot parse input: row 2: expected 2 comma-separated values in the line, got 1");
}

TEST(RowReaderTest, HeaderNamesTheColumns) {
    auto result = readBody(InputFormat::TabSeparatedWithNames, two_columns, "b\ta\nx\t1\ny\t2\n");
    EXPECT_EQ(result.columns, (std::vector<std::string>{"b", "a"}));
    EXPECT_EQ(result.tsv, "x\t1\ny\t2\n");
    EXPECT_EQ(result.rows, 2u);
    result = readBody(InputFormat::CSVWithNames, two_columns, "\"b\"\nx\n");
    EXPECT_EQ(result.columns, (std::vector<std::string>{"b"}));
    EXPECT_EQ(result.tsv, "x\n");
    result = readBody(InputFormat::TabSeparatedWithNames, two_columns, "a\tb\n");
    EXPECT_EQ(result.columns, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(result.rows, 0u);
    result = readBody(InputFormat::CSVWithNames, two_columns, "");
    EXPECT_EQ(result.rows, 0u);
    result = readBody(InputFormat::TabSeparatedWithNames, two_columns, "b\tzz\tA\nx\t1\t2\n", 0, {}, true);
    EXPECT_EQ(result.columns, (std::vector<std::string>{"b"}));
    EXPECT_EQ(result.tsv, "x\n");

    auto error = errorOf(InputFormat::TabSeparatedWithNames, two_columns, "b\tc\nx\t1\n");
    EXPECT_EQ(error.row(), 0u);
    EXPECT_STREQ(
        error.what(),
        "Cannot parse input: the header line of TabSeparatedWithNames: unknown column `c` (the INSERT's "
        "columns: a, b; the setting input_format_skip_unknown_fields=1 skips the values of unknown "
        "columns)");
    EXPECT_EQ(messageOf(InputFormat::CSVWithNames, two_columns, "a,a\n1,2\n"),
              "Cannot parse input: the header line of CSVWithNames: column `a` is named twice");
    EXPECT_EQ(messageOf(InputFormat::TabSeparatedWithNames, two_columns, "a\tb\n1\n"),
              "Cannot parse input: row 1: expected 2 tab-separated values in the line, got 1");
}

TEST(RowReaderTest, InsertColumnList) {
    auto result = readBody(InputFormat::TabSeparated, event_columns, "c1\t2024-01-31 00:00:00\n", 0,
                           {"company_id", "ts"});
    EXPECT_EQ(result.columns, (std::vector<std::string>{"company_id", "ts"}));
    EXPECT_EQ(result.tsv, "c1\t2024-01-31 00:00:00\n");
    try {
        RowReader(InputFormat::CSV, two_columns, {"a", "zz"}, false);
        FAIL() << "an unknown column was accepted";
    } catch (const Exception& e) {
        EXPECT_EQ(e.code(), ErrorCode::BadArguments);
        EXPECT_STREQ(e.what(),
                     "the INSERT names column `zz`, which the table does not have (its columns: a, b)");
    }
    try {
        RowReader(InputFormat::CSV, two_columns, {"a", "a"}, false);
        FAIL() << "a repeated column was accepted";
    } catch (const Exception& e) {
        EXPECT_STREQ(e.what(), "the INSERT names column `a` twice");
    }
}

TEST(RowReaderTest, UnsupportedTypesAreRefusedUpFront) {
    const std::vector<topology::Column> columns = {{"id", "UInt64", ""}, {"tags", "Array(String)", ""}};
    try {
        RowReader(InputFormat::JSONEachRow, columns, {}, false);
        FAIL() << "Array was accepted";
    } catch (const Exception& e) {
        EXPECT_EQ(e.code(), ErrorCode::BadArguments);
        EXPECT_EQ(std::string(e.what()).rfind(
                      "column `tags`: type Array(String) is not supported by ingest (supported: String, ", 0),
                  0u)
            << e.what();
    }
    // A column the INSERT leaves out does not matter.
    EXPECT_EQ(tsvOf(InputFormat::JSONEachRow, columns, R"({"id":1})", {"id"}), "1\n");
}

TEST(RowReaderTest, RowsMayStraddleChunksAnywhere) {
    struct Case {
        InputFormat format;
        std::vector<topology::Column> columns;
        std::string body;
        std::string rows;  ///< what the whole body gives at once, as TabSeparated
    };
    const std::vector<Case> cases = {
        {InputFormat::JSONEachRow, event_columns,
         "\xEF\xBB\xBF[{\"event_id\":\"3f2504e0-4f89-11d3-9a0c-0305e82c3301\",\"company_id\":"
         "\"c\\u00e9\\ud83d\\ude80\","
         "\"ts\":1706704496,\"amount\":1.5,\"count\":true,\"note\":null,\"payload\":\"\\\"x\\\"\"},\n"
         "{\"company_id\":\"c2\",\"skip\":[1,{\"a\":\"]\"}],\"count\":12}]\n",
         "3f2504e0-4f89-11d3-9a0c-0305e82c3301\tc\xC3\xA9\xF0\x9F\x9A\x80\tclick\t1706704496\t1."
         "5\t1\t\\N\t\"x\"\n"
         "00000000-0000-0000-0000-000000000000\tc2\tclick\t0000000000\t0\t12\t\\N\t{}\n"},
        {InputFormat::TabSeparated, two_columns, "1\ta\\tb\\\\\n2\t\\N\n3\tline\\\nbreak\n\n",
         "1\ta\\tb\\\\\n2\t\n3\tline\\nbreak\n"},
        {InputFormat::CSV, two_columns, "1,\"a,\"\"b\"\r\n2,\\N\n 3 ,\"multi\r\nline\"\r\n4,x",
         "1\ta,\"b\n2\t\n3\tmulti\\r\\nline\n4\tx\n"},
        {InputFormat::CSVWithNames, two_columns, "b,a\r\n\"x\"\"\",1\n", "x\"\t1\n"},
        {InputFormat::TabSeparatedWithNames, two_columns, "b\ta\nx\t1\n", "x\t1\n"},
    };
    for (const auto& test : cases) {
        bool skip = test.format == InputFormat::JSONEachRow;
        std::string whole = readBody(test.format, test.columns, test.body, 0, {}, skip).tsv;
        EXPECT_EQ(whole, test.rows) << formatName(test.format);
        for (size_t chunk : {1, 2, 3, 7, 16}) {
            EXPECT_EQ(readBody(test.format, test.columns, test.body, chunk, {}, skip).tsv, whole)
                << formatName(test.format) << " in chunks of " << chunk;
        }
        for (size_t split = 0; split <= test.body.size(); ++split) {
            RowReader reader(test.format, test.columns, {}, skip, 1);
            std::string tsv;
            auto on_row = [&](std::span<const FieldValue> row) { reader.appendTabSeparated(tsv, row); };
            reader.feed(std::string_view(test.body).substr(0, split), on_row);
            reader.feed(std::string_view(test.body).substr(split), on_row);
            reader.finish(on_row);
            EXPECT_EQ(tsv, whole) << formatName(test.format) << " split at " << split;
        }
    }
}

TEST(RowReaderTest, RowsArriveOnce64KiBAreAtHandAndAPartialRowWaitsForItsEnd) {
    RowReader reader(InputFormat::JSONEachRow, two_columns, {}, false);
    std::vector<std::string> seen;
    auto on_row = [&](std::span<const FieldValue> row) { seen.emplace_back(row[1].text); };
    reader.feed(R"({"a":1,"b":"first"}{"a":2,"b":"sec)", on_row);
    EXPECT_TRUE(seen.empty()) << "small chunks are gathered before they are parsed";
    std::string filler;
    while (filler.size() < (64 << 10)) {
        filler += R"({"a":3,"b":"filler"})";
    }
    reader.feed(R"(ond"})" + filler + R"({"a":4,"b":"la)", on_row);
    size_t filler_rows = filler.size() / std::string_view(R"({"a":3,"b":"filler"})").size();
    ASSERT_EQ(seen.size(), 2 + filler_rows) << "every complete row is read once 64 KiB are at hand";
    EXPECT_EQ(seen[0], "first");
    EXPECT_EQ(seen[1], "second");
    reader.feed(R"(st"})", on_row);
    EXPECT_EQ(seen.size(), 2 + filler_rows);
    reader.finish(on_row);
    EXPECT_EQ(seen.back(), "last");
    EXPECT_EQ(reader.rowsRead(), 3 + filler_rows);

    RowReader truncated(InputFormat::TabSeparated, two_columns, {}, false);
    truncated.feed("1\tx\n2", on_row);
    try {
        truncated.finish(on_row);
        FAIL() << "a truncated row was accepted";
    } catch (const RowError& e) {
        EXPECT_EQ(e.row(), 2u);
        EXPECT_STREQ(e.what(),
                     "Cannot parse input: row 2: expected 2 tab-separated values in the line, got 1");
    }
}

TEST(RowReaderTest, ValuesAreCanonicalForEveryServer) {
    const std::vector<topology::Column> columns = {
        {"d", "Date", ""},          {"t", "DateTime('Europe/Berlin')", ""},
        {"u", "UUID", ""},          {"f", "Float32", ""},
        {"x", "Decimal(9, 3)", ""}, {"e", "Enum16('a' = -300, 'b' = 7)", ""},
        {"z", "FixedString(4)", ""}};
    EXPECT_EQ(tsvOf(InputFormat::CSV, columns,
                    "2024/1/5,2024-01-31T12:00:00,3F2504E04F8911D39A0C0305E82C3301,+.5,1.5e-2,-300,ab\n"),
              "2024-01-05\t2024-01-31 12:00:00\t3f2504e0-4f89-11d3-9a0c-0305e82c3301\t0.5\t0.015\ta\tab\n");
}

/// The rows written before the end or the first error, and the error's text up to the excerpt of the data.
std::pair<std::string, std::string> outcome(InputFormat format, const std::vector<topology::Column>& columns,
                                            std::string_view body, const std::vector<size_t>& cuts) {
    RowReader reader(format, columns, {}, true, 1);
    std::string tsv;
    auto on_row = [&](std::span<const FieldValue> row) { reader.appendTabSeparated(tsv, row); };
    try {
        size_t offset = 0;
        for (size_t cut : cuts) {
            reader.feed(body.substr(offset, cut - offset), on_row);
            offset = cut;
        }
        reader.feed(body.substr(offset), on_row);
        reader.finish(on_row);
    } catch (const RowError& e) {
        // What follows the error in the data ("got '...'") depends on how much of it had arrived.
        std::string message = e.what();
        return {tsv, message.substr(0, message.find(", got '"))};
    }
    return {tsv, ""};
}

TEST(RowReaderTest, ChunkingNeverChangesTheOutcome) {
    // Damaged bodies (bytes replaced by the characters that matter to the formats, bytes dropped, bodies cut
    // short) give the same rows and the same error however they are cut into chunks.
    const std::vector<std::pair<InputFormat, std::string>> samples = {
        {InputFormat::JSONEachRow,
         "[{\"a\":1,\"b\":\"x\\\"y\\u00e9\",\"c\":null},{\"b\":\"\\ud83d\\ude80\",\"a\":\"2\",\"z\":[{\"q\":"
         "1}]}]\n"},
        {InputFormat::JSONEachRow, "{\"a\":3,\"b\":\"plain\"}\n{\"a\":true,\"b\":12.5e1,\"c\":\"n\"}\n"},
        {InputFormat::TabSeparated, "1\tx\\ty\\\\\t\\N\n2\tline\\\nbreak\tz\n"},
        {InputFormat::CSV, "1,\"a,\"\"b\",\\N\r\n2, plain ,\"multi\nline\"\n"},
        {InputFormat::CSVWithNames, "b,a,c\n\"x\",1,\n"},
        {InputFormat::TabSeparatedWithNames, "c\ta\tb\nq\t1\tx\n"},
    };
    const std::vector<topology::Column> columns = {
        {"a", "UInt8", ""}, {"b", "String", ""}, {"c", "Nullable(String)", ""}};
    const std::string specials = "{}[]\",:\\\t\n\r ntu0e";
    std::mt19937 random(20240131);
    for (int round = 0; round < 600; ++round) {
        const auto& [format, sample] = samples[round % samples.size()];
        std::string body = sample;
        int damage = static_cast<int>(random() % 3);
        for (int i = 0; i <= damage && !body.empty(); ++i) {
            size_t position = random() % body.size();
            switch (random() % 3) {
                case 0:
                    body[position] = specials[random() % specials.size()];
                    break;
                case 1:
                    body.erase(position, 1);
                    break;
                default:
                    body.resize(position + 1);
            }
        }
        auto whole = outcome(format, columns, body, {});
        std::vector<size_t> cuts;
        for (size_t cut = 1 + random() % 4; cut < body.size(); cut += 1 + random() % 6) {
            cuts.push_back(cut);
        }
        EXPECT_EQ(outcome(format, columns, body, cuts), whole) << formatName(format) << " " << body;
    }
}

TEST(RowReader, ContinuesInAStretchFromARowBoundaryWithTheRowsBeforeCounted) {
    auto ignore = [](std::span<const FieldValue>) {};
    RowReader json(InputFormat::JSONEachRow, two_columns, {}, false, 1);
    EXPECT_FALSE(json.splittable()) << "the start of the body is not read yet";
    json.feed("{\"a\":1,\"b\":\"x\"}\n{\"a\":2", ignore);
    EXPECT_TRUE(json.splittable());
    EXPECT_EQ(json.takeUnparsed(), "\n{\"a\":2");
    EXPECT_TRUE(json.onlyBetweenRows(" \r\n\t"));
    EXPECT_FALSE(json.onlyBetweenRows(",\n")) << "a comma is read with the row after it";

    RowReader piece = json.continuation(41);
    std::string tsv;
    auto keep = [&](std::span<const FieldValue> row) { piece.appendTabSeparated(tsv, row); };
    std::string stretch = "{\"a\":2,\"b\":\"y\"}\n{\"b\":\"z\",\n\"a\":3}\n{\"a\":4,";
    size_t consumed = piece.readStretch(stretch, false, keep);
    EXPECT_EQ(stretch.substr(consumed), "\n{\"a\":4,") << "the last row goes on in the next stretch";
    EXPECT_EQ(tsv, "2\ty\n3\tz\n");
    EXPECT_EQ(piece.rowsRead(), 43u);
    try {
        piece.continuation(43).readStretch("{\"a\":300}\n", true, ignore);
        FAIL() << "300 is not a UInt8";
    } catch (const RowError& error) {
        EXPECT_EQ(error.row(), 44u);
    }

    RowReader array(InputFormat::JSONEachRow, two_columns, {}, false, 1);
    array.feed("[{\"a\":1},\n{\"a\":2}", ignore);
    EXPECT_FALSE(array.splittable()) << "the rows of one array are tied by commas";

    RowReader named(InputFormat::TabSeparatedWithNames, two_columns, {}, false, 1);
    named.feed("b\t", ignore);
    EXPECT_FALSE(named.splittable());
    named.feed("a\nx\t1\n", ignore);
    EXPECT_TRUE(named.splittable());
    EXPECT_TRUE(named.onlyBetweenRows(""));
    EXPECT_FALSE(named.onlyBetweenRows("\n")) << "an empty line in TabSeparated is a row";
    tsv.clear();
    named.continuation(0).readStretch(
        "y\t2\n", true, [&](std::span<const FieldValue> row) { named.appendTabSeparated(tsv, row); });
    EXPECT_EQ(tsv, "y\t2\n") << "a continuation keeps the header's column order";
}

}  // namespace
}  // namespace chfleet::ingest
