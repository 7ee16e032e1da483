#include <fmt/format.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "../support/EmbeddedEngine.h"
#include "shared/EmbeddedConnection.h"
#include "clickhouse/Quoting.h"
#include "clickhouse/Result.h"
#include "common/Exception.h"
#include "ingest/format/RowReader.h"

namespace chfleet::ingest {
namespace {

using clickhouse::EmbeddedConnection;
using clickhouse::quoteIdentifier;
using clickhouse::quoteString;

/// One INSERT body: the table's structure ("a UInt8, b String"), its format and its bytes.
struct Body {
    std::string structure;
    InputFormat format;
    std::string data;
    bool skip_unknown = false;
};

std::string describe(const Body& body) {
    return fmt::format("{} [{}] {}", formatName(body.format), body.structure, quoteString(body.data));
}

/// "a UInt8, b Enum8('x' = 1, 'y' = 2)" as columns (commas inside parentheses and quotes do not split).
std::vector<topology::Column> columnsOf(std::string_view structure) {
    std::vector<topology::Column> columns;
    int depth = 0;
    bool quoted = false;
    size_t start = 0;
    for (size_t i = 0; i <= structure.size(); ++i) {
        char c = i < structure.size() ? structure[i] : ',';
        if (c == '\'' && (i == 0 || structure[i - 1] != '\\')) {
            quoted = !quoted;
        } else if (!quoted && c == '(') {
            ++depth;
        } else if (!quoted && c == ')') {
            --depth;
        } else if (!quoted && depth == 0 && c == ',') {
            std::string_view part = structure.substr(start, i - start);
            while (part.front() == ' ') {
                part.remove_prefix(1);
            }
            auto space = part.find(' ');
            columns.push_back({std::string(part.substr(0, space)), std::string(part.substr(space + 1)), ""});
            start = i + 1;
        }
    }
    return columns;
}

/// The rows ClickHouse 26.5 stores for `body` (its TabSeparated answer), or nullopt when it refuses it.
std::optional<std::string> engineRows(EmbeddedConnection& engine, const Body& body) {
    try {
        return engine.execute(
            fmt::format("SELECT * FROM format({}, {}, {}) FORMAT TabSeparated", formatName(body.format),
                        quoteString(body.structure), quoteString(body.data)),
            {}, {{"input_format_skip_unknown_fields", body.skip_unknown ? "1" : "0"}});
    } catch (const ServerException&) {
        return std::nullopt;
    }
}

/// The rows ingest makes of `body`, as TabSeparatedWithNames read back by 26.5 with date_time_input_format
/// 'basic' (the strict reading of old servers), or nullopt when ingest refuses the body. The error text is
/// kept in `error`.
std::optional<std::string> ingestRows(EmbeddedConnection& engine, const Body& body,
                                      std::string* error = nullptr) {
    RowReader reader(body.format, columnsOf(body.structure), {}, body.skip_unknown, 1);  // parse as fed
    std::string rows;
    auto on_row = [&](std::span<const FieldValue> row) { reader.appendTabSeparated(rows, row); };
    try {
        reader.feed(body.data, on_row);
        reader.finish(on_row);
    } catch (const RowError& e) {
        if (error != nullptr) {
            *error = e.what();
        }
        return std::nullopt;
    }
    if (reader.rowsRead() == 0) {
        return "";
    }
    std::string header;
    for (const auto& name : reader.rowColumns()) {
        header += (header.empty() ? "" : "\t") + clickhouse::escapeTsvField(name);
    }
    return engine.execute(
        fmt::format("SELECT * FROM format(TabSeparatedWithNames, {}, {}) FORMAT TabSeparated",
                    quoteString(body.structure), quoteString(header + "\n" + rows)),
        {}, {{"date_time_input_format", "basic"}});
}

/// Checks against the ClickHouse 26.5 engine embedded in the process; fails when libchdb.so is absent
/// (skipped only with CHFLEET_SKIP_EMBEDDED_ENGINE=1).
class RowReaderOracleTest : public ::testing::Test {
  protected:
    void SetUp() override { CHFLEET_REQUIRE_EMBEDDED_ENGINE(); }
};

TEST_F(RowReaderOracleTest, WhatClickHouseAcceptsIsStoredAlike) {
    const std::string two = "a UInt8, b String";
    const std::string times = "d Date, t DateTime, u UUID";
    const std::string numbers = "i Int32, f Float64, g Float32, x Decimal(9, 2), y Decimal64(4)";
    const std::string enums = "e Enum8('a' = 1, 'b' = -2, 'c d' = 3), s FixedString(3)";
    const std::string nulls = "n Nullable(UInt8), s Nullable(String), l LowCardinality(Nullable(String))";
    const std::vector<Body> bodies = {
        {two, InputFormat::JSONEachRow, R"({"a":1,"b":"x"}{"a":2,"b":"y"})"},
        {two, InputFormat::JSONEachRow, "{\"a\":1,\"b\":\"x\"},\n{\"a\":2,\"b\":\"y\"}\r\n"},
        {two, InputFormat::JSONEachRow, R"( [ {"a":1,"b":"x"} , {"a":2} ] )"},
        {two, InputFormat::JSONEachRow, "\xEF\xBB\xBF{\"a\":3}"},
        {two, InputFormat::JSONEachRow, R"({"a":"1","b":1.50}{"a":true,"b":true}{"a":false,"b":-2e5})"},
        {two, InputFormat::JSONEachRow, R"({"a":null,"b":null}{}{"a":""})"},
        {two, InputFormat::JSONEachRow, R"({"b":"\ud83d\ude80\u00e9\n\/\\\"\t\b\f\r\u0000!"})"},
        {two, InputFormat::JSONEachRow, R"({"b":"\q","\u0061":7})"},
        {two, InputFormat::JSONEachRow, "{\"b\":\"raw\ttab\xff\"}"},
        {two, InputFormat::JSONEachRow, R"({"z":{"y":[1,{"q":"]}"}]},"a":1,"n":null,"t":[],"w":"x"})", true},
        {times, InputFormat::JSONEachRow,
         R"({"d":"2024-01-31","t":"2024-01-31 12:34:56","u":"3F2504E0-4F89-11D3-9A0C-0305E82C3301"})"},
        {times, InputFormat::JSONEachRow,
         R"({"d":19000,"t":1700000000,"u":"3f2504e04f8911d39a0c0305e82c3301"})"},
        {times, InputFormat::JSONEachRow,
         R"({"d":"2024/1/5","t":"1700000000"}{"d":"20240131","t":"999999999"})"},
        {times, InputFormat::JSONEachRow,
         R"({"t":"2024-01-31T12:34:56Z"}{"t":"2024-01-31 12:34:56.789+05:30"}{"t":"2024-01-31T12:34:56-0800"})"},
        {times, InputFormat::JSONEachRow,
         R"({"t":"2024-01-31"}{"t":"2024-01-31T12:34"}{"t":"2024-1-3 1:2:3"})"},
        {times, InputFormat::JSONEachRow,
         R"({"d":"1970-01-01","t":"2106-02-07 06:28:15"}{"d":"2149-06-06"})"},
        {numbers, InputFormat::JSONEachRow, R"({"i":-5,"f":1.5,"g":"1.5","x":1.555,"y":"-0.00001"})"},
        {numbers, InputFormat::JSONEachRow, R"({"i":"-2147483648","f":1e400,"g":"inf","x":1e2,"y":1.5e-2})"},
        {numbers, InputFormat::JSONEachRow, R"({"i":-0,"f":NaN,"g":-inf,"x":"","y":null}{"f":.5,"x":".5"})"},
        {numbers, InputFormat::JSONEachRow,
         R"({"f":-0,"g":3.4e38,"x":9999999.99,"y":"99999999999999.9999"})"},
        {enums, InputFormat::JSONEachRow, R"({"e":"a","s":"ab"}{"e":-2,"s":"abc"}{"e":"3","s":""})"},
        {"e Enum8('a' = 0, 'b' = 1), s String", InputFormat::JSONEachRow, R"({"e":null}{"s":"x"})"},
        {"e Enum8('a' = 0, 'b' = 1), s String", InputFormat::CSV, ",x\n\\N,y\n"},
        {nulls, InputFormat::JSONEachRow,
         R"({"n":null,"s":null,"l":null}{"n":5,"s":"null","l":"x"}{"n":""})"},
        {two, InputFormat::TabSeparated, "1\tx\n2\ty"},
        {two, InputFormat::TabSeparated,
         "1\ta\\tb\\x41\\N\\\\\\'\\q\\:\\/\\=\\\"\\`\\a\\v\\e\\0z\n2\ttab\\\there\n3\tline\\\nbreak\n"},
        {two, InputFormat::TabSeparated, "\tempty number\n\\N\t\\N\n"},
        {two, InputFormat::TabSeparated, "1\tx\ry\n"},
        {"s String", InputFormat::TabSeparated, "a\n\nb\n"},
        {times, InputFormat::TabSeparated,
         "2024-01-31\t2024-01-31T12:34:56\t3f2504e0-4f89-11d3-9a0c-0305e82c3301\n"
         "2024-1-1\t2024-01-31 12:34:56Z\t00000000-0000-0000-0000-000000000000\n"},
        {numbers, InputFormat::TabSeparated,
         "-7\t-1.5e-3\t+inf\t+1.5\t.5\n\t\t\t\t\n\\N\t1.\t-nan\t1.e1\t0012.30\n"},
        {enums, InputFormat::TabSeparated, "c d\ta\\tb\n-2\t\\0\\0\\0\n"},
        {nulls, InputFormat::TabSeparated, "\\N\t\\N\t\\N\n5\tNULL\t\n\t\t\\\\N\n"},
        {two, InputFormat::TabSeparatedRaw, "1\ta\\tb\\N\n2\t\\N\n"},
        {"n Nullable(String), s String", InputFormat::TabSeparatedRaw, "\\N\t\\N\n"},
        {two, InputFormat::TabSeparatedWithNames, "b\ta\nx\t1\ny\t2\n"},
        {two, InputFormat::TabSeparatedWithNames, "b\nonly b\n"},
        {two, InputFormat::TabSeparatedWithNames, "b\tzz\ta\nx\tskipped\\t\t1\n", true},
        {two, InputFormat::TabSeparatedRawWithNames, "b\ta\nx\\t\t1\n"},
        {"a UInt8, b String, c Nullable(String)", InputFormat::CSV,
         "1,\"x,\"\"q\"\"\",\\N\n 2 , y z ,  "
         "\n\"3\",\"\",\"\\N\"\r\n4,'single',NULL\n5,\"multi\nline\",\n6,a\rb,"
         "\"\"\n"},
        {two, InputFormat::CSV, ",\n\"\",\"\"\n\\N,\\N\n7,a\\nb"},
        {two, InputFormat::CSV, "\"1\" , \"x\" \n"},
        {times, InputFormat::CSV,
         "2024-01-31,\"2024-01-31 12:34:56\",3f2504e0-4f89-11d3-9a0c-0305e82c3301\n"},
        {numbers, InputFormat::CSV, "\"-7\",\"1.5\",inf,\"1.5\",1e2\n"},
        {enums, InputFormat::CSV, "a,ab\n\"c d\",\n3,\"x,y\"\n"},
        {nulls, InputFormat::CSV, "\\N,\\N,\\N\n,,\n5,\"\",\"\"\n \\N, \\N ,\\N\t\n"},
        {"s String", InputFormat::CSV, "a\n\nb\n"},
        {two, InputFormat::CSVWithNames, "\"b\",\"a\"\r\nx,1\r\n"},
        {two, InputFormat::CSVWithNames, "b,zz\n\"x\",\"skipped\"\n", true},
    };
    EmbeddedConnection engine;
    for (const auto& body : bodies) {
        auto expected = engineRows(engine, body);
        ASSERT_TRUE(expected.has_value()) << "26.5 refuses " << describe(body);
        std::string error;
        auto actual = ingestRows(engine, body, &error);
        ASSERT_TRUE(actual.has_value()) << describe(body) << ": " << error;
        EXPECT_EQ(*actual, *expected) << describe(body);
    }
}

TEST_F(RowReaderOracleTest, WhatClickHouseRefusesIsRefused) {
    const std::string two = "a UInt8, b String";
    const std::vector<Body> bodies = {
        {two, InputFormat::JSONEachRow, R"({"a":-1})"},
        {two, InputFormat::JSONEachRow, R"({"a":1.5})"},
        {two, InputFormat::JSONEachRow, R"({"a":1e2})"},
        {two, InputFormat::JSONEachRow, R"({"a":"1.5"})"},
        {two, InputFormat::JSONEachRow, R"({"a":" 1"})"},
        {two, InputFormat::JSONEachRow, R"({"a":"0x10"})"},
        {two, InputFormat::JSONEachRow, R"({"a":1,"a":2})"},
        {two, InputFormat::JSONEachRow, R"({"a":1,"c":3})"},
        {two, InputFormat::JSONEachRow, R"({"a":1,})"},
        {two, InputFormat::JSONEachRow, R"({'a':1})"},
        {two, InputFormat::JSONEachRow, R"({a:1})"},
        {two, InputFormat::JSONEachRow, R"({"a":1 "b":"x"})"},
        {two, InputFormat::JSONEachRow, R"({"b":"x)"},
        {two, InputFormat::JSONEachRow, R"({"a":1};{"a":2})"},
        {two, InputFormat::JSONEachRow, R"({"a":1} garbage)"},
        {two, InputFormat::JSONEachRow, R"({"a":1},,{"a":2})"},
        {two, InputFormat::JSONEachRow, R"([{"a":1})"},
        {two, InputFormat::JSONEachRow, R"([{"a":1}]])"},
        {two, InputFormat::JSONEachRow, R"({"b":"\ud83d"})"},
        {two, InputFormat::JSONEachRow, R"({"b":"\ud83d\u0041"})"},
        {two, InputFormat::JSONEachRow, R"({"a":tru})"},
        {two, InputFormat::JSONEachRow, R"({"b":nul})"},
        {two, InputFormat::JSONEachRow, R"({"a":"null"})"},
        {two, InputFormat::JSONEachRow, R"({"a":[]})"},
        {"u UUID", InputFormat::JSONEachRow, R"({"u":""})"},
        {"u UUID", InputFormat::JSONEachRow, R"({"u":123})"},
        {"s FixedString(3)", InputFormat::JSONEachRow, R"({"s":"abcd"})"},
        {"s FixedString(3)", InputFormat::JSONEachRow, R"({"s":123})"},
        {"e Enum8('a' = 1)", InputFormat::JSONEachRow, R"({"e":"b"})"},
        {"e Enum8('a' = 1)", InputFormat::JSONEachRow, R"({"e":4})"},
        {"d Date", InputFormat::JSONEachRow, R"({"d":"19000"})"},
        {"e Enum8('a' = 1)", InputFormat::JSONEachRow, R"({"e":null})"},
        {"e Enum8('a' = 1), s String", InputFormat::CSV, ",x\n"},
        {"t DateTime", InputFormat::JSONEachRow, R"({"t":1700000000.5})"},
        {two, InputFormat::TabSeparated, "-1\tx\n"},
        {two, InputFormat::TabSeparated, "+1\tx\n"},
        {two, InputFormat::TabSeparated, " 1\tx\n"},
        {two, InputFormat::TabSeparated, "1 \tx\n"},
        {two, InputFormat::TabSeparated, "01\tx\n"},
        {two, InputFormat::TabSeparated, "1.0\tx\n"},
        {two, InputFormat::TabSeparated, "1\tx\ty\n"},
        {two, InputFormat::TabSeparated, "1\n"},
        {two, InputFormat::TabSeparated, "1\tx\r\n"},
        {two, InputFormat::TabSeparated, "1\tx\\"},
        {two, InputFormat::TabSeparated, "1\tx\n\n2\ty\n"},
        {two, InputFormat::TabSeparatedWithNames, "b\tc\nx\t1\n"},
        {two, InputFormat::TabSeparatedWithNames, "a\ta\n1\t2\n"},
        {"x Decimal(9, 2)", InputFormat::TabSeparated, "10000000\n"},
        {"x Decimal(9, 2)", InputFormat::TabSeparated, "inf\n"},
        {"x Decimal(9, 2)", InputFormat::TabSeparated, "1,5\n"},
        {"f Float64", InputFormat::TabSeparated, "0x1p3\n"},
        {"f Float64", InputFormat::TabSeparated, "1.2.3\n"},
        {"d Date", InputFormat::TabSeparated, "24-01-31\n"},
        {"d Date", InputFormat::TabSeparated, "2024-01-31 12:00:00\n"},
        {"d Date", InputFormat::TabSeparated, "\n2024-01-01\n"},
        {"t DateTime", InputFormat::TabSeparated, "2024-02-30 00:00:00\n"},
        {"t DateTime", InputFormat::TabSeparated, "100\n"},
        {"t DateTime", InputFormat::TabSeparated, "12345678901\n"},
        {"t DateTime", InputFormat::TabSeparated, "-1\n"},
        {"t DateTime", InputFormat::TabSeparated, "\n2024-01-01 00:00:00\n"},
        {"u UUID", InputFormat::TabSeparated, "{3f2504e0-4f89-11d3-9a0c-0305e82c3301}\n"},
        {"u UUID", InputFormat::TabSeparated, "3f2504e0-4f89-11d3-9a0c-0305e82c330g\n"},
        {"e Enum8('a' = 1)", InputFormat::TabSeparated, "A\n"},
        {"e Enum8('a' = 1)", InputFormat::TabSeparated, "\na\n"},
        {"x Decimal(9, 2)", InputFormat::CSV, "\" 1.5\"\n"},
        {"n Nullable(UInt8)", InputFormat::TabSeparated, "NULL\n"},
        {"n Nullable(UInt8)", InputFormat::TabSeparated, "\\\\N\n"},
        {two, InputFormat::CSV, "1,x,y\n"},
        {two, InputFormat::CSV, "1\n"},
        {two, InputFormat::CSV, "1,\"x\"y\n"},
        {two, InputFormat::CSV, "1;x\n"},
        {two, InputFormat::CSV, "true,x\n"},
        {two, InputFormat::CSV, "\"5 \",x\n"},
        {two, InputFormat::CSV, "1,x\n\n2,y\n"},
        {"n Nullable(UInt8)", InputFormat::CSV, "NULL\n"},
        {"n Nullable(UInt8)", InputFormat::CSV, "\"\\N\"\n"},
        {two, InputFormat::CSVWithNames, "a,a\n1,2\n"},
    };
    EmbeddedConnection engine;
    for (const auto& body : bodies) {
        EXPECT_EQ(engineRows(engine, body), std::nullopt) << "26.5 accepts " << describe(body);
        EXPECT_EQ(ingestRows(engine, body), std::nullopt) << "ingest accepts " << describe(body);
    }
}

/// Where ingest is deliberately stricter than 26.5: input that 26.5 turns into a different value without a
/// word (wrapped integers, rolled-over or clamped dates, undecodable escapes, objects in strings, a quoted
/// CSV value cut off by the end of the body).
TEST_F(RowReaderOracleTest, WhatClickHouseMangles) {
    struct Mangled {
        Body body;
        std::string stored_by_26_5;
        std::string ingest_error;
    };
    const std::vector<Mangled> cases = {
        {{"a UInt8", InputFormat::TabSeparated, "256\n"},
         "0\n",
         "Cannot parse input: row 1, column `a` (UInt8): expected an integer from 0 to 255, got '256'"},
        {{"a Int8", InputFormat::TabSeparated, "-129\n"},
         "127\n",
         "Cannot parse input: row 1, column `a` (Int8): expected an integer from -128 to 127, got '-129'"},
        {{"a UInt64", InputFormat::JSONEachRow, R"({"a":18446744073709551616})"},
         "0\n",
         "Cannot parse input: row 1, column `a` (UInt64): expected an integer from 0 to "
         "18446744073709551615, got "
         "'18446744073709551616'"},
        {{"a UInt8", InputFormat::JSONEachRow, R"({"a":+1})"},
         "1\n",
         "Cannot parse input: row 1, column `a` (UInt8): expected an integer from 0 to 255, got '+1'"},
        {{"a UInt8", InputFormat::JSONEachRow, R"({"a":"true"})"},
         "1\n",
         "Cannot parse input: row 1, column `a` (UInt8): expected an integer from 0 to 255, got 'true'"},
        {{"f Float64", InputFormat::TabSeparated, "e5\n"},
         "0\n",
         "Cannot parse input: row 1, column `f` (Float64): expected a floating-point number (like -1.5, "
         "2.5e-3, "
         "inf or nan), got 'e5'"},
        {{"d Date", InputFormat::TabSeparated, "2024-02-30\n"},
         "2024-03-01\n",
         "Cannot parse input: row 1, column `d` (Date): expected a date YYYY-MM-DD from 1970-01-01 to "
         "2149-06-06, "
         "got '2024-02-30'"},
        {{"d Date", InputFormat::TabSeparated, "2024-13-01\n"},
         "1970-01-01\n",
         "Cannot parse input: row 1, column `d` (Date): expected a date YYYY-MM-DD from 1970-01-01 to "
         "2149-06-06, "
         "got '2024-13-01'"},
        {{"d Date", InputFormat::TabSeparated, "2299-12-31\n"},
         "2149-06-06\n",
         "Cannot parse input: row 1, column `d` (Date): expected a date YYYY-MM-DD from 1970-01-01 to "
         "2149-06-06, "
         "got '2299-12-31'"},
        {{"t DateTime", InputFormat::TabSeparated, "2024-01-31 25:00:00\n"},
         "2024-02-01 01:00:00\n",
         "Cannot parse input: row 1, column `t` (DateTime): expected YYYY-MM-DD hh:mm:ss or a unix "
         "timestamp, from "
         "1970-01-01 00:00:00 to 2106-02-07 06:28:15, got '2024-01-31 25:00:00'"},
        {{"t DateTime", InputFormat::TabSeparated, "1969-12-31 23:59:59\n"},
         "1970-01-01 00:00:00\n",
         "Cannot parse input: row 1, column `t` (DateTime): expected YYYY-MM-DD hh:mm:ss or a unix "
         "timestamp, from "
         "1970-01-01 00:00:00 to 2106-02-07 06:28:15, got '1969-12-31 23:59:59'"},
        {{"t DateTime", InputFormat::TabSeparated, "4294967296\n"},
         "1970-01-01 00:00:00\n",
         "Cannot parse input: row 1, column `t` (DateTime): expected YYYY-MM-DD hh:mm:ss or a unix "
         "timestamp, from "
         "1970-01-01 00:00:00 to 2106-02-07 06:28:15, got '4294967296'"},
        {{"s String", InputFormat::JSONEachRow, R"({"s":{"k":[1,2]}})"},
         "{\"k\":[1,2]}\n",
         "Cannot parse input: row 1, column `s` (String): expected a string, a number, true, false or null, "
         "not a "
         "JSON object, got '{'"},
        {{"s String", InputFormat::JSONEachRow, R"({"s":"\u00zz"})"},
         "\xe1\x83\xaf\n",
         "Cannot parse input: row 1: bad escape sequence in a JSON string: \\u must be followed by four "
         "hexadecimal digits, got '\\\\u00zz'"},
        {{"s String", InputFormat::TabSeparated, "a\\x4z\n"},
         "a?\n",
         "Cannot parse input: row 1, column `s` (String): bad escape sequence \\x (two hexadecimal digits "
         "must "
         "follow), got 'a\\\\x4z'"},
        {{"a UInt8, b String", InputFormat::CSV, "1,\"unterminated\n"},
         "1\tunterminated\\n\n",
         "Cannot parse input: row 1: a quoted value is not closed (a \" is missing)"},
    };
    EmbeddedConnection engine;
    for (const auto& test : cases) {
        EXPECT_EQ(engineRows(engine, test.body), test.stored_by_26_5) << describe(test.body);
        std::string error;
        EXPECT_EQ(ingestRows(engine, test.body, &error), std::nullopt) << describe(test.body);
        EXPECT_EQ(error, test.ingest_error) << describe(test.body);
    }
}

/// Where ingest accepts what 26.5 refuses, or stores what 18.16 and 26.5's basic mode store.
TEST_F(RowReaderOracleTest, WhereIngestFollowsTheOlderServers) {
    EmbeddedConnection engine;
    // 26.5's best_effort parsing reads the zero DateTime of 18.16 as a date without year, month and day:
    // January 1st of the current year (2026-01-01 in 2026); its basic mode, 18.16 and ingest read it as the
    // zero time.
    Body zero{"t DateTime", InputFormat::TabSeparated, "0000-00-00 00:00:00\n"};
    EXPECT_EQ(engineRows(engine, zero),
              engine.execute("SELECT toString(toDateTime(toStartOfYear(today()))) FORMAT TSV"));
    EXPECT_NE(engineRows(engine, zero), "1970-01-01 00:00:00\n");
    EXPECT_EQ(engine.execute("SELECT * FROM format(TSV, 't DateTime', '0000-00-00 00:00:00') FORMAT TSV", {},
                             {{"date_time_input_format", "basic"}}),
              "1970-01-01 00:00:00\n");
    EXPECT_EQ(ingestRows(engine, zero), "1970-01-01 00:00:00\n");
    // Trailing empty lines: 26.5 refuses them when rows have several columns.
    Body trailing{"a UInt8, b String", InputFormat::TabSeparated, "1\tx\n\n"};
    EXPECT_EQ(engineRows(engine, trailing), std::nullopt);
    EXPECT_EQ(ingestRows(engine, trailing), "1\tx\n");
}

/// Omitted values get the column's DEFAULT literal, as a table with those defaults stores them.
TEST_F(RowReaderOracleTest, DefaultsOfOmittedValues) {
    const std::vector<topology::Column> columns = {
        {"a", "UInt8", ""},
        {"p", "String", "'{}'"},
        {"n", "Nullable(UInt8)", "7"},
        {"z", "Decimal(9, 2)", "1.5"},
        {"e", "Enum8('x' = 5, 'y' = 1)", "'x'"},
        {"t", "DateTime('UTC')", "'2000-01-02 03:04:05'"},
        {"m", "Nullable(String)", ""},
    };
    std::string definition;
    for (const auto& column : columns) {
        definition += (definition.empty() ? "" : ", ") + quoteIdentifier(column.name) + " " + column.type +
                      (column.default_expression.empty() ? "" : " DEFAULT " + column.default_expression);
    }
    const std::vector<std::pair<InputFormat, std::string>> bodies = {
        {InputFormat::JSONEachRow, R"({"a":1}{"a":2,"p":null,"n":null,"z":null,"e":null,"t":null,"m":null})"},
        {InputFormat::CSV, "3,,,,,,\n4,\\N,\\N,\\N,\\N,\\N,\\N"},
        {InputFormat::TabSeparated, "5\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N"},
    };
    EmbeddedConnection engine;
    for (const auto& [format, data] : bodies) {
        clickhouse::execute(engine, "DROP TABLE IF EXISTS ingest_reference");
        clickhouse::execute(engine, "DROP TABLE IF EXISTS ingest_written");
        clickhouse::execute(engine, "CREATE TABLE ingest_reference (" + definition + ") ENGINE = Memory");
        clickhouse::execute(engine, "CREATE TABLE ingest_written (" + definition + ") ENGINE = Memory");
        engine.execute(fmt::format("INSERT INTO ingest_reference FORMAT {}", formatName(format)), data);

        RowReader reader(format, columns, {}, false, 1);
        std::string rows;
        auto on_row = [&](std::span<const FieldValue> row) { reader.appendTabSeparated(rows, row); };
        reader.feed(data, on_row);
        reader.finish(on_row);
        std::string column_list;
        for (const auto& name : reader.rowColumns()) {
            column_list += (column_list.empty() ? "" : ", ") + quoteIdentifier(name);
        }
        engine.execute("INSERT INTO ingest_written (" + column_list + ") FORMAT TabSeparated", rows,
                       {{"date_time_input_format", "basic"}});
        EXPECT_EQ(engine.execute("SELECT * FROM ingest_written ORDER BY a FORMAT TSV"),
                  engine.execute("SELECT * FROM ingest_reference ORDER BY a FORMAT TSV"))
            << formatName(format) << " " << data;
    }
    clickhouse::execute(engine, "DROP TABLE ingest_reference");
    clickhouse::execute(engine, "DROP TABLE ingest_written");
}

}  // namespace
}  // namespace chfleet::ingest
