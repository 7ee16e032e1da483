#include <gtest/gtest.h>

#include "common/Text.h"

namespace chfleet::text {
namespace {

TEST(Text, TrimStripsSpacesTabsAndLineEndsAtBothEnds) {
    EXPECT_EQ(trim("  a b \t"), "a b");
    EXPECT_EQ(trim("\r\n\tvalue\r\n"), "value");
    EXPECT_EQ(trim("inner \r\n kept"), "inner \r\n kept");
    EXPECT_EQ(trim(" \t\r\n "), "");
    EXPECT_EQ(trim(""), "");
    EXPECT_EQ(trim("\vx\f"), "\vx\f");  // only the four characters above
}

TEST(Text, CaseIsAsciiOnly) {
    EXPECT_EQ(toLower('A'), 'a');
    EXPECT_EQ(toLower('z'), 'z');
    EXPECT_EQ(toLower('\xC9'), '\xC9');
    EXPECT_EQ(toLower("Union MIRROR 1-9_x"), "union mirror 1-9_x");
    EXPECT_TRUE(equalsIgnoreCase("X-ClickHouse-Exception-Code", "x-clickhouse-exception-code"));
    EXPECT_TRUE(equalsIgnoreCase("INF", "inf"));
    EXPECT_TRUE(equalsIgnoreCase("", ""));
    EXPECT_FALSE(equalsIgnoreCase("inf", "infinity"));
    EXPECT_FALSE(equalsIgnoreCase("\xC9t\xC9", "\xE9t\xE9"));
}

}  // namespace
}  // namespace chfleet::text
