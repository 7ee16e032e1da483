#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "ingest/Spool.h"

namespace chfleet::ingest {
namespace {

std::string tempDir() {
    char pattern[] = "/tmp/chfleet-spool-XXXXXX";
    return ::mkdtemp(pattern);
}

SpoolRecord record(int n) {
    return SpoolRecord{
        "events",
        "(`a`)",
        {{"eu-central-1", 2, "id" + std::to_string(n), 1, "row\t" + std::to_string(n) + "\n"}}};
}

TEST(Spool, AcknowledgedRecordsComeBackAfterARestartInOrder) {
    std::string dir = tempDir();
    {
        Spool spool(dir, 1 << 20);
        spool.recover([](uint64_t, SpoolRecord&&) { FAIL() << "a new spool is empty"; });
        std::vector<std::thread> writers;
        for (int t = 0; t < 4; ++t) {
            writers.emplace_back([&spool, t] {
                for (int i = 0; i < 25; ++i) {
                    spool.append(record(t * 100 + i));
                }
            });
        }
        for (auto& writer : writers) {
            writer.join();
        }
        EXPECT_EQ(spool.outstandingSlices(), 100u);
    }
    Spool again(dir, 1 << 20);
    std::set<std::string> ids;
    again.recover([&](uint64_t segment, SpoolRecord&& r) {
        EXPECT_GT(segment, 0u);
        ASSERT_EQ(r.slices.size(), 1u);
        EXPECT_EQ(r.table, "events");
        EXPECT_EQ(r.slices[0].region, "eu-central-1");
        EXPECT_EQ(r.slices[0].shard, 2);
        ids.insert(r.slices[0].id);
    });
    EXPECT_EQ(ids.size(), 100u);
    std::filesystem::remove_all(dir);
}

TEST(Spool, ATornLastRecordIsCutOffAndKeptAside) {
    std::string dir = tempDir();
    std::string segment_path;
    {
        Spool spool(dir, 1 << 20);
        spool.recover([](uint64_t, SpoolRecord&&) {});
        spool.append(record(1));
        spool.append(record(2));
    }
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        if (entry.path().extension() == ".spool" && std::filesystem::file_size(entry.path()) > 0) {
            segment_path = entry.path();
        }
    }
    ASSERT_FALSE(segment_path.empty());
    auto size = std::filesystem::file_size(segment_path);
    std::filesystem::resize_file(segment_path, size - 3);  // the second record loses its end
    Spool again(dir, 1 << 20);
    std::vector<std::string> ids;
    again.recover([&](uint64_t, SpoolRecord&& r) { ids.push_back(r.slices[0].id); });
    EXPECT_EQ(ids, (std::vector<std::string>{"id1"}));
    EXPECT_TRUE(std::filesystem::exists(segment_path + ".torn"));
    std::filesystem::remove_all(dir);
}

TEST(Spool, ASegmentIsDeletedOnceEverySliceIsCommittedAndItIsNoLongerWritten) {
    std::string dir = tempDir();
    Spool spool(dir, 64);  // tiny segments: every record starts a new one
    spool.recover([](uint64_t, SpoolRecord&&) {});
    uint64_t first = spool.append(record(1));
    uint64_t second = spool.append(record(2));
    uint64_t third = spool.append(record(3));
    EXPECT_NE(first, second);
    auto path = [&](uint64_t segment) { return fmt::format("{}/segment-{:012}.spool", dir, segment); };
    EXPECT_TRUE(std::filesystem::exists(path(first)));
    spool.release(first);
    EXPECT_FALSE(std::filesystem::exists(path(first)));
    EXPECT_TRUE(std::filesystem::exists(path(second)));
    spool.release(second);
    EXPECT_FALSE(std::filesystem::exists(path(second)));
    spool.release(third);
    EXPECT_EQ(spool.outstandingSlices(), 0u);
    spool.stop();
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace chfleet::ingest
