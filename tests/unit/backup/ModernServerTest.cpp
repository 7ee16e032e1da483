// What backup sends to a server, run on the embedded ClickHouse 26.5 engine: the statements of create and
// restore run there as on 18.16 (single node), and system.tables has the columns backup reads.
#include <gtest/gtest.h>

#include "../support/EmbeddedEngine.h"
#include "backup/EngineImpl.h"
#include "clickhouse/Quoting.h"
#include "clickhouse/Result.h"

namespace chfleet::backup {
namespace {

TEST(BackupOnModernClickHouse, FreezeStagingAttachAndReplaceRun) {
    CHFLEET_REQUIRE_EMBEDDED_ENGINE();
    clickhouse::EmbeddedConnection engine;
    auto run = [&](const std::string& sql) { clickhouse::execute(engine, sql); };
    run("DROP DATABASE IF EXISTS backup_modern");
    run("CREATE DATABASE backup_modern");
    run("CREATE TABLE backup_modern.t (k String, d Date) ENGINE = MergeTree PARTITION BY toYYYYMM(d) ORDER "
        "BY k");
    run("INSERT INTO backup_modern.t SELECT toString(number), toDate('2026-11-01') + number % 40 FROM "
        "numbers(1000)");
    auto tables = clickhouse::query(engine, "SELECT name, engine, " + dataPathColumn(engine) +
                                                ", create_table_query, engine_full FROM system.tables WHERE "
                                                "database = 'backup_modern'");
    ASSERT_EQ(tables.rowCount(), 1u);
    EXPECT_FALSE(tables.getString(0, "data_path").empty());
    run("ALTER TABLE backup_modern.t FREEZE WITH NAME " + clickhouse::quoteString("chfleet_modern-1"));
    auto parts = clickhouse::query(engine,
                                   "SELECT name, rows, active FROM system.parts WHERE database = "
                                   "'backup_modern' AND table = 't'");
    EXPECT_GT(parts.rowCount(), 0u);
    run("CREATE TABLE backup_modern._chfleet_restore_0 AS backup_modern.t ENGINE = MergeTree PARTITION BY "
        "toYYYYMM(d) ORDER BY k");
    run("INSERT INTO backup_modern._chfleet_restore_0 SELECT * FROM backup_modern.t WHERE _partition_id = "
        "'202612'");
    run("ALTER TABLE backup_modern._chfleet_restore_0 DELETE WHERE k = '1'");
    run("ALTER TABLE backup_modern.t REPLACE PARTITION ID '202612' FROM backup_modern._chfleet_restore_0");
    run("ALTER TABLE backup_modern._chfleet_restore_0 ATTACH PARTITION ID '202611'");
    run("SYSTEM STOP MERGES");
    run("SYSTEM START MERGES");
    EXPECT_EQ(
        clickhouse::scalar(engine, "SELECT count() FROM backup_modern.t WHERE _partition_id = '202612'"),
        clickhouse::scalar(engine,
                           "SELECT count() FROM backup_modern._chfleet_restore_0 WHERE "
                           "_partition_id = '202612'"));
    run("DROP DATABASE backup_modern");
}

}  // namespace
}  // namespace chfleet::backup
