#include <gtest/gtest.h>

#include "common/Exception.h"
#include "ingest/protocol/InsertStatement.h"

namespace chfleet::ingest {
namespace {

TEST(InsertStatement, ReadsWhatClientsSend) {
    auto plain = parseInsert("INSERT INTO teei.events FORMAT JSONEachRow");
    EXPECT_EQ(plain.database, "teei");
    EXPECT_EQ(plain.table, "events");
    EXPECT_TRUE(plain.columns.empty());
    EXPECT_EQ(plain.format, "JSONEachRow");

    auto full = parseInsert(
        "insert into table `my db`.\"t\\`x\" (a, `b c`, \"d\") SETTINGS insert_deduplication_token = "
        "'to\\'k', "
        "async_insert=1 format TSV");
    EXPECT_EQ(full.database, "my db");
    EXPECT_EQ(full.table, "t`x");
    EXPECT_EQ(full.columns, (std::vector<std::string>{"a", "b c", "d"}));
    ASSERT_EQ(full.settings.size(), 2u);
    EXPECT_EQ(full.settings[0].second, "to'k");
    EXPECT_EQ(full.settings[1], (std::pair<std::string, std::string>{"async_insert", "1"}));
    EXPECT_EQ(full.format, "TSV");

    auto bare = parseInsert("-- a comment\n/* another */ INSERT INTO events FORMAT CSV");
    EXPECT_EQ(bare.database, "");
    EXPECT_EQ(bare.table, "events");
}

TEST(InsertStatement, InlineRowsStartAfterOneLineBreak) {
    std::string text = "INSERT INTO t FORMAT TSV  \n\n1\t2\n";
    auto statement = parseInsert(text);
    EXPECT_EQ(text.substr(statement.data_offset), "\n1\t2\n");
    std::string same_line = "INSERT INTO t FORMAT TSV 1\t2";
    EXPECT_EQ(same_line.substr(parseInsert(same_line).data_offset), "1\t2");
    std::string none = "INSERT INTO t FORMAT TSV";
    EXPECT_EQ(parseInsert(none).data_offset, none.size());
}

TEST(InsertStatement, RefusesWhatItCannotRoute) {
    for (const char* text :
         {"INSERT INTO t VALUES (1)", "INSERT INTO t SELECT 1",
          "INSERT INTO FUNCTION remote('h', d, t) FORMAT TSV", "INSERT INTO t (a, FORMAT TSV",
          "INSERT INTO t", "INSERT INTO t FORMAT TSV;", "INSERT t FORMAT TSV"}) {
        try {
            parseInsert(text);
            ADD_FAILURE() << text;
        } catch (const Exception& error) {
            EXPECT_EQ(error.code(), ErrorCode::BadArguments);
            EXPECT_TRUE(std::string(error.what()).starts_with("Syntax error")) << error.what();
        }
    }
}

TEST(InsertStatement, TellsInsertsFromOtherStatements) {
    EXPECT_TRUE(isInsert("  insert into t format TSV"));
    EXPECT_TRUE(isInsert("/* x */INSERT INTO t"));
    EXPECT_FALSE(isInsert("SELECT 1"));
    EXPECT_FALSE(isInsert("INSERTED"));
    EXPECT_FALSE(isInsert(""));
}

}  // namespace
}  // namespace chfleet::ingest
