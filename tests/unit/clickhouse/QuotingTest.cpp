#include <gtest/gtest.h>

#include <string>

#include "clickhouse/Quoting.h"
#include "common/Exception.h"

namespace chfleet::clickhouse {
namespace {

using namespace std::string_literals;

TEST(QuotingTest, QuoteStringEscapesQuoteBackslashAndControlBytes) {
    EXPECT_EQ(quoteString(""), "''");
    EXPECT_EQ(quoteString("plain"), "'plain'");
    EXPECT_EQ(quoteString("it's"), R"('it\'s')");
    EXPECT_EQ(quoteString(R"(a\b)"), R"('a\\b')");
    EXPECT_EQ(quoteString("a\nb\tc\rd"), R"('a\nb\tc\rd')");
    EXPECT_EQ(quoteString("nul\0byte"s), R"('nul\0byte')");
    EXPECT_EQ(quoteString("\b\f"), R"('\b\f')");
    EXPECT_EQ(quoteString("\x01\x1f\x7f"), R"('\x01\x1F\x7F')");
    EXPECT_EQ(quoteString("`backtick`"), "'`backtick`'");
}

TEST(QuotingTest, QuoteStringNeutralisesInjection) {
    EXPECT_EQ(quoteString("'; DROP TABLE x; --"), R"('\'; DROP TABLE x; --')");
    EXPECT_EQ(quoteString(R"(\'; DROP TABLE x; --)"), R"('\\\'; DROP TABLE x; --')");
}

TEST(QuotingTest, QuoteStringKeepsUtf8AndInvalidBytes) {
    EXPECT_EQ(quoteString("Grüße 日本"), "'Grüße 日本'");
    EXPECT_EQ(quoteString("\xff\xfe\x80"), "'\xff\xfe\x80'");
}

TEST(QuotingTest, QuoteIdentifierAlwaysBackQuotes) {
    EXPECT_EQ(quoteIdentifier("events"), "`events`");
    EXPECT_EQ(quoteIdentifier("select"), "`select`");
    EXPECT_EQ(quoteIdentifier(""), "``");
    EXPECT_EQ(quoteIdentifier("a`b"), R"(`a\`b`)");
    EXPECT_EQ(quoteIdentifier(R"(a\`b)"), R"(`a\\\`b`)");
    EXPECT_EQ(quoteIdentifier("it's"), "`it's`");
    EXPECT_EQ(quoteIdentifier("line\nbreak\0"s), R"(`line\nbreak\0`)");
    EXPECT_EQ(quoteIdentifier("tab\there"), R"(`tab\there`)");
    EXPECT_EQ(quoteIdentifier("x`; DROP TABLE y; --"), R"(`x\`; DROP TABLE y; --`)");
    EXPECT_EQ(quoteIdentifier("日本"), "`日本`");
}

TEST(QuotingTest, QualifiedName) {
    EXPECT_EQ(qualifiedName("db", "t"), "`db`.`t`");
    EXPECT_EQ(qualifiedName("", "t"), "`t`");
    EXPECT_EQ(qualifiedName("my.db", "t`x"), R"(`my.db`.`t\`x`)");
}

TEST(QuotingTest, EscapeTsvFieldMatchesClickHouseOutput) {
    // The bytes ClickHouse 26.5 wrote for 'a\tb\nc\\d\'e\0f\x01g\bh\fi\rj' in TabSeparated.
    EXPECT_EQ(escapeTsvField("a\tb\nc\\d'e\0f\x01g\bh\fi\rj"s),
              R"(a\tb\nc\\d\'e\0f)"s + "\x01" + R"(g\bh\fi\rj)");
    EXPECT_EQ(escapeTsvField(""), "");
    EXPECT_EQ(escapeTsvField(R"(\N)"), R"(\\N)");
}

TEST(QuotingTest, UnescapeTsvFieldUndoesEveryEscape) {
    EXPECT_EQ(unescapeTsvField(R"(a\tb\nc\\d\'e\0f)"), "a\tb\nc\\d'e\0f"s);
    EXPECT_EQ(unescapeTsvField(R"(\b\f\r\a\v\e)"), "\b\f\r\a\v\x1B");
    EXPECT_EQ(unescapeTsvField(R"(\x41\x00\xff)"), "A\0\xff"s);
    EXPECT_EQ(unescapeTsvField(R"(\"\`\/\=\:)"), R"("`/=:)");
    EXPECT_EQ(unescapeTsvField(R"(100\%)"), R"(100\%)");
    EXPECT_EQ(unescapeTsvField("raw\x01utf8 ü"), "raw\x01utf8 ü");
}

TEST(QuotingTest, UnescapeTsvFieldRejectsBrokenEscapes) {
    EXPECT_THROW(unescapeTsvField("end\\"), Exception);
    EXPECT_THROW(unescapeTsvField(R"(\x4)"), Exception);
    EXPECT_THROW(unescapeTsvField(R"(\xZZ)"), Exception);
}

TEST(QuotingTest, TsvRoundTripOfHostileValues) {
    const std::string values[] = {
        "",    "'; DROP TABLE x; --", "back\\slash", "quote'", "back`tick", "new\nline", "tab\t",    "cr\r",
        "\0"s, "nul\0inside"s,        "\xff\xfe",    "Grüße",  "\\N",       "\\",        "\x7f\x1b",
    };
    for (const auto& value : values) {
        std::string escaped = escapeTsvField(value);
        EXPECT_EQ(escaped.find('\t'), std::string::npos);
        EXPECT_EQ(escaped.find('\n'), std::string::npos);
        EXPECT_EQ(unescapeTsvField(escaped), value);
    }
}

}  // namespace
}  // namespace chfleet::clickhouse
