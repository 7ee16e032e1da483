// The company ID checks, the subject hash and the SQL conditions of erasure; the hash condition and the
// deletion statements proven on the embedded ClickHouse 26.x engine (18.16's side: tests/integration/erase).
#include <gtest/gtest.h>

#include "../support/EmbeddedEngine.h"
#include "clickhouse/Quoting.h"
#include "clickhouse/Result.h"
#include "common/Digest.h"
#include "erase/Eraser.h"
#include "erase/Subject.h"
#include "shared/EmbeddedConnection.h"
#include "topology/Fleet.h"

namespace chfleet::erase {
namespace {

topology::Table tableWithKey(const std::string& type) {
    topology::Table table;
    table.name = "t";
    table.columns = {{"company_id", type, ""}, {"v", "UInt64", ""}};
    table.region_key = "company_id";
    return table;
}

TEST(Subject, HostileOrMalformedIdsAreRefusedWithAReason) {
    for (const std::string& id :
         {std::string(), std::string(kMaxIdLength + 1, 'a'), std::string("' OR 1=1 --"), std::string("a'b"),
          std::string("a\\b"), std::string("a\"b"), std::string("a`b"), std::string("a\0b", 3),
          std::string("a\nb"), std::string("a\rb"), std::string("a\tb"), std::string(" acme"),
          std::string("acme ")}) {
        EXPECT_NE(idProblem(id, "String"), "") << id;
    }
    EXPECT_EQ(idProblem("acme-corp", "String"), "");
    EXPECT_EQ(idProblem("x OR 1=1 --", "String"), "");  // harmless once quoted: an exact match
    EXPECT_EQ(idProblem(std::string(kMaxIdLength, 'a'), "String"), "");
    EXPECT_EQ(idProblem("acme", "LowCardinality(String)"), "");
    EXPECT_EQ(idProblem("0c8a1b52-5b6e-4f44-9a57-0b5f9b0e2c11", "UUID"), "");
    EXPECT_NE(idProblem("0c8a1b52-5b6e-4f44-9a57-0b5f9b0e2c1", "UUID"), "");
    EXPECT_NE(idProblem("acme", "UUID"), "");
    EXPECT_EQ(idProblem("18446744073709551615", "UInt64"), "");
    EXPECT_NE(idProblem("18446744073709551616", "UInt64"), "");
    EXPECT_NE(idProblem("-1", "UInt32"), "");
    EXPECT_EQ(idProblem("-128", "Int8"), "");
    EXPECT_NE(idProblem("128", "Int8"), "");
    EXPECT_NE(idProblem("1 OR 1=1", "UInt64"), "");
    EXPECT_NE(idProblem("1.5", "Decimal(10, 2)"), "");
}

TEST(Subject, TheSubjectIsTheSaltedSha256OfTheTextClickHousePrints) {
    EXPECT_EQ(subjectOf("salt", "acme"), sha256Hex("saltacme"));
    EXPECT_EQ(canonicalId("0C8A1B52-5B6E-4F44-9A57-0B5F9B0E2C11", "UUID"),
              "0c8a1b52-5b6e-4f44-9a57-0b5f9b0e2c11");
    EXPECT_EQ(canonicalId("007", "UInt64"), "7");
    EXPECT_EQ(canonicalId("0", "Int32"), "0");
    EXPECT_EQ(canonicalId("-05", "Int32"), "-5");
    EXPECT_EQ(canonicalId("Acme", "String"), "Acme");
}

TEST(Subject, ConditionsQuoteEveryValue) {
    auto table = tableWithKey("String");
    EXPECT_EQ(idCondition(table, "x OR 1=1 --"), "`company_id` = 'x OR 1=1 --'");
    EXPECT_EQ(idCondition(tableWithKey("UUID"), "0C8A1B52-5B6E-4F44-9A57-0B5F9B0E2C11"),
              "`company_id` = toUUID('0c8a1b52-5b6e-4f44-9a57-0b5f9b0e2c11')");
    EXPECT_EQ(idCondition(tableWithKey("UInt64"), "42"), "`company_id` = toUInt64('42')");
    EXPECT_EQ(subjectCondition(table, "s'alt", {"ab", "cd"}),
              "lower(hex(SHA256(concat('s\\'alt', toString(`company_id`))))) IN ('ab', 'cd')");
    EXPECT_EQ(subjectCondition(table, "salt", {}), "");
}

/// The rows of company_id left in the embedded engine's table `erase_unit.t`.
std::vector<std::string> companiesLeft(clickhouse::Connection& engine) {
    auto rows = clickhouse::query(engine, "SELECT DISTINCT company_id FROM erase_unit.t ORDER BY company_id");
    std::vector<std::string> left;
    for (size_t row = 0; row < rows.rowCount(); ++row) {
        left.push_back(rows.getString(row, "company_id"));
    }
    return left;
}

void refill(clickhouse::Connection& engine) {
    clickhouse::execute(engine, "CREATE DATABASE IF NOT EXISTS erase_unit");
    clickhouse::execute(engine, "DROP TABLE IF EXISTS erase_unit.t");
    clickhouse::execute(
        engine,
        "CREATE TABLE erase_unit.t (company_id String, v UInt64) ENGINE = MergeTree ORDER BY company_id");
    clickhouse::execute(engine,
                        "INSERT INTO erase_unit.t SELECT arrayJoin(['acme', 'acme2', 'x OR 1=1 --', 'beta', "
                        "'caf\\xC3\\xA9']), "
                        "number FROM numbers(10)");
}

// ClickHouse computes the same subject as chfleet, so later steps find the rows by hash alone.
TEST(Subject, TheHashConditionMatchesExactlyTheSubjectsRowsOnModernClickHouse) {
    CHFLEET_REQUIRE_EMBEDDED_ENGINE();
    clickhouse::EmbeddedConnection engine;
    refill(engine);
    auto table = tableWithKey("String");
    std::string salt = "fleet-salt'\\";
    std::vector<std::string> subjects = {subjectOf(salt, "acme"), subjectOf(salt, "caf\xC3\xA9")};
    EXPECT_EQ(clickhouse::scalar(engine, "SELECT count() FROM erase_unit.t WHERE " +
                                             subjectCondition(table, salt, subjects)),
              "20");
    EXPECT_EQ(clickhouse::scalar(
                  engine, "SELECT lower(hex(SHA256(concat(" + clickhouse::quoteString(salt) + ", 'acme'))))"),
              subjects[0]);
}

// Both deletion statements parse and run on modern ClickHouse and remove exactly the company's rows.
TEST(Subject, LightweightAndMutationDeletesRemoveExactlyTheCompanyOnModernClickHouse) {
    CHFLEET_REQUIRE_EMBEDDED_ENGINE();
    clickhouse::EmbeddedConnection engine;
    auto table = tableWithKey("String");
    for (bool lightweight : {true, false}) {
        SCOPED_TRACE(lightweight ? "DELETE FROM" : "ALTER TABLE DELETE");
        refill(engine);
        std::string sql = deletionStatement("erase_unit.t", idCondition(table, "x OR 1=1 --"), lightweight);
        std::string parsed =
            clickhouse::scalar(engine, "SELECT formatQuerySingleLine(" + clickhouse::quoteString(sql) + ")");
        EXPECT_EQ(parsed, lightweight ? "DELETE FROM erase_unit.t WHERE company_id = 'x OR 1=1 --'"
                                      : "ALTER TABLE erase_unit.t (DELETE WHERE company_id = 'x OR 1=1 --')");
        clickhouse::execute(engine, sql, {{"mutations_sync", "2"}});
        EXPECT_EQ(companiesLeft(engine), (std::vector<std::string>{"acme", "acme2", "beta", "caf\xC3\xA9"}));
        clickhouse::execute(
            engine,
            deletionStatement("erase_unit.t", subjectCondition(table, "s", {subjectOf("s", "acme")}),
                              lightweight),
            {{"mutations_sync", "2"}});
        EXPECT_EQ(companiesLeft(engine), (std::vector<std::string>{"acme2", "beta", "caf\xC3\xA9"}));
    }
}

}  // namespace
}  // namespace chfleet::erase
