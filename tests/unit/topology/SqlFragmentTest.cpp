#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "../support/EmbeddedEngine.h"
#include "clickhouse/Quoting.h"
#include "clickhouse/Result.h"
#include "shared/EmbeddedConnection.h"
#include "topology/SqlFragment.h"

namespace chfleet::topology {
namespace {

// The loader's messages for each field are asserted in FleetLoaderTest; these are the rules themselves.

TEST(SqlFragment, PositionsCountCharactersNotBytes) {
    EXPECT_EQ(
        sqlFragmentProblem("'é')"),
        "unbalanced ')' at character 4: it closes a bracket this value never opened; brackets (), [] and "
        "{} must pair up within the value");
    EXPECT_EQ(sqlFragmentProblem("map('k', {1: 2)"),
              "unbalanced ')' at character 15: the '{' at character 10 is still open; brackets (), [] and {} "
              "must pair up within the value, innermost first");
}

TEST(SqlFragment, QuotedTextHidesWhatIsInside) {
    for (const char* fragment : {"'a;b--c/*d#e$f)g'", "\"a;)\"", "`--`", "'it''s'", "'back\\\\'", "'\\''",
                                 "`a``b`", "\"say \\\"hi\\\"\""}) {
        EXPECT_EQ(sqlFragmentProblem(fragment, true), std::nullopt) << fragment;
    }
    EXPECT_NE(sqlFragmentProblem("'back\\\\\\'"), std::nullopt);  // 'back\\\' : the last quote is escaped
    EXPECT_EQ(sqlFragmentProblem("\"a"),
              "unterminated quoted text: the \" at character 1 is never closed; close it within the value "
              "(inside quotes, write \\\" or \"\" for the quote character itself)");
}

TEST(SqlFragment, LineBreaksAndTabsAreAllowed) {
    EXPECT_EQ(sqlFragmentProblem("SELECT a,\n\tb\r\nFROM {from}"), std::nullopt);
    EXPECT_EQ(sqlFragmentProblem(std::string("'a\0b'", 5)),
              "control character 0x00 at character 3; only spaces, tabs and line breaks are allowed");
    EXPECT_EQ(sqlFragmentProblem("a\x7f"),
              "control character 0x7f at character 2; only spaces, tabs and line breaks are allowed");
}

TEST(SqlFragment, ListsOnlyWhereAListBelongs) {
    EXPECT_EQ(sqlFragmentProblem("a, b"), std::nullopt);
    EXPECT_EQ(sqlFragmentProblem("Tuple(a String, b UInt8)", true), std::nullopt);
    EXPECT_EQ(sqlFragmentProblem("String, evil UInt8", true),
              "',' at character 7 outside brackets: the value is one item, not a list (a ',' here would add "
              "another column or engine argument to the statement)");
}

TEST(SqlFragment, TextAfterArguments) {
    EXPECT_EQ(textAfterArguments("MergeTree"), "");
    EXPECT_EQ(textAfterArguments("MergeTree()"), "");
    EXPECT_EQ(textAfterArguments("ReplacingMergeTree(ts) "), "");
    EXPECT_EQ(textAfterArguments("SummingMergeTree((a, b), ')') SETTINGS x = 1 "), "SETTINGS x = 1");
    EXPECT_EQ(textAfterArguments("MergeTree(a)(b)"), "(b)");
}

/// `CREATE TABLE t (k <column>, z UInt8) ENGINE = MergeTree ORDER BY z` as the embedded 26.x engine reads it,
/// printed on one line.
std::string asTheEngineReadsIt(clickhouse::Connection& engine, const std::string& column) {
    std::string sql = "CREATE TABLE t (k " + column + ", z UInt8) ENGINE = MergeTree ORDER BY z";
    return clickhouse::scalar(engine, "SELECT formatQuerySingleLine(" + clickhouse::quoteString(sql) + ")");
}

// The oracle for the rules: ClickHouse 26.x reads every accepted type and default as one column of the
// statement chfleet meant, and reads each rejected one as a different statement (a Memory table, an extra
// column): the rules are not stricter than needed for these, and each one stops a real attack.
TEST(SqlFragment, ModernClickHouseReadsAcceptedFragmentsAsOneColumnAndRejectedOnesOtherwise) {
    CHFLEET_REQUIRE_EMBEDDED_ENGINE();
    clickhouse::EmbeddedConnection engine;
    const std::pair<std::string, std::string> accepted[] = {
        {"Enum8('a)' = 1, 'b' = 2)", "'a)'"},
        {"Decimal(9, 2)", "toDecimal32('1.5', 2)"},
        {"LowCardinality(Nullable(String))", ""},
        {"String", "'x;y--z'"},
        {"String", "'it''s /* not */ a # comment; $$ \\' (' || `--`"},
        {"Map(String, Array(UInt8))", "map('[', [1, 2])"},
        {"Array(Tuple(String, UInt8))", "[('a;b', 1)]"},
    };
    for (const auto& [type, default_expression] : accepted) {
        ASSERT_EQ(sqlFragmentProblem(type, true), std::nullopt) << type;
        ASSERT_EQ(sqlFragmentProblem(default_expression, true), std::nullopt) << default_expression;
        std::string column = type + (default_expression.empty() ? "" : " DEFAULT " + default_expression);
        std::string read = asTheEngineReadsIt(engine, column);
        EXPECT_TRUE(read.starts_with("CREATE TABLE t (`k` ")) << read;
        EXPECT_TRUE(read.ends_with(", `z` UInt8) ENGINE = MergeTree ORDER BY z")) << read;
    }
    const std::pair<std::string, std::string> rejected[] = {
        {"String) ENGINE = Memory --", "CREATE TABLE t (`k` String) ENGINE = Memory"},
        {"String # (\n) ENGINE = Memory # ", "CREATE TABLE t (`k` String) ENGINE = Memory"},
        {"String #!(\n) ENGINE = Memory #!", "CREATE TABLE t (`k` String) ENGINE = Memory"},
        {"String COMMENT $$'$$) ENGINE = Memory -- '",
         "CREATE TABLE t (`k` String COMMENT '\\'') ENGINE = Memory"},
        {"String, evil UInt8",
         "CREATE TABLE t (`k` String, `evil` UInt8, `z` UInt8) ENGINE = MergeTree ORDER BY z"},
    };
    for (const auto& [type, read] : rejected) {
        EXPECT_NE(sqlFragmentProblem(type, true), std::nullopt) << type;
        EXPECT_EQ(asTheEngineReadsIt(engine, type), read) << type;
    }
}

}  // namespace
}  // namespace chfleet::topology
