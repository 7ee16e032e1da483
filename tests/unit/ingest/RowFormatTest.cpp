#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ingest/format/RowFormat.h"

namespace chfleet::ingest {
namespace {

using namespace std::string_literals;

TEST(RowFormatTest, FormatNamesAsClickHouseAcceptsThem) {
    EXPECT_EQ(parseFormatName("JSONEachRow"), InputFormat::JSONEachRow);
    EXPECT_EQ(parseFormatName("JSONLines"), InputFormat::JSONEachRow);
    EXPECT_EQ(parseFormatName("NDJSON"), InputFormat::JSONEachRow);
    EXPECT_EQ(parseFormatName("JSONL"), InputFormat::JSONEachRow);
    EXPECT_EQ(parseFormatName("TabSeparated"), InputFormat::TabSeparated);
    EXPECT_EQ(parseFormatName("TSV"), InputFormat::TabSeparated);
    EXPECT_EQ(parseFormatName("TSVRaw"), InputFormat::TabSeparatedRaw);
    EXPECT_EQ(parseFormatName("TabSeparatedWithNames"), InputFormat::TabSeparatedWithNames);
    EXPECT_EQ(parseFormatName("TSVWithNames"), InputFormat::TabSeparatedWithNames);
    EXPECT_EQ(parseFormatName("TabSeparatedRawWithNames"), InputFormat::TabSeparatedRawWithNames);
    EXPECT_EQ(parseFormatName("CSV"), InputFormat::CSV);
    EXPECT_EQ(parseFormatName("CSVWithNames"), InputFormat::CSVWithNames);
    // 26.5 looks format names up in any case (18.16 did not).
    EXPECT_EQ(parseFormatName("jsoneachrow"), InputFormat::JSONEachRow);
    EXPECT_EQ(parseFormatName("tsv"), InputFormat::TabSeparated);
    EXPECT_EQ(parseFormatName("csvwithnames"), InputFormat::CSVWithNames);
    for (const char* name :
         {"", "JSON", "JSONCompactEachRow", "TSVWithNamesAndTypes", "Values", "Native", "CSV ", "Parquet"}) {
        EXPECT_EQ(parseFormatName(name), std::nullopt) << name;
    }
    EXPECT_EQ(formatName(InputFormat::TabSeparatedWithNames), "TabSeparatedWithNames");
    EXPECT_EQ(formatName(InputFormat::JSONEachRow), "JSONEachRow");
    EXPECT_EQ(supportedFormatNames(),
              "JSONEachRow (JSONLines, NDJSON, JSONL), TabSeparated (TSV), TabSeparatedRaw (TSVRaw), "
              "TabSeparatedWithNames (TSVWithNames), TabSeparatedRawWithNames (TSVRawWithNames), CSV, "
              "CSVWithNames");
}

TEST(RowFormatTest, DefaultsOfColumns) {
    auto tsv = [](const std::string& type, const std::string& expression) {
        return columnDefault({"c", type, expression}).tsv;
    };
    EXPECT_EQ(tsv("String", ""), "");
    EXPECT_EQ(tsv("String", "'{}'"), "{}");
    EXPECT_EQ(tsv("String", "'it''s\\ta\\\\b'"), "it\\'s\\ta\\\\b");
    EXPECT_EQ(tsv("Nullable(String)", ""), "\\N");
    EXPECT_EQ(tsv("Nullable(String)", "NULL"), "\\N");
    EXPECT_EQ(tsv("Nullable(UInt8)", "7"), "7");
    EXPECT_EQ(tsv("UInt8", ""), "0");
    EXPECT_EQ(tsv("Int32", "-5"), "-5");
    EXPECT_EQ(tsv("Float64", "1.5"), "1.5");
    EXPECT_EQ(tsv("Decimal(9, 2)", "1.555"), "1.55");
    EXPECT_EQ(tsv("Date", ""), "1970-01-01");
    EXPECT_EQ(tsv("Date", "'2000-01-01'"), "2000-01-01");
    EXPECT_EQ(tsv("Date", "0"), "1970-01-01");
    EXPECT_EQ(tsv("DateTime", ""), "0000000000");
    EXPECT_EQ(tsv("DateTime", "0"), "0000000000");
    EXPECT_EQ(tsv("DateTime", "'2000-01-01 00:00:00'"), "2000-01-01 00:00:00");
    EXPECT_EQ(tsv("UUID", ""), "00000000-0000-0000-0000-000000000000");
    EXPECT_EQ(tsv("Enum8('x' = 5, 'y' = 1)", ""), "y");
    EXPECT_EQ(tsv("Enum8('x' = 5, 'y' = 1)", "'x'"), "x");
    EXPECT_EQ(tsv("LowCardinality(String)", "'lc'"), "lc");

    auto literal = columnDefault({"c", "String", "'a\tb'"});
    EXPECT_EQ(literal.text, "a\tb");
    EXPECT_EQ(literal.tsv, "a\\tb");
    EXPECT_FALSE(literal.is_null);
    EXPECT_FALSE(literal.computed);
    auto null = columnDefault({"c", "Nullable(UInt8)", ""});
    EXPECT_TRUE(null.is_null);
    EXPECT_EQ(null.text, "");
    EXPECT_EQ(columnDefault({"c", "DateTime", "'2000-01-01T00:00:00Z'"}).text, "0946684800");
    auto computed = columnDefault({"c", "DateTime", "now()"});
    EXPECT_TRUE(computed.computed);
    EXPECT_EQ(computed.tsv, "0000000000");
    EXPECT_TRUE(columnDefault({"c", "UInt32", "a + 1"}).computed);
    EXPECT_TRUE(columnDefault({"c", "String", "concat('a', 'b')"}).computed);
    EXPECT_TRUE(columnDefault({"c", "String", "'a' || 'b'"}).computed);

    try {
        columnDefault({"level", "UInt8", "300"});
        FAIL() << "an out-of-range DEFAULT was accepted";
    } catch (const Exception& e) {
        EXPECT_EQ(e.code(), ErrorCode::InvalidConfig);
        EXPECT_STREQ(
            e.what(),
            "column `level` (UInt8): DEFAULT 300 is not a value of the type: expected an integer from 0 to "
            "255");
    }
    EXPECT_THROW(columnDefault({"c", "Enum8('a' = 1)", "'b'"}), Exception);
    EXPECT_THROW(columnDefault({"c", "Array(String)", ""}), Exception);
}

TEST(RowFormatTest, TabSeparatedRowsEscapeAsClickHouse) {
    std::vector<ColumnDefault> defaults(4);
    defaults[0].tsv = "{}";
    defaults[1].tsv = "\\N";
    defaults[2].tsv = "0";
    defaults[3].tsv = "x";
    const std::string control = "\0nul\r"s;
    std::vector<FieldValue> values = {{"tab\there\nnew 'q' back\\slash", false, false},
                                      {"", true, false},
                                      {"", false, true},
                                      {control, false, false}};
    std::string out = "previous\n";
    appendTabSeparatedRow(out, values, defaults);
    EXPECT_EQ(out, "previous\ntab\\there\\nnew \\'q\\' back\\\\slash\t\\N\t0\t\\0nul\\r\n");
    out.clear();
    std::vector<FieldValue> omitted = {{"", false, true}};
    appendTabSeparatedRow(out, omitted, std::span<const ColumnDefault>(defaults).first(1));
    EXPECT_EQ(out, "{}\n");
}

}  // namespace
}  // namespace chfleet::ingest
