// The backup: section of the fleet file, backup names, manifests and the folder repository.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "../support/TempDir.h"
#include "backup/BackupSection.h"
#include "backup/Manifest.h"
#include "backup/Repository.h"
#include "common/Exception.h"
#include "topology/Fleet.h"

namespace chfleet::backup {
namespace {

const std::string kFleet = R"(fleet: t
base_port: 30000
sites:
  - name: a
    global_cluster: a_global
    regions:
      - {name: us-east-1, alias: us, cluster: a_us, shards: 2, replicas: 1}
      - {name: eu-central-1, alias: eu, cluster: a_eu, shards: 1, replicas: 1}
schema:
  database: db
  tables:
    - name: t
      columns:
        - {name: k, type: String}
      order_by: k
      region_key: k
)";

TEST(BackupSection, FolderAndS3RepositoriesPerRegion) {
    auto fleet = topology::parseFleet(kFleet + R"(backup:
  keep_days: 7
  repositories:
    us-east-1: {endpoint: "http://127.0.0.1:9000", bucket: b, prefix: /p/q/, access_key_env: KEY, secret_key_file: /etc/s}
    eu-central-1: {path: /var/backups/eu}
)",
                                      "fleet.yaml");
    const auto& config = backupConfig(fleet);
    EXPECT_EQ(config.keep_days, 7);
    EXPECT_EQ(config.parallel, 4);
    const auto& us = config.repositories.at("us-east-1");
    EXPECT_TRUE(us.s3());
    EXPECT_EQ(us.prefix, "p/q");
    EXPECT_EQ(us.access_key.env, "KEY");
    EXPECT_EQ(us.secret_key.file, "/etc/s");
    EXPECT_EQ(us.region, "us-east-1");
    EXPECT_FALSE(config.repositories.at("eu-central-1").s3());
    // The resolved file carries the section unchanged.
    EXPECT_EQ(topology::parseFleet(topology::dumpFleet(fleet), "resolved.yaml"), fleet);
}

TEST(BackupSection, ProblemsNameTheLine) {
    auto check = topology::checkFleetText(kFleet + R"(backup:
  repositories:
    us-west-2: {path: /x}
    eu-central-1: {path: relative/x}
    us-east-1: {endpoint: "ftp://x", bucket: b, access_key_env: "NOT A NAME"}
)",
                                          "fleet.yaml");
    auto problems = check.describeProblems();
    EXPECT_NE(problems.find("fleet.yaml:19: backup.repositories.us-west-2: unknown region 'us-west-2'"),
              std::string::npos)
        << problems;
    EXPECT_NE(
        problems.find("fleet.yaml:20: backup.repositories.eu-central-1.path: expected an absolute path"),
        std::string::npos)
        << problems;
    EXPECT_NE(problems.find("fleet.yaml:21: backup.repositories.us-east-1.endpoint: expected http://"),
              std::string::npos)
        << problems;
    EXPECT_NE(problems.find("access_key_env: expected the name of an environment variable"),
              std::string::npos)
        << problems;
}

TEST(BackupNames, HostileNamesAreRefusedWithTheRule) {
    for (const std::string& name :
         std::vector<std::string>{"", "../x", "a/b", "-x", ".hidden", "a b", "x'y", std::string(101, 'a')}) {
        try {
            checkBackupName(name);
            ADD_FAILURE() << "accepted '" << name << "'";
        } catch (const Exception& error) {
            EXPECT_EQ(error.code(), ErrorCode::BadArguments);
            EXPECT_NE(std::string(error.what()).find("letters, digits"), std::string::npos);
        }
    }
    EXPECT_NO_THROW(checkBackupName("nightly-2026-12-03T0700Z.1_a"));
    EXPECT_THROW(checkPartitionId("1' OR '1"), Exception);
    EXPECT_NO_THROW(checkPartitionId("202612"));
    EXPECT_NO_THROW(checkPartitionId("all"));
}

TEST(Manifest, RoundTripsThroughJson) {
    Manifest manifest;
    manifest.name = "n";
    manifest.region = "us-east-1";
    manifest.ledger_position = "3 entries, last abc";
    ShardEntry shard;
    shard.shard = 2;
    shard.objects["t_local"] = "CREATE TABLE db.t_local (k String) ENGINE = MergeTree ORDER BY k";
    TableEntry table;
    table.table = "t";
    table.local = "t_local";
    table.partition_rows["all"] = 5;
    table.parts.push_back({"all_1_1_0", "all", 5, {{"data.bin", 10, std::string(64, 'a')}}});
    shard.tables.push_back(table);
    manifest.shards.push_back(shard);
    auto back = Manifest::fromJson(manifest.toJson(), "m");
    EXPECT_EQ(back.toJson(), manifest.toJson());
    EXPECT_EQ(back.shards.at(0).tables.at(0).parts.at(0).files.at(0).size, 10u);
    EXPECT_THROW(Manifest::fromJson("{\"format\": 99}", "m"), Exception);
    EXPECT_THROW(Manifest::fromJson("not json", "m"), Exception);
}

TEST(Manifest, KeepsChecksumsAbove2To63AndReadsManifestsWrittenBeforeChecksums) {
    TableEntry table;
    table.table = "t";
    table.local = "t_local";
    table.partition_rows["202610"] = 3;
    table.partition_checksums["202610"] = 18446744073709551557ull;  // sums wrap mod 2^64
    ShardEntry shard;
    shard.tables.push_back(table);
    Manifest manifest;
    manifest.shards.push_back(shard);
    auto back = Manifest::fromJson(manifest.toJson(), "m");
    EXPECT_EQ(back.shards.at(0).tables.at(0).partition_checksums.at("202610"), 18446744073709551557ull);

    auto older = nlohmann::json::parse(manifest.toJson());
    older["shards"][0]["tables"][0].erase("partition_checksums");
    auto read = Manifest::fromJson(older.dump(), "older");
    EXPECT_TRUE(read.shards.at(0).tables.at(0).partition_checksums.empty());
    EXPECT_EQ(read.shards.at(0).tables.at(0).partition_rows.at("202610"), 3u);
}

TEST(FolderRepository, StoresListsAndRemovesObjects) {
    testing::TempDir dir("chfleet-backup");
    RepositorySpec spec;
    spec.path = dir.path().string() + "/repo";
    auto repo = openRepository(spec);
    repo->putText("backups/a/r/started.json", "{}");
    std::string source = dir.path().string() + "/file";
    {
        std::ofstream out(source);
        out << "0123456789";
    }
    repo->putFile(blobKey(std::string(64, 'f')), source);
    EXPECT_TRUE(repo->exists("blobs/ff/" + std::string(64, 'f')));
    auto listed = repo->list("blobs/");
    ASSERT_EQ(listed.size(), 1u);
    EXPECT_EQ(listed[0].size, 10u);
    EXPECT_EQ(repo->list("backups/").at(0).key, "backups/a/r/started.json");
    EXPECT_EQ(repo->getText("backups/a/r/started.json"), "{}");
    repo->remove("backups/a/r/started.json");
    EXPECT_FALSE(repo->exists("backups/a/r/started.json"));
    EXPECT_NO_THROW(repo->remove("backups/a/r/started.json"));
    EXPECT_THROW(repo->getText("missing"), Exception);
}

TEST(RepositoryArgument, FolderOrS3) {
    EXPECT_FALSE(parseRepositoryArgument("/tmp/x").s3());
    auto s3 = parseRepositoryArgument("s3://bucket/some/prefix/");
    EXPECT_TRUE(s3.s3());
    EXPECT_EQ(s3.bucket, "bucket");
    EXPECT_EQ(s3.prefix, "some/prefix");
    EXPECT_EQ(s3.access_key.env, "AWS_ACCESS_KEY_ID");
    EXPECT_THROW(parseRepositoryArgument("s3://"), Exception);
}

}  // namespace
}  // namespace chfleet::backup
