#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "../support/LogCapture.h"
#include "../support/TempDir.h"
#include "common/Files.h"
#include "common/Log.h"
#include "sync/SyncState.h"

namespace chfleet::sync {
namespace {

namespace fs = std::filesystem;

using chfleet::testing::LogCapture;

class SyncStateFile : public ::testing::Test {
  protected:
    chfleet::testing::TempDir temp_{"chfleet-state"};  ///< removed with the fixture
    void write(const std::string& content) { std::ofstream(path_, std::ios::binary) << content; }
    std::vector<fs::path> corruptCopies() const {
        std::vector<fs::path> out;
        for (const auto& entry : fs::directory_iterator(dir_)) {
            if (entry.path().filename().string().rfind("sync-state.json.corrupt-", 0) == 0) {
                out.push_back(entry.path());
            }
        }
        return out;
    }
    /// Loads a corrupt file: a fresh state, one warning naming the path, the content kept aside.
    void expectCorrupt(const std::string& content, const std::string& problem) {
        write(content);
        LogCapture capture;
        auto state = loadSyncState(path_);
        EXPECT_EQ(state, SyncState{});
        EXPECT_EQ(capture.count("warning"), 1u) << capture.text();
        EXPECT_NE(capture.text().find(path_), std::string::npos) << capture.text();
        EXPECT_NE(capture.text().find(problem), std::string::npos) << capture.text();
        auto copies = corruptCopies();
        ASSERT_EQ(copies.size(), 1u);
        EXPECT_EQ(files::read(copies[0].string()), content);
        EXPECT_NE(capture.text().find(copies[0].string()), std::string::npos) << capture.text();
        EXPECT_FALSE(fs::exists(path_));
        fs::remove(copies[0]);
    }

    std::string dir_ = temp_.string();
    std::string path_ = dir_ + "/sync-state.json";
};

SyncState sampleState() {
    SyncState state;
    state.last_check = "2024-01-15T10:00:00Z";
    state.last_sync = "2024-01-15T09:30:00Z";
    state.consecutive_clean = 3;
    state.failback_ready = true;
    state.active_site = "dr";
    state.tables_checked = 5;
    state.tables_with_gaps = 1;
    state.partitions_synced = 12;
    state.rows_synced = 1500000;
    state.tables_created = 1;
    state.new_tables_detected = {"default.new_one"};
    state.last_error = "DNS failover.example.com answered nothing";
    state.rows_added = 1500000;
    state.rows_removed = 7;
    state.repairs.push_back(
        {"2024-01-15T09:30:00Z", "default.events", "20240115", "dr/shard 1", 100, 7, "mirror"});
    state.verified = {{"default.events/20240114", "c=100;h=abc"}};
    return state;
}

TEST_F(SyncStateFile, RoundTrip) {
    auto state = sampleState();
    saveSyncState(path_, state);
    EXPECT_EQ(loadSyncState(path_), state);
    SyncState fresh;
    saveSyncState(path_, fresh);
    EXPECT_EQ(loadSyncState(path_), fresh);
    EXPECT_FALSE(fs::exists(path_ + ".tmp"));
}

TEST_F(SyncStateFile, FieldNamesAreCHSyncsInItsOrder) {
    saveSyncState(path_, sampleState());
    auto json = nlohmann::ordered_json::parse(files::read(path_));
    std::vector<std::string> keys;
    for (const auto& [key, value] : json.items()) {
        keys.push_back(key);
    }
    std::vector<std::string> expected = {"last_check",       "last_sync",           "consecutive_clean",
                                         "failback_ready",   "active_site",         "tables_checked",
                                         "tables_with_gaps", "partitions_synced",   "rows_synced",
                                         "tables_created",   "new_tables_detected", "last_error",
                                         "rows_added",       "rows_removed",        "repairs",
                                         "verified"};
    EXPECT_EQ(keys, expected);
    EXPECT_EQ(json["rows_synced"], 1500000);
    EXPECT_EQ(json["repairs"][0]["target"], "dr/shard 1");
    EXPECT_TRUE(nlohmann::json::parse(syncStateJson(SyncState{}))["last_error"].is_null());
    EXPECT_TRUE(nlohmann::json::parse(syncStateJson(SyncState{}))["active_site"].is_null());
}

TEST_F(SyncStateFile, VerifiedEntriesAreWrittenAsNlohmannPrintsThem) {
    auto state = sampleState();
    state.verified.emplace("teei.events_local|eu|202401", "00ff00ff00ff00ff");
    state.verified.emplace("odd \"db\".t\\able|r\t|\u00e9t\u00e9", "0123456789abcdef");
    state.verified.emplace(std::string("nul\0key", 7), "x");
    auto text = syncStateJson(state);
    EXPECT_EQ(text, nlohmann::ordered_json::parse(text).dump(2) + "\n");
    EXPECT_EQ(nlohmann::json::parse(text)["verified"].size(), 4U);
    saveSyncState(path_, state);
    EXPECT_EQ(loadSyncState(path_), state);
}

TEST_F(SyncStateFile, ReadsTheSeedsStateFile) {
    write(R"({
  "last_check": "2024-01-15T10:00:00Z",
  "last_sync": "2024-01-15T09:30:00.123456",
  "consecutive_clean": 3,
  "failback_ready": true,
  "active_site": "dr",
  "tables_checked": 5,
  "tables_with_gaps": 0,
  "partitions_synced": 12,
  "rows_synced": 1500000,
  "new_tables_detected": [],
  "last_error": null,
  "some_future_field": {"x": 1}
})");
    LogCapture capture;
    auto state = loadSyncState(path_);
    EXPECT_EQ(capture.count("warning"), 0u) << capture.text();
    EXPECT_EQ(state.consecutive_clean, 3u);
    EXPECT_TRUE(state.failback_ready);
    EXPECT_EQ(state.active_site, "dr");
    EXPECT_EQ(state.rows_synced, 1500000u);
    EXPECT_EQ(state.last_sync, "2024-01-15T09:30:00.123456");
    EXPECT_FALSE(state.last_error);
    EXPECT_EQ(state.rows_added, 0u);
    EXPECT_TRUE(state.repairs.empty());
}

TEST_F(SyncStateFile, MissingFileIsAFreshStateWithOneInfoLine) {
    LogCapture capture;
    EXPECT_EQ(loadSyncState(path_), SyncState{});
    EXPECT_EQ(capture.count("info"), 1u) << capture.text();
    EXPECT_EQ(capture.count("warning"), 0u) << capture.text();
    EXPECT_TRUE(corruptCopies().empty());
}

TEST_F(SyncStateFile, GarbageIsAFreshStateAndKeptAside) {
    expectCorrupt("\x01\x02 not json at all", "not valid JSON");
}

TEST_F(SyncStateFile, EmptyFileIsCorrupt) {
    expectCorrupt("", "not valid JSON");
}

TEST_F(SyncStateFile, TruncatedJsonIsCorrupt) {
    auto text = syncStateJson(sampleState());
    expectCorrupt(text.substr(0, text.size() / 2), "not valid JSON");
}

TEST_F(SyncStateFile, WrongTypesAreCorrupt) {
    expectCorrupt(R"({"consecutive_clean": "three"})", "consecutive_clean");
    expectCorrupt(R"({"rows_synced": -5})", "rows_synced");
    expectCorrupt(R"({"failback_ready": "yes"})", "failback_ready");
    expectCorrupt(R"({"new_tables_detected": "db.t"})", "new_tables_detected");
    expectCorrupt(R"({"new_tables_detected": [1]})", "new_tables_detected");
    expectCorrupt(R"({"repairs": [{"rows_added": "x"}]})", "rows_added");
    expectCorrupt(R"({"verified": {"k": 1}})", "verified");
    expectCorrupt(R"({"last_error": 42})", "last_error");
    expectCorrupt(R"([1, 2, 3])", "JSON object");
}

TEST_F(SyncStateFile, UnreadableFileIsAFreshStateWithOneWarning) {
    if (::geteuid() == 0) {
        // root reads files whatever their mode: a folder in place of the file is unreadable as a file.
        fs::create_directory(path_);
    } else {
        write("{}");
        ::chmod(path_.c_str(), 0);
    }
    LogCapture capture;
    EXPECT_EQ(loadSyncState(path_), SyncState{});
    EXPECT_EQ(capture.count("warning"), 1u) << capture.text();
    EXPECT_NE(capture.text().find(path_), std::string::npos) << capture.text();
}

TEST_F(SyncStateFile, SaveCreatesTheFolder) {
    std::string nested = dir_ + "/a/b/state.json";
    saveSyncState(nested, sampleState());
    EXPECT_EQ(loadSyncState(nested), sampleState());
}

TEST(SyncState, AppendRepairKeepsTheLastHundred) {
    SyncState state;
    for (int i = 0; i < 150; ++i) {
        appendRepair(state, {"t", "db.t", std::to_string(i), "dr", 1, 0, "union"});
    }
    ASSERT_EQ(state.repairs.size(), kMaxRepairs);
    EXPECT_EQ(state.repairs.front().partition, "50");
    EXPECT_EQ(state.repairs.back().partition, "149");
}

TEST(SyncState, IsoTimestamps) {
    auto time = std::chrono::system_clock::from_time_t(1705312800);  // 2024-01-15T10:00:00Z
    EXPECT_EQ(toIsoUtc(time), "2024-01-15T10:00:00Z");
    EXPECT_EQ(fromIsoUtc("2024-01-15T10:00:00Z"), time);
    EXPECT_EQ(fromIsoUtc("2024-01-15T10:00:00"), time);
    EXPECT_EQ(fromIsoUtc("2024-01-15T10:00:00.123456Z"), time);
    EXPECT_EQ(fromIsoUtc("2024-01-15T10:00:00+00:00"), time);
    EXPECT_EQ(fromIsoUtc("2024-01-15T12:00:00+02:00"), time);
    EXPECT_FALSE(fromIsoUtc("2024-01-15"));
    EXPECT_FALSE(fromIsoUtc("2024-13-15T10:00:00Z"));
    EXPECT_FALSE(fromIsoUtc("2024-01-15T10:00:00 garbage"));
    EXPECT_FALSE(fromIsoUtc(""));
}

}  // namespace
}  // namespace chfleet::sync
