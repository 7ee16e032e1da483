#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "clickhouse/Result.h"
#include "common/Exception.h"

namespace chfleet::clickhouse {
namespace {

using namespace std::string_literals;

TEST(ResultTest, DecodesNamesTypesAndRows) {
    auto result = Result::parse(
        "name\tcount\tratio\tflag\nString\tUInt64\tFloat64\tUInt8\nevents\t42\t0.5\t1\nusers\t0\t-inf\t0\n",
        "n1");
    EXPECT_EQ(result.columnCount(), 4u);
    EXPECT_EQ(result.rowCount(), 2u);
    EXPECT_EQ(result.names()[1], "count");
    EXPECT_EQ(result.types()[2], "Float64");
    EXPECT_EQ(result.getString(0, "name"), "events");
    EXPECT_EQ(result.getUInt64(0, "count"), 42u);
    EXPECT_EQ(result.getInt64(1, "count"), 0);
    EXPECT_DOUBLE_EQ(result.getDouble(0, "ratio"), 0.5);
    EXPECT_TRUE(std::isinf(result.getDouble(1, "ratio")));
    EXPECT_TRUE(result.getBool(0, "flag"));
    EXPECT_FALSE(result.getBool(1, "flag"));
    EXPECT_TRUE(result.hasColumn("ratio"));
    EXPECT_FALSE(result.hasColumn("missing"));
    EXPECT_EQ(result.columnIndex("flag"), 3u);
}

TEST(ResultTest, DecodesEscapesToExactBytes) {
    // Bytes ClickHouse 26.5 answered for SELECT 'a\tb\nc\\d\'e\0f\x01g\bh\fi\rj' AS s.
    auto result = Result::parse("s\nString\na\\tb\\nc\\\\d\\'e\\0f\x01g\\bh\\fi\\rj\n", "embedded");
    EXPECT_EQ(result.getString(0, "s"), "a\tb\nc\\d'e\0f\x01g\bh\fi\rj"s);
}

TEST(ResultTest, EmptyResultAndEmptyValues) {
    auto empty = Result::parse("name\nString\n", "n1");
    EXPECT_EQ(empty.rowCount(), 0u);
    EXPECT_EQ(empty.columnCount(), 1u);

    auto blanks = Result::parse("a\tb\nString\tString\n\t\n\t\n", "n1");
    EXPECT_EQ(blanks.rowCount(), 2u);
    EXPECT_EQ(blanks.getString(1, "b"), "");
}

TEST(ResultTest, UInt64FullRangeAndGarbage) {
    auto result =
        Result::parse("v\nUInt64\n18446744073709551615\n18446744073709551616\n-1\n12abc\n\n 1\n+1\n", "n1");
    EXPECT_EQ(result.getUInt64(0, "v"), std::numeric_limits<uint64_t>::max());
    for (size_t row = 1; row < result.rowCount(); ++row) {
        EXPECT_THROW(result.getUInt64(row, "v"), Exception) << "row " << row;
    }
    EXPECT_EQ(Result::parse("v\nInt64\n-9223372036854775808\n", "n1").getInt64(0, "v"),
              std::numeric_limits<int64_t>::min());
    EXPECT_THROW(Result::parse("v\nString\nyes\n", "n1").getBool(0, "v"), Exception);
    EXPECT_TRUE(Result::parse("v\nBool\ntrue\n", "n1").getBool(0, "v"));
    EXPECT_THROW(Result::parse("v\nString\n1.5x\n", "n1").getDouble(0, "v"), Exception);
}

TEST(ResultTest, NullsInNullableColumns) {
    // Newer servers type a scalar subquery as Nullable(UInt64).
    auto result = Result::parse("a\tb\nNullable(UInt64)\tNullable(String)\n\\N\t\\N\n7\tx\n", "n1");
    EXPECT_TRUE(result.isNull(0, "a"));
    EXPECT_FALSE(result.isNull(1, "a"));
    EXPECT_EQ(result.getUInt64(1, "a"), 7u);
    EXPECT_THROW(result.getUInt64(0, "a"), Exception);
    EXPECT_THROW(result.getString(0, "b"), Exception);
    // A string holding backslash + N is escaped by the server and is not NULL.
    EXPECT_EQ(Result::parse("s\nString\n\\\\N\n", "n1").getString(0, "s"), "\\N");
}

TEST(ResultTest, UnknownColumnAndRowAreErrors) {
    auto result = Result::parse("a\nUInt8\n1\n", "n1:8123");
    try {
        result.getString(0, "b");
        FAIL() << "expected an exception";
    } catch (const Exception& e) {
        EXPECT_EQ(e.code(), ErrorCode::BadResponse);
        EXPECT_NE(std::string(e.what()).find("no column 'b' (columns: a)"), std::string::npos);
    }
    EXPECT_THROW(result.getString(1, "a"), Exception);
}

TEST(ResultTest, ExceptionAfterStreamingBegan18_16) {
    // Tail of a 200 answer of clickhouse-server 18.16.1 without wait_end_of_query: the error follows the
    // rows.
    std::string body =
        "number\tthrowIf(equals(number, 300000))\nUInt64\tUInt8\n299998\t0\n299999\t0\n"
        "Code: 395, e.displayText() = DB::Exception: Value passed to 'throwIf' function is non zero, "
        "e.what() = "
        "DB::Exception\n";
    try {
        Result::parse(body, "127.0.0.1:18123");
        FAIL() << "expected a ServerException";
    } catch (const ServerException& e) {
        EXPECT_EQ(e.serverCode(), 395);
        EXPECT_EQ(e.serverMessage(), "Value passed to 'throwIf' function is non zero");
        EXPECT_EQ(e.endpoint(), "127.0.0.1:18123");
    }
}

TEST(ResultTest, ExceptionAfterStreamingBeganSingleNumericColumn) {
    std::string body =
        "number\nUInt64\n1\n2\nCode: 241. DB::Exception: Memory limit (for query) exceeded. "
        "(MEMORY_LIMIT_EXCEEDED) "
        "(version 23.8.1.1)\n";
    try {
        Result::parse(body, "n1");
        FAIL() << "expected a ServerException";
    } catch (const ServerException& e) {
        EXPECT_EQ(e.serverCode(), 241);
    }
}

TEST(ResultTest, ExceptionInsteadOfHeader) {
    EXPECT_THROW(
        Result::parse("Code: 60, e.displayText() = DB::Exception: Table x doesn't exist., e.what() = "
                      "DB::Exception\n",
                      "n1"),
        ServerException);
}

TEST(ResultTest, StringValueThatReadsLikeAnExceptionIsData) {
    // system.query_log.exception holds exactly such text; a String column cannot tell, so it stays data.
    std::string text =
        "Code: 60, e.displayText() = DB::Exception: Table x doesn't exist., e.what() = DB::Exception";
    auto result = Result::parse("exception\nString\n" + text + "\n", "n1");
    EXPECT_EQ(result.getString(0, "exception"), text);
}

TEST(ResultTest, MalformedAnswersAreBadResponse) {
    for (std::string body :
         {""s, "a\n"s, "a\tb\nString\n"s, "a\tb\nString\tString\nonly_one\n"s, "a\nString\ncut off"s}) {
        try {
            Result::parse(body, "n1");
            FAIL() << "accepted: " << body;
        } catch (const ServerException&) {
            FAIL() << "taken for a server error: " << body;
        } catch (const Exception& e) {
            EXPECT_EQ(e.code(), ErrorCode::BadResponse) << body;
        }
    }
}

}  // namespace
}  // namespace chfleet::clickhouse
