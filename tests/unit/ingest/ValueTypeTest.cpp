#include <fmt/format.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "common/Exception.h"
#include "ingest/format/ValueType.h"

namespace chfleet::ingest {
namespace {

/// The canonical text of `text` for `type`, or nullopt when it is not a value of the type.
std::optional<std::string> canonical(const std::string& type, std::string_view text) {
    ValueType value_type = ValueType::parse(type);
    std::string out;
    std::string problem;
    switch (value_type.check(text, out, problem)) {
        case ValueType::Verdict::Valid:
            EXPECT_TRUE(out.empty());
            return std::string(text);
        case ValueType::Verdict::Rewritten:
            return out;
        case ValueType::Verdict::Invalid:
            EXPECT_FALSE(problem.empty());
            return std::nullopt;
    }
    return std::nullopt;
}

std::string problemOf(const std::string& type, std::string_view text) {
    std::string out;
    std::string problem;
    EXPECT_EQ(ValueType::parse(type).check(text, out, problem), ValueType::Verdict::Invalid) << text;
    return problem;
}

TEST(ValueTypeTest, ParsesTypesAsSystemColumnsPrintsThem) {
    auto type = ValueType::parse("LowCardinality(Nullable(String))");
    EXPECT_EQ(type.kind(), TypeKind::String);
    EXPECT_TRUE(type.nullable());
    EXPECT_EQ(type.name(), "LowCardinality(Nullable(String))");
    EXPECT_FALSE(ValueType::parse("LowCardinality(String)").nullable());
    EXPECT_EQ(ValueType::parse("DateTime('Europe/Berlin')").kind(), TypeKind::DateTime);
    EXPECT_EQ(ValueType::parse("Nullable(Decimal(9, 2))").kind(), TypeKind::Decimal);
    EXPECT_EQ(ValueType::parse("Decimal128(10)").kind(), TypeKind::Decimal);
    EXPECT_EQ(ValueType::parse("Enum8('a' = 1, 'it''s' = -2, 'b\\'c' = 3)").kind(), TypeKind::Enum8);
    EXPECT_EQ(ValueType::parse("FixedString(16)").kind(), TypeKind::FixedString);
    EXPECT_EQ(ValueType::parse("  UInt64 ").kind(), TypeKind::UInt64);
}

TEST(ValueTypeTest, RefusesTypesIngestDoesNotRead) {
    for (const char* type : {"Array(String)", "Map(String, UInt8)", "Tuple(a UInt8)", "DateTime64(3)", "Bool",
                             "IPv4", "Decimal(40, 2)", "Decimal256(2)", "Enum8('a' = 200)", "FixedString(0)",
                             "Nullable(Array(String))", "Strin", "UInt8(3)", "Nested(a UInt8)"}) {
        try {
            ValueType::parse(type);
            ADD_FAILURE() << type << " was accepted";
        } catch (const Exception& e) {
            EXPECT_EQ(e.code(), ErrorCode::BadArguments);
            EXPECT_EQ(std::string(e.what()).rfind(
                          fmt::format("type {} is not supported by ingest (supported: ", type), 0),
                      0u)
                << e.what();
        }
    }
}

TEST(ValueTypeTest, Integers) {
    EXPECT_EQ(canonical("UInt8", "255"), "255");
    EXPECT_EQ(canonical("UInt8", "0"), "0");
    EXPECT_EQ(canonical("UInt8", ""), "0");              // ClickHouse reads an empty number as 0
    EXPECT_EQ(canonical("UInt8", "256"), std::nullopt);  // ClickHouse would store 0
    EXPECT_EQ(canonical("UInt8", "-1"), std::nullopt);
    EXPECT_EQ(canonical("UInt8", "-0"), std::nullopt);
    EXPECT_EQ(canonical("UInt8", "+1"), std::nullopt);
    EXPECT_EQ(canonical("UInt8", "01"), std::nullopt);
    EXPECT_EQ(canonical("UInt8", " 1"), std::nullopt);
    EXPECT_EQ(canonical("UInt8", "1.0"), std::nullopt);
    EXPECT_EQ(canonical("UInt8", "1e2"), std::nullopt);
    EXPECT_EQ(canonical("Int8", "-128"), "-128");
    EXPECT_EQ(canonical("Int8", "-129"), std::nullopt);
    EXPECT_EQ(canonical("Int8", "127"), "127");
    EXPECT_EQ(canonical("Int8", "128"), std::nullopt);
    EXPECT_EQ(canonical("Int8", "-0"), "0");
    EXPECT_EQ(canonical("Int8", "-"), std::nullopt);
    EXPECT_EQ(canonical("UInt16", "65535"), "65535");
    EXPECT_EQ(canonical("UInt32", "4294967296"), std::nullopt);
    EXPECT_EQ(canonical("Int32", "-2147483648"), "-2147483648");
    EXPECT_EQ(canonical("UInt64", "18446744073709551615"), "18446744073709551615");
    EXPECT_EQ(canonical("UInt64", "18446744073709551616"), std::nullopt);
    EXPECT_EQ(canonical("UInt64", "99999999999999999999999"), std::nullopt);
    EXPECT_EQ(canonical("Int64", "-9223372036854775808"), "-9223372036854775808");
    EXPECT_EQ(canonical("Int64", "9223372036854775808"), std::nullopt);
    EXPECT_EQ(problemOf("UInt8", "256"), "expected an integer from 0 to 255");
    EXPECT_EQ(problemOf("Int16", "x"), "expected an integer from -32768 to 32767");
}

TEST(ValueTypeTest, Floats) {
    EXPECT_EQ(canonical("Float64", "1.5"), "1.5");
    EXPECT_EQ(canonical("Float64", "-1.5e-3"), "-1.5e-3");
    EXPECT_EQ(canonical("Float64", "1E+10"), "1E+10");
    EXPECT_EQ(canonical("Float64", "+1.5"), "1.5");
    EXPECT_EQ(canonical("Float64", ".5"), "0.5");
    EXPECT_EQ(canonical("Float64", "-.5"), "-0.5");
    EXPECT_EQ(canonical("Float64", "1."), "1");
    EXPECT_EQ(canonical("Float64", "1.e3"), "1e3");
    EXPECT_EQ(canonical("Float64", "001.5"), "001.5");
    EXPECT_EQ(canonical("Float64", ""), "0");
    EXPECT_EQ(canonical("Float64", "-0"), "-0");
    EXPECT_EQ(canonical("Float64", "inf"), "inf");
    EXPECT_EQ(canonical("Float64", "-Infinity"), "-inf");
    EXPECT_EQ(canonical("Float64", "+INF"), "inf");
    EXPECT_EQ(canonical("Float64", "NaN"), "nan");
    EXPECT_EQ(canonical("Float64", "-nan"), "nan");
    EXPECT_EQ(canonical("Float32", "1e400"), "1e400");  // inf, as in ClickHouse
    for (const char* bad : {"1e", "e5", "-", ".", "1.2.3", "1,5", "0x10", " 1", "1 ", "infinit", "1e+"}) {
        EXPECT_EQ(canonical("Float64", bad), std::nullopt) << bad;
    }
    EXPECT_EQ(problemOf("Float32", "abc"),
              "expected a floating-point number (like -1.5, 2.5e-3, inf or nan)");
}

TEST(ValueTypeTest, Decimals) {
    EXPECT_EQ(canonical("Decimal(9, 2)", "1.5"), "1.5");
    EXPECT_EQ(canonical("Decimal(9, 2)", "1.50"), "1.5");
    EXPECT_EQ(canonical("Decimal(9, 2)", "1.555"), "1.55");  // cut off, as ClickHouse does
    EXPECT_EQ(canonical("Decimal(9, 2)", "-1.559"), "-1.55");
    EXPECT_EQ(canonical("Decimal(9, 2)", "0.001"), "0");
    EXPECT_EQ(canonical("Decimal(9, 2)", "-0.001"), "0");
    EXPECT_EQ(canonical("Decimal(9, 2)", "-0"), "0");
    EXPECT_EQ(canonical("Decimal(9, 2)", ""), "0");
    EXPECT_EQ(canonical("Decimal(9, 2)", "+1.5"), "1.5");
    EXPECT_EQ(canonical("Decimal(9, 2)", ".5"), "0.5");
    EXPECT_EQ(canonical("Decimal(9, 2)", "1."), "1");
    EXPECT_EQ(canonical("Decimal(9, 2)", "0012.30"), "12.3");
    EXPECT_EQ(canonical("Decimal(9, 2)", "1e2"), "100");
    EXPECT_EQ(canonical("Decimal(9, 2)", "1.5e1"), "15");
    EXPECT_EQ(canonical("Decimal(9, 2)", "15e-3"), "0.01");
    EXPECT_EQ(canonical("Decimal(9, 2)", "9999999.99"), "9999999.99");
    EXPECT_EQ(canonical("Decimal(9, 2)", "10000000"), std::nullopt);
    EXPECT_EQ(canonical("Decimal(9, 2)", "1e7"), std::nullopt);
    EXPECT_EQ(canonical("Decimal(9, 2)", "1e-100000"), "0");
    EXPECT_EQ(canonical("Decimal(9, 2)", "1e100000"), std::nullopt);
    EXPECT_EQ(canonical("Decimal32(2)", "9999999.99"), "9999999.99");
    EXPECT_EQ(canonical("Decimal64(4)", "12345678901234.1234"), "12345678901234.1234");
    EXPECT_EQ(canonical("Decimal64(4)", "123456789012345.1234"), std::nullopt);
    EXPECT_EQ(canonical("Decimal(38, 0)", "99999999999999999999999999999999999999"),
              "99999999999999999999999999999999999999");
    EXPECT_EQ(canonical("Decimal(38, 0)", "100000000000000000000000000000000000000"), std::nullopt);
    EXPECT_EQ(canonical("Decimal(3, 3)", "0.999"), "0.999");
    EXPECT_EQ(canonical("Decimal(3, 3)", "1"), std::nullopt);
    for (const char* bad : {"inf", "nan", "1,5", "1e", "-", ".", "1.2.3", "abc", " 1"}) {
        EXPECT_EQ(canonical("Decimal(9, 2)", bad), std::nullopt) << bad;
    }
    EXPECT_EQ(problemOf("Decimal(9, 2)", "12345678.9"),
              "expected at most 7 digits before the decimal point for Decimal(9, 2)");
    EXPECT_EQ(problemOf("Decimal(9, 2)", "x"),
              "expected a decimal number with at most 7 digits before the point and 2 after it");
}

TEST(ValueTypeTest, Dates) {
    EXPECT_EQ(canonical("Date", "2024-01-31"), "2024-01-31");
    EXPECT_EQ(canonical("Date", "2024-1-5"), "2024-01-05");
    EXPECT_EQ(canonical("Date", "2024/01/31"), "2024-01-31");
    EXPECT_EQ(canonical("Date", "20240131"), "2024-01-31");
    EXPECT_EQ(canonical("Date", "2024-02-29"), "2024-02-29");
    EXPECT_EQ(canonical("Date", "1970-01-01"), "1970-01-01");
    EXPECT_EQ(canonical("Date", "2149-06-06"), "2149-06-06");
    EXPECT_EQ(canonical("Date", "0000-00-00"), "1970-01-01");
    for (const char* bad :
         {"2023-02-29", "2024-02-30", "2024-13-01", "2024-00-10", "1969-12-31", "2149-06-07", "", "24-01-31",
          "2024-01-31 00:00:00", "2024-01-31x", "19000", "2024.01.31"}) {
        EXPECT_EQ(canonical("Date", bad), std::nullopt) << bad;
    }
    EXPECT_EQ(problemOf("Date", "2024-13-01"), "expected a date YYYY-MM-DD from 1970-01-01 to 2149-06-06");
    ValueType date = ValueType::parse("Date");
    std::string out;
    std::string problem;
    EXPECT_TRUE(date.checkDayNumber("19000", out, problem));
    EXPECT_EQ(out, "2022-01-08");
    EXPECT_FALSE(date.checkDayNumber("65536", out, problem));
    EXPECT_FALSE(date.checkDayNumber("-1", out, problem));
}

TEST(ValueTypeTest, DateTimes) {
    EXPECT_EQ(canonical("DateTime", "2024-01-31 12:34:56"), "2024-01-31 12:34:56");
    EXPECT_EQ(canonical("DateTime", "2024-01-31T12:34:56"), "2024-01-31 12:34:56");
    EXPECT_EQ(canonical("DateTime", "2024-1-31 1:2:3"), "2024-01-31 01:02:03");
    EXPECT_EQ(canonical("DateTime", "2024-01-31 12:34"), "2024-01-31 12:34:00");
    EXPECT_EQ(canonical("DateTime", "2024-01-31 12:34:56.789"), "2024-01-31 12:34:56");
    EXPECT_EQ(canonical("DateTime", "2024-01-31"), "2024-01-31 00:00:00");
    // An offset makes an instant: written as a timestamp, independent of the server's time zone.
    EXPECT_EQ(canonical("DateTime", "2024-01-31T12:34:56Z"), "1706704496");
    EXPECT_EQ(canonical("DateTime", "2024-01-31 12:34:56.5Z"), "1706704496");
    EXPECT_EQ(canonical("DateTime", "2024-01-31T14:34:56+02:00"), "1706704496");
    EXPECT_EQ(canonical("DateTime", "2024-01-31T18:04:56+0530"), "1706704496");
    EXPECT_EQ(canonical("DateTime", "2024-01-31T04:34:56-08"), "1706704496");
    EXPECT_EQ(canonical("DateTime", "2024-01-31 14:34:56 +02:00"), "1706704496");
    EXPECT_EQ(canonical("DateTime", "1706704496"), "1706704496");
    EXPECT_EQ(canonical("DateTime", "999999999"), "0999999999");
    EXPECT_EQ(canonical("DateTime", "4294967295"), "4294967295");
    EXPECT_EQ(canonical("DateTime", "0000-00-00 00:00:00"), "0000000000");
    EXPECT_EQ(canonical("DateTime", "2106-02-07 06:28:15"), "2106-02-07 06:28:15");
    EXPECT_EQ(canonical("DateTime('Asia/Tokyo')", "1970-01-01 09:00:00"), "1970-01-01 09:00:00");
    for (const char* bad : {"",
                            "0",
                            "100",
                            "86400",
                            "12345678",
                            "4294967296",
                            "12345678901",
                            "-1",
                            "1706704496.5",
                            "2024-02-30 00:00:00",
                            "2024-13-01 00:00:00",
                            "2024-01-31 24:00:00",
                            "2024-01-31 23:60:00",
                            "2024-01-31 23:59:60",
                            "1969-12-31 23:59:59",
                            "2106-02-08 00:00:00",
                            "1970-01-01T00:00:00+01:00",
                            "2024-01-31 12:34:56 ",
                            "2024-01-31  12:34:56",
                            "2024-01-31 12",
                            "2024-01-31 12:34:56+2",
                            "2024-01-31 12:34:56 UTC",
                            "2024-01-31 12:34:56.",
                            "20240131123456",
                            "0000-00-00 00:00:01"}) {
        EXPECT_EQ(canonical("DateTime", bad), std::nullopt) << bad;
    }
    EXPECT_EQ(
        problemOf("DateTime", "2024-13-01"),
        "expected YYYY-MM-DD hh:mm:ss or a unix timestamp, from 1970-01-01 00:00:00 to 2106-02-07 06:28:15");
}

TEST(ValueTypeTest, Uuids) {
    EXPECT_EQ(canonical("UUID", "3f2504e0-4f89-11d3-9a0c-0305e82c3301"),
              "3f2504e0-4f89-11d3-9a0c-0305e82c3301");
    EXPECT_EQ(canonical("UUID", "3F2504E0-4F89-11D3-9A0C-0305E82C3301"),
              "3f2504e0-4f89-11d3-9a0c-0305e82c3301");
    EXPECT_EQ(canonical("UUID", "3f2504e04f8911d39a0c0305e82c3301"), "3f2504e0-4f89-11d3-9a0c-0305e82c3301");
    for (const char* bad :
         {"", "{3f2504e0-4f89-11d3-9a0c-0305e82c3301}", "3f2504e0-4f89-11d3-9a0c-0305e82c330",
          "3f2504e0-4f89-11d3-9a0c-0305e82c330g", "3f2504e0-4f8911d3-9a0c-0305e82c33011"}) {
        EXPECT_EQ(canonical("UUID", bad), std::nullopt) << bad;
    }
    EXPECT_EQ(problemOf("UUID", "x"), "expected a UUID (8-4-4-4-12 hexadecimal digits)");
}

TEST(ValueTypeTest, EnumsByNameOrNumber) {
    const std::string type = "Enum8('a' = 1, 'b' = -2, 'c d' = 3)";
    EXPECT_EQ(canonical(type, "a"), "a");
    EXPECT_EQ(canonical(type, "c d"), "c d");
    EXPECT_EQ(canonical(type, "-2"), "b");
    EXPECT_EQ(canonical(type, "3"), "c d");
    for (const char* bad : {"", "A", " a", "'a'", "4", "0", "01"}) {
        EXPECT_EQ(canonical(type, bad), std::nullopt) << bad;
    }
    EXPECT_EQ(problemOf(type, "x"), "expected one of 'a', 'b', 'c d' or its number");
    EXPECT_EQ(canonical("Enum16('x' = 1000, 'y' = -1000)", "-1000"), "y");
    EXPECT_EQ(canonical("Enum8('it''s' = 1, 'b\\\\c' = 2)", "it's"), "it's");
    EXPECT_EQ(canonical("Enum8('it''s' = 1, 'b\\\\c' = 2)", "2"), "b\\c");
}

TEST(ValueTypeTest, StringsAndFixedStrings) {
    EXPECT_EQ(canonical("String", ""), "");
    EXPECT_EQ(canonical("String", std::string("a\0\xff", 3)), std::string("a\0\xff", 3));
    EXPECT_EQ(canonical("FixedString(3)", "abc"), "abc");
    EXPECT_EQ(canonical("FixedString(3)", "ab"), "ab");
    EXPECT_EQ(canonical("FixedString(3)", "abcd"), std::nullopt);
    EXPECT_EQ(canonical("FixedString(3)", "\xc3\xa9\xc3\xa9"), std::nullopt);  // 4 bytes
    EXPECT_EQ(problemOf("FixedString(3)", "abcd"), "expected at most 3 bytes, got 4");
}

TEST(ValueTypeTest, TypeDefaults) {
    EXPECT_EQ(ValueType::parse("String").defaultText(), "");
    EXPECT_EQ(ValueType::parse("UInt64").defaultText(), "0");
    EXPECT_EQ(ValueType::parse("Decimal(9, 2)").defaultText(), "0");
    EXPECT_EQ(ValueType::parse("Date").defaultText(), "1970-01-01");
    EXPECT_EQ(ValueType::parse("DateTime('UTC')").defaultText(), "0000000000");
    EXPECT_EQ(ValueType::parse("UUID").defaultText(), "00000000-0000-0000-0000-000000000000");
    EXPECT_EQ(ValueType::parse("Enum8('x' = 5, 'y' = 1)").defaultText(), "y");  // the smallest number
}

}  // namespace
}  // namespace chfleet::ingest
