#include <gtest/gtest.h>

#include <string>

#include "../support/EmbeddedEngine.h"
#include "clickhouse/Capabilities.h"
#include "shared/EmbeddedConnection.h"
#include "clickhouse/Quoting.h"
#include "clickhouse/Result.h"
#include "common/Exception.h"

namespace chfleet::clickhouse {
namespace {

using namespace std::string_literals;

/// Checks against the ClickHouse 26.5 engine embedded in the process (chDB); fails when libchdb.so is absent
/// (skipped only with CHFLEET_SKIP_EMBEDDED_ENGINE=1).
class EmbeddedEngineTest : public ::testing::Test {
  protected:
    void SetUp() override { CHFLEET_REQUIRE_EMBEDDED_ENGINE(); }
};

const std::string hostile_values[] = {
    ""s,          "'; DROP TABLE x; --"s,   "back\\slash"s,      "quote' and \\' and ''"s,
    "back`tick"s, "new\nline\r\n"s,         "tab\there"s,        "nul\0inside"s,
    "\0"s,        "\x01\x02\x1b\x7f"s,      "Grüße, 日本, 🚀"s,   "invalid utf-8 \xff\xfe\xc3"s,
    "\\N"s,       "trailing backslash \\"s, "{braces} $1 ? %s"s,
};

TEST_F(EmbeddedEngineTest, RunsQueries) {
    EmbeddedConnection connection;
    EXPECT_EQ(connection.describe(), "embedded");
    EXPECT_EQ(connection.execute("SELECT 1 + 1"), "2\n");
    EXPECT_EQ(scalar(connection, "SELECT toUInt64(18446744073709551615)"), "18446744073709551615");
    auto result = query(connection, "SELECT number, toString(number) AS s FROM system.numbers LIMIT 3;");
    EXPECT_EQ(result.rowCount(), 3u);
    EXPECT_EQ(result.getUInt64(2, "number"), 2u);
    EXPECT_EQ(result.getString(1, "s"), "1");
}

TEST_F(EmbeddedEngineTest, ErrorsAreServerExceptionsWithTheCode) {
    EmbeddedConnection connection;
    try {
        connection.execute("SELECT * FROM no_such_table_anywhere");
        FAIL() << "expected a ServerException";
    } catch (const ServerException& e) {
        EXPECT_EQ(e.serverCode(), 60);
        EXPECT_EQ(e.endpoint(), "embedded");
        EXPECT_NE(e.serverMessage().find("no_such_table_anywhere"), std::string::npos);
    }
    try {
        connection.execute("SELEC 1");
        FAIL() << "expected a ServerException";
    } catch (const ServerException& e) {
        EXPECT_EQ(e.serverCode(), 62);
    }
}

TEST_F(EmbeddedEngineTest, CapabilitiesOfAModernServer) {
    EmbeddedConnection connection;
    auto capabilities = detectCapabilities(connection);
    EXPECT_GE(capabilities.major, 26);
    EXPECT_TRUE(capabilities.ttl);
    EXPECT_TRUE(capabilities.lightweight_delete);
    EXPECT_TRUE(capabilities.query_parameters);
    EXPECT_TRUE(capabilities.remote_secure);
    EXPECT_TRUE(capabilities.max_insert_threads);
    EXPECT_TRUE(capabilities.insert_deduplication_token);
    EXPECT_TRUE(capabilities.system_disks);
    EXPECT_TRUE(capabilities.ttl_only_drop_parts);
}

TEST_F(EmbeddedEngineTest, FormatQueryParsesStatements) {
    EmbeddedConnection connection;
    std::string statement =
        "CREATE TABLE " + qualifiedName("teei", "events") +
        " (company_id String, ts DateTime, v UInt64) ENGINE = MergeTree PARTITION BY toYYYYMM(ts) ORDER BY "
        "(company_id, ts) TTL ts + INTERVAL 90 DAY";
    std::string formatted = scalar(connection, "SELECT formatQuery(" + quoteString(statement) + ")");
    EXPECT_NE(formatted.find("TTL ts + toIntervalDay(90)"), std::string::npos) << formatted;
    EXPECT_THROW(scalar(connection, "SELECT formatQuery(" + quoteString("CREATE TABLE (") + ")"),
                 ServerException);
}

TEST_F(EmbeddedEngineTest, HostileStringsRoundTrip) {
    EmbeddedConnection connection;
    for (const auto& value : hostile_values) {
        auto result = query(connection, "SELECT " + quoteString(value) + " AS v, length(v) AS n");
        EXPECT_EQ(result.getString(0, "v"), value) << quoteString(value);
        EXPECT_EQ(result.getUInt64(0, "n"), value.size()) << quoteString(value);
    }
}

TEST_F(EmbeddedEngineTest, HostileIdentifiersRoundTrip) {
    EmbeddedConnection connection;
    execute(connection, "CREATE DATABASE IF NOT EXISTS " + quoteIdentifier("hostile db`\n"));
    for (const auto& name : hostile_values) {
        if (name.empty() || name.find('\0') != std::string::npos || name.find('/') != std::string::npos) {
            continue;  // ClickHouse itself refuses empty names and names with NUL or '/'
        }
        std::string table = qualifiedName("hostile db`\n", name);
        execute(connection,
                "CREATE TABLE " + table + " (" + quoteIdentifier(name) + " String) ENGINE = Memory");
        auto tables = query(
            connection, "SELECT name FROM system.tables WHERE database = " + quoteString("hostile db`\n") +
                            " AND name = " + quoteString(name));
        ASSERT_EQ(tables.rowCount(), 1u) << quoteIdentifier(name);
        EXPECT_EQ(tables.getString(0, "name"), name);
        auto columns = query(
            connection, "SELECT name FROM system.columns WHERE database = " + quoteString("hostile db`\n") +
                            " AND table = " + quoteString(name));
        ASSERT_EQ(columns.rowCount(), 1u);
        EXPECT_EQ(columns.getString(0, "name"), name);
        execute(connection, "DROP TABLE " + table);
    }
    execute(connection, "DROP DATABASE " + quoteIdentifier("hostile db`\n"));
}

TEST_F(EmbeddedEngineTest, InsertWithTsvData) {
    EmbeddedConnection connection;
    execute(connection, "DROP TABLE IF EXISTS tsv_insert");
    execute(connection, "CREATE TABLE tsv_insert (id UInt64, s String) ENGINE = Memory");
    std::string data;
    for (size_t i = 0; i < std::size(hostile_values); ++i) {
        data += std::to_string(i) + "\t" + escapeTsvField(hostile_values[i]) + "\n";
    }
    connection.execute("INSERT INTO tsv_insert FORMAT TabSeparated", data);
    auto result = query(connection, "SELECT id, s FROM tsv_insert ORDER BY id");
    ASSERT_EQ(result.rowCount(), std::size(hostile_values));
    for (size_t i = 0; i < std::size(hostile_values); ++i) {
        EXPECT_EQ(result.getString(i, "s"), hostile_values[i]) << i;
    }
    execute(connection, "DROP TABLE tsv_insert");
}

TEST_F(EmbeddedEngineTest, SettingsApplyToOneStatement) {
    EmbeddedConnection connection;
    const std::string max_threads = scalar(connection, "SELECT getSetting('max_threads')");
    const std::string log_comment = scalar(connection, "SELECT getSetting('log_comment')");
    ASSERT_NE(max_threads, "3");
    EXPECT_EQ(scalar(connection, "SELECT getSetting('max_threads')", {{"max_threads", "3"}}), "3");
    EXPECT_EQ(scalar(connection, "SELECT getSetting('log_comment')", {{"log_comment", "it's \\ odd"}}),
              "it's \\ odd");
    // Back to what they were before, for the next statement.
    EXPECT_EQ(scalar(connection, "SELECT getSetting('max_threads')"), max_threads);
    EXPECT_EQ(scalar(connection, "SELECT getSetting('log_comment')"), log_comment);
    EXPECT_EQ(scalar(connection, "SELECT 1", {{"wait_end_of_query", "1"}}), "1");
    EXPECT_THROW(scalar(connection, "SELECT 1", {{"max_threads; DROP", "1"}}), Exception);
    EXPECT_THROW(scalar(connection, "SELECT 1", {{"no_such_setting_x", "1"}}), ServerException);
}

TEST_F(EmbeddedEngineTest, CityHash64Values) {
    // Shards are chosen by cityHash64(key) % shards, so chfleet and every server version must hash alike.
    // 26.5 (embedded) gave these values; clickhouse-server 18.16.1 gave the same for every one of them.
    EmbeddedConnection connection;
    const std::pair<std::string, std::string> expected[] = {
        {"cityHash64('')", "11160318154034397263"},
        {"cityHash64('a')", "2603192927274642682"},
        {"cityHash64('company-0001')", "13339679143497452300"},
        {"cityHash64('3f2504e0-4f89-11d3-9a0c-0305e82c3301')", "11504228508932962492"},
        {"cityHash64('Grüße')", "17364701079286602353"},
        {"cityHash64('The quick brown fox jumps over the lazy dog')", "16697807905646383735"},
        {"cityHash64(42)", "11490350930367293593"},
        {"cityHash64('a', 'b')", "7468329322676821011"},
    };
    for (const auto& [expression, hash] : expected) {
        EXPECT_EQ(scalar(connection, "SELECT " + expression), hash) << expression;
    }
    // 26.5 hashes a UUID's 16 bytes, not its text: a UUID key and its String form land on different shards
    // (18.16 refuses cityHash64 of a UUID with Code 43).
    EXPECT_EQ(scalar(connection, "SELECT cityHash64(toUUID('3f2504e0-4f89-11d3-9a0c-0305e82c3301'))"),
              "13068521515108229394");
}

}  // namespace
}  // namespace chfleet::clickhouse
