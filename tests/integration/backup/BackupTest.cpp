// chfleet backup on the teei sandbox (primary US 3x2 + EU 2x2, DR 1+1) with two real repositories: the US
// region's in an S3-compatible server (npm s3rver, started here on a free port), the EU region's in a folder.
// Every assertion reads rows and checksums from the servers, or objects from the repositories themselves.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "TestFleet.h"
#include "backup/BackupEngine.h"
#include "backup/Manifest.h"
#include "backup/Repository.h"
#include "clickhouse/Quoting.h"
#include "clickhouse/Result.h"
#include "common/Digest.h"
#include "common/Files.h"
#include "common/Process.h"
#include "shared/FreePort.h"
#include "shared/WaitUntil.h"
#include "sync/PartitionRepair.h"

using chfleet::testing::FleetEnvironment;
namespace ch = chfleet::clickhouse;
namespace fs = std::filesystem;
namespace bk = chfleet::backup;

namespace {

auto* const environment = ::testing::AddGlobalTestEnvironment(
    new FleetEnvironment("examples/teei/fleet.yaml", chfleet::testing::Schema::Applied));

chfleet::testing::TestFleet& fleet() {
    return FleetEnvironment::fleet();
}

/// The S3-compatible server of this binary: s3rver from third_party/s3rver on a free loopback port, its
/// buckets in a folder of the fleet's, stopped by pid.
class S3Server {
  public:
    S3Server() {
        dir_ = fleet().sandbox().dir() + "/s3rver";
        chfleet::files::makeDirectories(dir_);
        port_ = chfleet::testing::freeLoopbackPort();
        std::string program =
            std::string(CHFLEET_SOURCE_DIR) + "/third_party/s3rver/node_modules/.bin/s3rver";
        if (!fs::exists(program)) {
            throw std::runtime_error("s3rver is not installed: run scripts/install-deps.sh");
        }
        pid_ = chfleet::process::spawnDetached(
            {program, "-d", dir_, "-a", "127.0.0.1", "-p", std::to_string(port_), "--configure-bucket",
             "teei-us", "--configure-bucket", "scratch"},
            dir_ + ".log", dir_);
        ::setenv("TEST_S3_KEY", "S3RVER", 1);
        ::setenv("TEST_S3_SECRET", "S3RVER", 1);
        bool up = chfleet::testing::waitUntil([&] {
            try {
                repository("teei-us", "")->list("none/");
                return true;
            } catch (const std::exception&) {
                return false;
            }
        });
        if (!up) {
            throw std::runtime_error("s3rver did not answer; log: " + dir_ + ".log");
        }
    }
    ~S3Server() { chfleet::process::stop(pid_, dir_, std::chrono::seconds(5)); }

    std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

    bk::RepositorySpec spec(const std::string& bucket, const std::string& prefix) const {
        bk::RepositorySpec spec;
        spec.endpoint = endpoint();
        spec.bucket = bucket;
        spec.prefix = prefix;
        spec.access_key = {"TEST_S3_KEY", ""};
        spec.secret_key = {"TEST_S3_SECRET", ""};
        return spec;
    }
    std::unique_ptr<bk::Repository> repository(const std::string& bucket, const std::string& prefix) const {
        return bk::openRepository(spec(bucket, prefix));
    }

  private:
    std::string dir_;
    uint16_t port_ = 0;
    pid_t pid_ = 0;
};

S3Server& s3() {
    static S3Server server;
    return server;
}

std::string eu_folder() {
    return fleet().sandbox().dir() + "/backups-eu";
}

/// The sandbox's fleet file plus a backup: section: US to s3rver (bucket teei-us, prefix `prefix`), EU to a
/// folder.
std::string fleetFile(const std::string& prefix) {
    std::string path = fleet().sandbox().dir() + "/fleet-backup-" + prefix + ".yaml";
    if (!fs::exists(path)) {
        std::string text = chfleet::files::read(fleet().fleetPath());
        text +=
            "\nbackup:\n  keep_days: 30\n  repositories:\n"
            "    us-east-1: {endpoint: " +
            s3().endpoint() + ", bucket: teei-us, prefix: " + prefix +
            ", region: us-east-1, access_key_env: TEST_S3_KEY, secret_key_env: TEST_S3_SECRET}\n"
            "    eu-central-1: {path: " +
            eu_folder() + "/" + prefix + "}\n";
        chfleet::files::writeAtomically(path, text);
    }
    return path;
}

/// A fresh folder repository for a test of its own (--repo).
std::string folderRepo(const std::string& name) {
    auto path = fleet().sandbox().dir() + "/repo-" + name;
    fs::remove_all(path);
    return path;
}

chfleet::process::Finished chfleet(std::vector<std::string> args) {
    args.insert(args.begin(), "backup");
    args.insert(args.end(), {"--log-level", "error"});
    return fleet().chfleet(args);
}

nlohmann::json json(const chfleet::process::Finished& finished) {
    return nlohmann::json::parse(finished.output);
}

void insert(const std::string& node, const std::string& sql) {
    auto connection = fleet().connect(node);
    ch::execute(*connection, sql, {{"insert_distributed_sync", "1"}});
}

/// Rows of several months for both regions in events, user_activity and query_log (and so the views).
void writeRows(const std::string& tag, int count) {
    for (const auto& [node, alias] :
         {std::pair{"clickhouse-us-0", "us"}, std::pair{"clickhouse-eu-0", "eu"}}) {
        std::string company = "concat('" + std::string(alias) + "-" + tag + "-', toString(number % 23))";
        std::string time = "toDateTime('2026-09-01 00:00:00') + number * 977";
        std::string n = std::to_string(count);
        insert(node, "INSERT INTO teei.events_" + std::string(alias) +
                         "_distributed (event_id, company_id, user_id, event_type, region, timestamp) SELECT "
                         "generateUUIDv4(), " +
                         company + ", toString(number), 'click', '" + alias + "', " + time +
                         " FROM system.numbers LIMIT " + n);
        insert(node, "INSERT INTO teei.user_activity_" + std::string(alias) +
                         "_distributed (company_id, user_id, session_id, activity_type, region, duration_ms, "
                         "timestamp) SELECT " +
                         company + ", toString(number), 's', 'login', '" + alias + "', number, " + time +
                         " FROM system.numbers LIMIT " + n);
        insert(node, "INSERT INTO teei.query_log_" + std::string(alias) +
                         "_distributed (company_id, query_id, user_id, query_kind, duration_ms, read_rows, "
                         "timestamp) SELECT " +
                         company + ", toString(number), 'u', 'select', number, number, " + time +
                         " FROM system.numbers LIMIT " + n);
    }
}

void seedOnce() {
    static bool seeded = false;
    if (!seeded) {
        writeRows("seed", 6000);
        seeded = true;
    }
}

const std::vector<std::string> kDataTables = {"events_local", "user_activity_local", "query_log_local",
                                              ".inner.mv_daily_company_metrics_local"};

/// count/checksum of `table` on a node (every column hashed, UUIDs as text).
std::string contentsOf(const std::string& node, const std::string& table, const std::string& where = "1") {
    auto connection = fleet().connect(node);
    auto columns = chfleet::sync::readColumns(*connection, "teei", table);
    return fleet().scalar(node, "SELECT concat(toString(count()), '/', toString(sum(" + columns.hash +
                                    "))) FROM " + ch::qualifiedName("teei", table) + " WHERE " + where);
}

/// Per shard (replica 1) of `site` and table: count/checksum.
std::map<std::string, std::string> siteContents(const std::string& site,
                                                const std::vector<std::string>& tables,
                                                const std::string& where = "1") {
    std::map<std::string, std::string> out;
    for (const auto* node : fleet().fleet().site(site)->nodes()) {
        if (node->replica == 1) {
            for (const auto& table : tables) {
                out[node->name + " " + table] = contentsOf(node->name, table, where);
            }
        }
    }
    return out;
}

/// The same per region, summed over its shards (sites of different shard counts compare this way).
std::map<std::string, std::string> regionContents(const std::string& site, const std::string& table) {
    std::map<std::string, std::string> out;
    for (const auto& region : fleet().fleet().site(site)->regions) {
        const auto& node = region.nodes.front().name;
        auto connection = fleet().connect(node);
        auto columns = chfleet::sync::readColumns(*connection, "teei", table);
        std::string distributed = table.substr(0, table.size() - 6) + "_" + region.alias + "_distributed";
        out[region.name] = fleet().scalar(node, "SELECT concat(toString(count()), '/', toString(sum(" +
                                                    columns.hash + "))) FROM teei." + distributed);
    }
    return out;
}

void syncReplicas(const std::string& table) {
    for (const auto* node : fleet().fleet().site("primary")->nodes()) {
        fleet().scalar(node->name, "SELECT 1");
        auto connection = fleet().connect(node->name);
        ch::execute(*connection, "SYSTEM SYNC REPLICA " + ch::qualifiedName("teei", table));
    }
}

/// Every blob key of the manifests of `region` in a repository.
std::set<std::string> referencedBlobs(bk::Repository& repo, const std::string& region) {
    std::set<std::string> out;
    for (const auto& object : repo.list("backups/")) {
        if (object.key.ends_with("/" + region + "/manifest.json")) {
            auto manifest = bk::Manifest::fromJson(repo.getText(object.key), object.key);
            for (const auto& shard : manifest.shards) {
                for (const auto& table : shard.tables) {
                    for (const auto& part : table.parts) {
                        for (const auto& file : part.files) {
                            out.insert(bk::blobKey(file.sha256));
                        }
                    }
                }
            }
        }
    }
    return out;
}

bk::RepositorySpec folderSpec(const std::string& path) {
    bk::RepositorySpec spec;
    spec.path = path;
    return spec;
}

uint64_t folderBytes(const std::string& path) {
    uint64_t total = 0;
    for (const auto& entry : fs::recursive_directory_iterator(path)) {
        if (entry.is_regular_file()) {
            total += entry.file_size();
        }
    }
    return total;
}

TEST(Backup, DropEveryTableAndRestoreEqualsTheOriginalsPerTableAndShard) {
    seedOnce();
    for (const auto& table : kDataTables) {
        syncReplicas(table);
    }
    auto before = siteContents("primary", kDataTables);
    auto file = fleetFile("full");
    auto created = chfleet({"create", "-f", file, "full-1", "--json"});
    ASSERT_EQ(created.exit_code, 0) << created.output;
    EXPECT_EQ(json(created)["shards"], 5);
    for (const auto* node : fleet().fleet().site("primary")->nodes()) {
        auto connection = fleet().connect(node->name);
        for (const auto& table : fleet().fleet().schema.tables) {
            ch::execute(*connection, "DROP TABLE IF EXISTS " + ch::qualifiedName("teei", table.localName()));
        }
    }
    ASSERT_EQ(fleet().scalar("clickhouse-us-3",
                             "SELECT count() FROM system.tables WHERE database = 'teei' AND "
                             "name LIKE '%_local'"),
              "0");
    auto restored = chfleet({"restore", "-f", file, "full-1"});
    ASSERT_EQ(restored.exit_code, 0) << restored.output;
    EXPECT_EQ(siteContents("primary", kDataTables), before);
    // The second replica of every shard fetched what the first attached (SYSTEM SYNC REPLICA was run).
    for (const auto* node : fleet().fleet().site("primary")->nodes()) {
        if (node->replica == 2) {
            auto first = fleet().fleet().site("primary")->region(node->region)->node(node->shard, 1)->name;
            EXPECT_EQ(contentsOf(node->name, "events_local"), before.at(first + " events_local"))
                << node->name;
        }
    }
}

TEST(Backup, OneTableIsRestoredAndTheOthersAreLeftAsTheyAre) {
    seedOnce();
    auto repo = folderRepo("one-table");
    auto created = chfleet({"create", "-f", fleet().fleetPath(), "--repo", repo, "one-table", "--consistent",
                            "--table", "events", "--table", "user_activity"});
    ASSERT_EQ(created.exit_code, 0) << created.output;
    syncReplicas("events_local");
    auto events_before = siteContents("primary", {"events_local"});
    writeRows("later-one-table", 500);
    syncReplicas("user_activity_local");
    auto activity_after = siteContents("primary", {"user_activity_local"});
    ASSERT_NE(siteContents("primary", {"events_local"}), events_before);

    auto refused =
        chfleet({"restore", "-f", fleet().fleetPath(), "--repo", repo, "one-table", "--table", "events"});
    EXPECT_EQ(refused.exit_code, 1) << refused.output;
    EXPECT_NE(refused.output.find("--rm"), std::string::npos) << refused.output;
    auto restored = chfleet(
        {"restore", "-f", fleet().fleetPath(), "--repo", repo, "one-table", "--table", "events", "--rm"});
    ASSERT_EQ(restored.exit_code, 0) << restored.output;
    EXPECT_EQ(siteContents("primary", {"events_local"}), events_before);
    EXPECT_EQ(siteContents("primary", {"user_activity_local"}), activity_after);
}

TEST(Backup, OnePartitionIsRestoredAndTheOthersAreLeftAsTheyAre) {
    seedOnce();
    auto repo = folderRepo("one-partition");
    ASSERT_EQ(chfleet({"create", "-f", fleet().fleetPath(), "--repo", repo, "one-partition", "--table",
                       "query_log"})
                  .exit_code,
              0);
    syncReplicas("query_log_local");
    auto october = siteContents("primary", {"query_log_local"}, "_partition_id = '202610'");
    auto september = siteContents("primary", {"query_log_local"}, "_partition_id = '202609'");
    for (const auto* node : fleet().fleet().site("primary")->nodes()) {
        if (node->replica == 1) {
            auto connection = fleet().connect(node->name);
            ch::execute(*connection, "ALTER TABLE teei.query_log_local DROP PARTITION 202610");
        }
    }
    writeRows("later-one-partition", 300);  // September and October rows again
    syncReplicas("query_log_local");
    auto september_now = siteContents("primary", {"query_log_local"}, "_partition_id = '202609'");
    ASSERT_NE(september_now, september);

    auto restored = chfleet({"restore", "-f", fleet().fleetPath(), "--repo", repo, "one-partition", "--table",
                             "query_log", "--partition", "202610", "--rm"});
    ASSERT_EQ(restored.exit_code, 0) << restored.output;
    EXPECT_EQ(siteContents("primary", {"query_log_local"}, "_partition_id = '202610'"), october);
    EXPECT_EQ(siteContents("primary", {"query_log_local"}, "_partition_id = '202609'"), september_now);
}

TEST(Backup, ThePrimaryRestoresIntoTheDrSiteWithFewerShards) {
    seedOnce();
    auto repo = folderRepo("dr");
    ASSERT_EQ(chfleet({"create", "-f", fleet().fleetPath(), "--repo", repo, "to-dr", "--table", "events"})
                  .exit_code,
              0);
    auto primary = regionContents("primary", "events_local");
    auto restored = chfleet({"restore", "-f", fleet().fleetPath(), "--repo", repo, "to-dr", "--table",
                             "events", "--to-site", "dr", "--rm"});
    ASSERT_EQ(restored.exit_code, 0) << restored.output;
    EXPECT_EQ(regionContents("dr", "events_local"), primary);
    EXPECT_EQ(fleet().scalar("dr-us-0", "SELECT count() FROM teei.events_local WHERE region = 'eu'"), "0");
}

TEST(Backup, TheDrSiteRestoresIntoThePrimaryReshardedByTheShardingKey) {
    seedOnce();
    auto repo = folderRepo("reshard");
    ASSERT_EQ(chfleet({"create", "-f", fleet().fleetPath(), "--repo", repo, "primary", "--table", "events"})
                  .exit_code,
              0);
    ASSERT_EQ(chfleet({"restore", "-f", fleet().fleetPath(), "--repo", repo, "primary", "--table", "events",
                       "--to-site", "dr", "--rm"})
                  .exit_code,
              0);
    writeRows("dr-only", 700);  // the primary moves on; the DR's backup must replace it
    auto created = chfleet({"create", "-f", fleet().fleetPath(), "--repo", repo, "dr", "--site", "dr",
                            "--table", "events", "--json"});
    ASSERT_EQ(created.exit_code, 0) << created.output;
    EXPECT_EQ(json(created)["shards"], 2);
    auto dr = regionContents("dr", "events_local");
    ASSERT_NE(regionContents("primary", "events_local"), dr);

    auto restored = chfleet({"restore", "-f", fleet().fleetPath(), "--repo", repo, "dr", "--table", "events",
                             "--to-site", "primary", "--rm"});
    ASSERT_EQ(restored.exit_code, 0) << restored.output;
    EXPECT_EQ(regionContents("primary", "events_local"), dr);
    // Every row on the shard its sharding key names, as the servers' own cityHash64 computes it.
    for (const auto& region : fleet().fleet().site("primary")->regions) {
        for (const auto& node : region.nodes) {
            EXPECT_EQ(
                fleet().scalar(node.name,
                               "SELECT count() FROM teei.events_local WHERE cityHash64(company_id) % " +
                                   std::to_string(region.shards) + " != " + std::to_string(node.shard - 1)),
                "0")
                << node.name;
            EXPECT_NE(fleet().scalar(node.name, "SELECT count() FROM teei.events_local"), "0") << node.name;
        }
    }
    EXPECT_EQ(
        fleet().scalar("clickhouse-us-0", "SELECT count() FROM system.tables WHERE name LIKE '%chfleet%'"),
        "0");
}

TEST(Backup, AnIncrementalBackupOfAnUnchangedFleetUploadsNoPartAgain) {
    seedOnce();
    auto repo = folderRepo("incremental");
    auto first = chfleet({"create", "-f", fleet().fleetPath(), "--repo", repo, "inc-1", "--json"});
    ASSERT_EQ(first.exit_code, 0) << first.output;
    uint64_t stored = folderBytes(repo + "/blobs");
    EXPECT_GT(stored, 0u);
    EXPECT_EQ(json(first)["uploaded_bytes"].get<uint64_t>(), stored);
    auto second = chfleet({"create", "-f", fleet().fleetPath(), "--repo", repo, "inc-2", "--json"});
    ASSERT_EQ(second.exit_code, 0) << second.output;
    EXPECT_EQ(folderBytes(repo + "/blobs"), stored);
    EXPECT_EQ(json(second)["uploaded_bytes"].get<uint64_t>(), 0u);
    EXPECT_EQ(json(second)["size_bytes"], json(first)["size_bytes"]);
    auto listed = chfleet({"list", "-f", fleet().fleetPath(), "--repo", repo, "--json"});
    ASSERT_EQ(listed.exit_code, 0) << listed.output;
    EXPECT_EQ(json(listed)[1]["base"], "inc-1");
    // What monitoring reads: the last success of the region, its size as its manifest has it.
    auto local = bk::openRepository(folderSpec(repo));
    auto manifest = bk::Manifest::fromJson(local->getText("backups/inc-2/us-east-1/manifest.json"), "inc-2");
    auto stats = bk::backupStats(fleet().fleet(), "us-east-1", folderSpec(repo));
    EXPECT_EQ(stats.last_success_ms, manifest.finished_ms);
    EXPECT_EQ(stats.last_size_bytes, manifest.size_bytes);
    EXPECT_EQ(stats.failures, 0u);
}

TEST(Backup, ACorruptedObjectFailsVerifyByNameAndRestoreRefuses) {
    seedOnce();
    auto repo = folderRepo("corrupt");
    ASSERT_EQ(chfleet({"create", "-f", fleet().fleetPath(), "--repo", repo, "corrupt", "--table", "events"})
                  .exit_code,
              0);
    auto ok = chfleet({"verify", "-f", fleet().fleetPath(), "--repo", repo, "corrupt"});
    ASSERT_EQ(ok.exit_code, 0) << ok.output;
    std::string victim;
    uint64_t largest = 0;
    for (const auto& entry : fs::recursive_directory_iterator(repo + "/blobs")) {
        if (entry.is_regular_file() && entry.file_size() > largest) {
            largest = entry.file_size();
            victim = entry.path().string();
        }
    }
    {
        std::fstream out(victim, std::ios::in | std::ios::out | std::ios::binary);
        out.seekp(static_cast<std::streamoff>(largest / 2));
        out.put('\x5a').put('\xa5');
    }
    std::string key = fs::relative(victim, repo).generic_string();
    auto bad = chfleet({"verify", "-f", fleet().fleetPath(), "--repo", repo, "corrupt"});
    EXPECT_EQ(bad.exit_code, 1) << bad.output;
    EXPECT_NE(bad.output.find(key), std::string::npos) << bad.output;
    syncReplicas("events_local");
    auto before = siteContents("primary", {"events_local"});
    auto refused = chfleet({"restore", "-f", fleet().fleetPath(), "--repo", repo, "corrupt", "--rm"});
    EXPECT_EQ(refused.exit_code, 1) << refused.output;
    EXPECT_NE(refused.output.find("corrupt"), std::string::npos) << refused.output;
    EXPECT_EQ(siteContents("primary", {"events_local"}), before);
    EXPECT_EQ(
        fleet().scalar("clickhouse-us-0",
                       "SELECT count() FROM system.tables WHERE name LIKE '\\\\_chfleet\\\\_restore\\\\_%'"),
        "0");
}

TEST(Backup, AKilledUploadIsNeverCompleteAndARerunCompletesIt) {
    seedOnce();
    auto file = fleetFile("killed");
    auto us = s3().repository("teei-us", "killed");
    std::string marker = fleet().sandbox().dir() + "/killed-run.log";
    pid_t pid = chfleet::process::spawnDetached({CHFLEET_BINARY, "backup", "create", "-f", file, "killed-1"},
                                                marker, fleet().sandbox().dir());
    ASSERT_TRUE(chfleet::testing::waitUntil([&] { return !us->list("blobs/").empty(); }));
    ASSERT_TRUE(chfleet::process::signalIfRunning(pid, file, SIGKILL))
        << "the backup ended before it was killed";
    ASSERT_TRUE(chfleet::testing::waitUntil([&] { return !chfleet::process::isRunning(pid, file); }));
    EXPECT_FALSE(us->exists("backups/killed-1/us-east-1/manifest.json"));

    auto listed = chfleet({"list", "-f", file, "--json"});
    ASSERT_EQ(listed.exit_code, 0) << listed.output;
    ASSERT_EQ(json(listed).size(), 1u) << listed.output;
    EXPECT_EQ(json(listed)[0]["state"], "incomplete");
    auto refused = chfleet({"restore", "-f", file, "killed-1", "--table", "events"});
    EXPECT_EQ(refused.exit_code, 1) << refused.output;
    EXPECT_NE(refused.output.find("not complete"), std::string::npos) << refused.output;

    auto rerun = chfleet({"create", "-f", file, "killed-1"});
    ASSERT_EQ(rerun.exit_code, 0) << rerun.output;
    listed = chfleet({"list", "-f", file, "--json"});
    EXPECT_EQ(json(listed)[0]["state"], "complete") << listed.output;
    auto verified = chfleet({"verify", "-f", file, "killed-1"});
    EXPECT_EQ(verified.exit_code, 0) << verified.output;
    EXPECT_EQ(fleet().scalar("clickhouse-us-0", "SELECT count() FROM system.tables WHERE database = 'teei'"),
              fleet().scalar("clickhouse-us-1", "SELECT count() FROM system.tables WHERE database = 'teei'"));
}

TEST(Backup, EuDataIsNeverWrittenToTheUsRepository) {
    seedOnce();
    auto file = fleetFile("residency");
    ASSERT_EQ(chfleet({"create", "-f", file, "residency-1"}).exit_code, 0);
    auto us = s3().repository("teei-us", "residency");
    auto us_blobs = referencedBlobs(*us, "us-east-1");
    ASSERT_FALSE(us_blobs.empty());
    for (const auto& object : us->list("")) {
        bool ours = object.key == "stats/us-east-1.json" || us_blobs.count(object.key) > 0 ||
                    object.key.find("/us-east-1/") != std::string::npos;
        EXPECT_TRUE(ours) << object.key << " in the US repository is not US data";
    }
    auto eu = bk::openRepository(folderSpec(eu_folder() + "/residency"));
    auto eu_blobs = referencedBlobs(*eu, "eu-central-1");
    ASSERT_FALSE(eu_blobs.empty());
    for (const auto& object : eu->list("")) {
        bool ours = object.key == "stats/eu-central-1.json" || eu_blobs.count(object.key) > 0 ||
                    object.key.find("/eu-central-1/") != std::string::npos;
        EXPECT_TRUE(ours) << object.key << " in the EU repository is not EU data";
    }
}

TEST(Backup, CleanupKeepsWhatAKeptBackupNeeds) {
    seedOnce();
    auto repo = folderRepo("cleanup");
    ASSERT_EQ(
        chfleet({"create", "-f", fleet().fleetPath(), "--repo", repo, "old", "--table", "events"}).exit_code,
        0);
    writeRows("later-cleanup", 400);
    ASSERT_EQ(
        chfleet({"create", "-f", fleet().fleetPath(), "--repo", repo, "new", "--table", "events"}).exit_code,
        0);
    auto local = bk::openRepository(folderSpec(repo));
    auto needed = referencedBlobs(*local, "us-east-1");
    auto dry = chfleet({"cleanup", "-f", fleet().fleetPath(), "--repo", repo, "--keep-days", "0", "--keep",
                        "1", "--dry-run", "--json"});
    ASSERT_EQ(dry.exit_code, 0) << dry.output;
    EXPECT_EQ(json(dry)["deleted"], nlohmann::json::array({"old"}));
    EXPECT_TRUE(local->exists("backups/old/us-east-1/manifest.json"));

    auto cleaned =
        chfleet({"cleanup", "-f", fleet().fleetPath(), "--repo", repo, "--keep-days", "0", "--keep", "1"});
    ASSERT_EQ(cleaned.exit_code, 0) << cleaned.output;
    EXPECT_FALSE(local->exists("backups/old/us-east-1/manifest.json"));
    auto kept = referencedBlobs(*local, "us-east-1");
    for (const auto& key : kept) {
        EXPECT_TRUE(local->exists(key)) << key;
    }
    for (const auto& object : local->list("blobs/")) {
        EXPECT_TRUE(kept.count(object.key) > 0 ||
                    referencedBlobs(*local, "eu-central-1").count(object.key) > 0)
            << object.key << " is needed by no backup and was not collected";
    }
    EXPECT_LT(local->list("blobs/").size(),
              needed.size() + referencedBlobs(*local, "eu-central-1").size() + 1);
    auto verified = chfleet({"verify", "-f", fleet().fleetPath(), "--repo", repo, "new"});
    EXPECT_EQ(verified.exit_code, 0) << verified.output;
}

TEST(Backup, ACompanyErasedAfterTheBackupIsNotBroughtBackByARestore) {
    seedOnce();
    ::setenv("CHFLEET_ERASE_SALT", "backup-test-salt", 1);
    auto repo = folderRepo("erase");
    ASSERT_EQ(
        chfleet({"create", "-f", fleet().fleetPath(), "--repo", repo, "before-erasure", "--table", "events"})
            .exit_code,
        0);
    const std::string company_rows =
        "SELECT count() FROM teei.events_us_distributed WHERE company_id = 'us-seed-5'";
    uint64_t company = std::stoull(fleet().scalar("clickhouse-us-0", company_rows));
    ASSERT_GT(company, 0u);
    syncReplicas("events_local");
    auto total_before = regionContents("primary", "events_local");
    auto erased =
        fleet().chfleet({"erase", "run", "-f", fleet().fleetPath(), "us-seed-5", "--reason", "test"});
    ASSERT_EQ(erased.exit_code, 0) << erased.output;
    ASSERT_EQ(fleet().scalar("clickhouse-us-0", company_rows), "0");

    auto restored = chfleet({"restore", "-f", fleet().fleetPath(), "--repo", repo, "before-erasure",
                             "--table", "events", "--rm", "--json"});
    ASSERT_EQ(restored.exit_code, 0) << restored.output;
    EXPECT_EQ(json(restored)["rows_erased"].get<uint64_t>(), company);
    EXPECT_EQ(fleet().scalar("clickhouse-us-0", company_rows), "0");
    for (const auto* node : fleet().fleet().site("primary")->nodes()) {
        EXPECT_EQ(fleet().scalar(node->name,
                                 "SELECT count() FROM teei.events_local WHERE company_id = 'us-seed-5'"),
                  "0")
            << node->name;
    }
    auto us_rows = fleet().scalar("clickhouse-us-0", "SELECT count() FROM teei.events_us_distributed");
    EXPECT_EQ(std::stoull(us_rows) + company,
              std::stoull(total_before.at("us-east-1").substr(0, total_before.at("us-east-1").find('/'))));
}

TEST(Backup, HostileNamesGetClearErrors) {
    auto repo = folderRepo("hostile");
    auto bad_name = chfleet({"create", "-f", fleet().fleetPath(), "--repo", repo, "../../etc"});
    EXPECT_EQ(bad_name.exit_code, 2);
    EXPECT_NE(bad_name.output.find("invalid backup name '../../etc'"), std::string::npos) << bad_name.output;
    EXPECT_FALSE(fs::exists(repo + "/backups"));
    auto bad_table =
        chfleet({"create", "-f", fleet().fleetPath(), "--repo", repo, "x", "--table", "events; DROP"});
    EXPECT_EQ(bad_table.exit_code, 2);
    EXPECT_NE(bad_table.output.find("unknown table 'events; DROP'"), std::string::npos) << bad_table.output;
    auto bad_partition =
        chfleet({"restore", "-f", fleet().fleetPath(), "--repo", repo, "x", "--partition", "1' OR '1"});
    EXPECT_EQ(bad_partition.exit_code, 2);
    EXPECT_NE(bad_partition.output.find("invalid partition"), std::string::npos) << bad_partition.output;
    auto unknown = chfleet({"restore", "-f", fleet().fleetPath(), "--repo", repo, "nothing-here"});
    EXPECT_EQ(unknown.exit_code, 2);
    EXPECT_NE(unknown.output.find("no backup named 'nothing-here'"), std::string::npos) << unknown.output;
}

TEST(Backup, S3MultipartUploadRoundTrips) {
    auto repo = s3().repository("scratch", "multipart");
    std::string path = fleet().sandbox().dir() + "/big.bin";
    {
        std::mt19937_64 random(7);
        std::ofstream out(path, std::ios::binary);
        for (int i = 0; i < (20 << 20) / 8; ++i) {
            uint64_t value = random();
            out.write(reinterpret_cast<const char*>(&value), sizeof(value));
        }
    }
    repo->putFile("big", path);
    auto listed = repo->list("big");
    ASSERT_EQ(listed.size(), 1u);
    EXPECT_EQ(listed[0].size, 20u << 20);
    std::string back = path + ".back";
    repo->getFile("big", back);
    EXPECT_EQ(chfleet::sha256Hex(chfleet::files::read(back)), chfleet::sha256Hex(chfleet::files::read(path)));
}

/// The scratch fleets' folders a restore test leaves in the temporary folder (none once it has ended).
std::set<std::string> scratchFolders() {
    std::set<std::string> out;
    for (const auto& entry : fs::directory_iterator(fs::temp_directory_path())) {
        if (entry.path().filename().string().starts_with("chfleet-restore-test-")) {
            out.insert(entry.path().string());
        }
    }
    return out;
}

TEST(Backup, ARestoreTestPassesForAGoodBackupAndNamesTheTamperedPartition) {
    seedOnce();
    syncReplicas("events_local");
    auto repo = folderRepo("restore-test");
    auto scratch_before = scratchFolders();
    ASSERT_EQ(chfleet({"create", "-f", fleet().fleetPath(), "--repo", repo, "rt", "--table", "events",
                       "--table", "mv_daily_company_metrics"})
                  .exit_code,
              0);
    // The checksum recorded at freeze time is the one of the rows on the frozen replicas.
    auto manifest_key = repo + "/backups/rt/eu-central-1/manifest.json";
    auto manifest = bk::Manifest::fromJson(chfleet::files::read(manifest_key), manifest_key);
    for (const auto& shard : manifest.shards) {
        for (const auto& table : shard.tables) {
            if (table.table != "events") {
                continue;
            }
            uint64_t rows = 0;
            uint64_t checksum = 0;
            for (const auto& [partition, value] : table.partition_checksums) {
                rows += table.partition_rows.at(partition);
                checksum += value;
            }
            EXPECT_EQ(table.partition_checksums.size(), table.partition_rows.size());
            EXPECT_EQ(fmt::format("{}/{}", rows, checksum), contentsOf(shard.node, "events_local"))
                << shard.node;
        }
    }

    auto good =
        chfleet({"verify", "-f", fleet().fleetPath(), "--repo", repo, "rt", "--restore-test", "--json"});
    ASSERT_EQ(good.exit_code, 0) << good.output;
    auto report = json(good);
    EXPECT_TRUE(report["ok"].get<bool>());
    EXPECT_TRUE(report["checksums_compared"].get<bool>());
    EXPECT_EQ(report["regions"].size(), 2u);
    EXPECT_EQ(report["tables"].get<int>(), 4);  // 2 tables x 2 regions
    EXPECT_GT(report["rows"].get<uint64_t>(), 6000u);
    EXPECT_EQ(scratchFolders(), scratch_before);

    // One partition's checksum of EU events altered in the manifest: the restored rows no longer match it.
    auto text = nlohmann::json::parse(chfleet::files::read(manifest_key));
    std::string partition;
    for (auto& table : text["shards"][0]["tables"]) {
        if (table["table"] == "events") {
            auto first = table["partition_checksums"].begin();
            partition = first.key();
            *first = first->get<uint64_t>() + 1;
        }
    }
    ASSERT_FALSE(partition.empty());
    chfleet::files::writeAtomically(manifest_key, text.dump(1));
    auto bad = chfleet({"verify", "-f", fleet().fleetPath(), "--repo", repo, "rt", "--restore-test"});
    EXPECT_EQ(bad.exit_code, 1) << bad.output;
    EXPECT_NE(bad.output.find("first: region eu-central-1, table events, partition " + partition + ":"),
              std::string::npos)
        << bad.output;
    EXPECT_EQ(scratchFolders(), scratch_before);
}

TEST(Backup, AUsBackupGoesIntoEuOnlyWithTheFlagAndOnlyForCompaniesMappedToEu) {
    seedOnce();
    auto repo = folderRepo("cross-region");
    ASSERT_EQ(chfleet({"create", "-f", fleet().fleetPath(), "--repo", repo, "cross", "--table", "events"})
                  .exit_code,
              0);
    // The DR site's EU copy of the mapping: us-seed-1 and us-seed-2 belong to EU; us-seed-3 did, and has
    // moved to the US since (its newest row wins).
    insert("dr-eu-0",
           "INSERT INTO teei.company_region_mapping_local (company_id, region, updated_at) VALUES "
           "('us-seed-1', 'eu-central-1', '2026-01-01 00:00:00'), ('us-seed-2', 'eu-central-1', "
           "'2026-01-01 00:00:00'), ('us-seed-3', 'eu-central-1', '2026-01-01 00:00:00'), "
           "('us-seed-3', 'us-east-1', '2026-02-01 00:00:00')");
    {
        auto connection = fleet().connect("dr-eu-0");
        ch::execute(*connection, "TRUNCATE TABLE teei.events_local");
    }
    std::vector<std::string> args = {"restore",     "-f",          fleet().fleetPath(), "--repo",
                                     repo,          "cross",       "--table",           "events",
                                     "--to-site",   "dr",          "--region",          "us-east-1",
                                     "--to-region", "eu-central-1"};
    auto refused = chfleet(args);
    EXPECT_EQ(refused.exit_code, 2) << refused.output;
    EXPECT_NE(refused.output.find("refused without --allow-cross-region"), std::string::npos)
        << refused.output;
    EXPECT_EQ(fleet().scalar("dr-eu-0", "SELECT count() FROM teei.events_local"), "0");

    args.insert(args.end(), {"--allow-cross-region", "--json"});
    auto restored = chfleet(args);
    ASSERT_EQ(restored.exit_code, 0) << restored.output;
    auto report = json(restored);
    EXPECT_EQ(fleet().scalar("dr-eu-0",
                             "SELECT arrayStringConcat(arraySort(groupUniqArray(company_id)), ',') FROM "
                             "teei.events_local"),
              "us-seed-1,us-seed-2");
    std::string mapped = "company_id IN ('us-seed-1', 'us-seed-2')";
    auto connection = fleet().connect("clickhouse-us-0");
    auto hash = chfleet::sync::readColumns(*connection, "teei", "events_local").hash;
    auto expected =
        fleet().scalar("clickhouse-us-0", "SELECT concat(toString(count()), '/', toString(sum(" + hash +
                                              "))) FROM teei.events_us_distributed WHERE " + mapped);
    EXPECT_EQ(contentsOf("dr-eu-0", "events_local"), expected);
    auto us_rows =
        std::stoull(fleet().scalar("clickhouse-us-0", "SELECT count() FROM teei.events_us_distributed"));
    auto kept = std::stoull(expected.substr(0, expected.find('/')));
    EXPECT_GT(kept, 0u);
    EXPECT_EQ(report["rows_left_out"].get<uint64_t>(), us_rows - kept);
}

TEST(Backup, PerHostRunsMakeOneBackupCompletedByTheRunBringingTheLastShard) {
    seedOnce();
    syncReplicas("events_local");
    auto repo = folderRepo("per-host");
    auto file = fleet().fleetPath();
    // Host A holds US shards 1 and 2 (a second replica for shard 1) and EU shard 1; host B the rest.
    auto a = chfleet({"create", "-f", file, "--repo", repo, "hosts", "--table", "events", "--node",
                      "clickhouse-us-1", "--node", "clickhouse-us-2", "--node", "clickhouse-eu-0", "--json"});
    ASSERT_EQ(a.exit_code, 0) << a.output;
    EXPECT_FALSE(json(a)["complete"].get<bool>());
    EXPECT_EQ(json(a)["shards"].get<int>(), 3);
    EXPECT_FALSE(fs::exists(repo + "/backups/hosts/us-east-1/manifest.json"));
    auto listed = json(chfleet({"list", "-f", file, "--repo", repo, "--json"}));
    ASSERT_EQ(listed.size(), 1u);
    EXPECT_EQ(listed[0]["state"], "incomplete");
    auto refused = chfleet({"restore", "-f", file, "--repo", repo, "hosts", "--to-site", "dr", "--rm"});
    EXPECT_EQ(refused.exit_code, 1) << refused.output;
    auto early = chfleet({"create", "-f", file, "--repo", repo, "hosts", "--finish"});
    EXPECT_EQ(early.exit_code, 1) << early.output;
    EXPECT_NE(early.output.find("us-east-1: shards 3 not in yet"), std::string::npos) << early.output;
    EXPECT_NE(early.output.find("eu-central-1: shards 2 not in yet"), std::string::npos) << early.output;

    auto b = chfleet({"create", "-f", file, "--repo", repo, "hosts", "--table", "events", "--node",
                      "clickhouse-us-4", "--node", "clickhouse-eu-3", "--json"});
    ASSERT_EQ(b.exit_code, 0) << b.output;
    EXPECT_TRUE(json(b)["complete"].get<bool>());
    auto key = repo + "/backups/hosts/us-east-1/manifest.json";
    auto manifest = bk::Manifest::fromJson(chfleet::files::read(key), key);
    std::vector<std::string> nodes;
    for (const auto& shard : manifest.shards) {
        nodes.push_back(std::to_string(shard.shard) + ":" + shard.node);
    }
    EXPECT_EQ(nodes,
              (std::vector<std::string>{"1:clickhouse-us-1", "2:clickhouse-us-2", "3:clickhouse-us-4"}));
    EXPECT_FALSE(fs::exists(repo + "/backups/hosts/us-east-1/pieces/1.json"));
    auto finished = chfleet({"create", "-f", file, "--repo", repo, "hosts", "--finish"});
    EXPECT_EQ(finished.exit_code, 0) << finished.output;
    // The assembled backup restores to every row of the site, checksums equal.
    auto tested = chfleet({"verify", "-f", file, "--repo", repo, "hosts", "--restore-test", "--json"});
    ASSERT_EQ(tested.exit_code, 0) << tested.output;
    EXPECT_EQ(std::to_string(json(tested)["rows"].get<uint64_t>()),
              fleet().scalar("clickhouse-us-0", "SELECT count() FROM teei.events_distributed"));
}

}  // namespace
