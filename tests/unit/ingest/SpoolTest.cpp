#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "../support/TempDir.h"
#include "ingest/write/Spool.h"

namespace chfleet::ingest {
namespace {

SpoolRecord record(int n) {
    return SpoolRecord{
        "events",
        "(`a`)",
        {{"eu-central-1", 2, "id" + std::to_string(n), 1, "row\t" + std::to_string(n) + "\n"}}};
}

TEST(Spool, AcknowledgedRecordsComeBackAfterARestartInOrder) {
    chfleet::testing::TempDir temp("chfleet-spool");
    std::string dir = temp.string();
    std::mutex mutex;
    std::map<std::string, uint64_t> segment_of;  // id -> the segment append() acknowledged it in
    {
        Spool spool(dir, 512);  // small segments: the records span several, read back in segment order
        spool.recover([](uint64_t, SpoolRecord&&) { FAIL() << "a new spool is empty"; });
        // First a few from one thread (a known total order), then four writers at once.
        for (int i = 0; i < 5; ++i) {
            segment_of[record(1000 + i).slices[0].id] = spool.append(record(1000 + i));
        }
        std::vector<std::thread> writers;
        for (int t = 0; t < 4; ++t) {
            writers.emplace_back([&spool, &mutex, &segment_of, t] {
                for (int i = 0; i < 25; ++i) {
                    uint64_t segment = spool.append(record(t * 100 + i));
                    std::lock_guard lock(mutex);
                    segment_of[record(t * 100 + i).slices[0].id] = segment;
                }
            });
        }
        for (auto& writer : writers) {
            writer.join();
        }
        EXPECT_EQ(spool.outstandingSlices(), 105u);
    }
    Spool again(dir, 512);
    std::vector<std::string> ids;
    std::vector<uint64_t> segments;
    again.recover([&](uint64_t segment, SpoolRecord&& r) {
        ASSERT_EQ(r.slices.size(), 1u);
        EXPECT_EQ(r.table, "events");
        EXPECT_EQ(r.columns, "(`a`)");
        EXPECT_EQ(r.slices[0].region, "eu-central-1");
        EXPECT_EQ(r.slices[0].shard, 2);
        EXPECT_EQ(r.slices[0].row_count, 1u);
        const std::string& id = r.slices[0].id;
        EXPECT_EQ(r.slices[0].rows, "row\t" + id.substr(2) + "\n") << id;
        EXPECT_EQ(segment, segment_of[id]) << id << " comes back from the segment it was acknowledged in";
        ids.push_back(id);
        segments.push_back(segment);
    });
    ASSERT_EQ(ids.size(), 105u);
    EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 105u) << "each record exactly once";
    EXPECT_TRUE(std::is_sorted(segments.begin(), segments.end())) << "segments are read in their order";
    EXPECT_GT(std::set<uint64_t>(segments.begin(), segments.end()).size(), 1u);
    // The single writer's records first, in the order appended.
    EXPECT_EQ(std::vector<std::string>(ids.begin(), ids.begin() + 5),
              (std::vector<std::string>{"id1000", "id1001", "id1002", "id1003", "id1004"}));
    // Each concurrent writer's records in the order it appended them (an append returns once durable, so
    // one writer's records are on disk in its own order; the writers interleave in any way).
    for (int t = 0; t < 4; ++t) {
        std::vector<std::string> expected;
        for (int i = 0; i < 25; ++i) {
            expected.push_back("id" + std::to_string(t * 100 + i));
        }
        std::vector<std::string> seen;
        for (const auto& id : ids) {
            int n = std::stoi(id.substr(2));
            if (n < 1000 && n / 100 == t) {
                seen.push_back(id);
            }
        }
        EXPECT_EQ(seen, expected) << "writer " << t;
    }
}

TEST(Spool, ATornLastRecordIsCutOffAndKeptAside) {
    chfleet::testing::TempDir temp("chfleet-spool");
    std::string dir = temp.string();
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
}

TEST(Spool, ASegmentIsDeletedOnceEverySliceIsCommittedAndItIsNoLongerWritten) {
    chfleet::testing::TempDir temp("chfleet-spool");
    std::string dir = temp.string();
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
}

}  // namespace
}  // namespace chfleet::ingest
