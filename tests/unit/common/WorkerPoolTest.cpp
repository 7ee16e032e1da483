#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "common/WorkerPool.h"
#include "shared/WaitUntil.h"

namespace {

TEST(WorkerPool, RunsEveryTaskOnItsThreadsAndPassesFailuresToTheFuture) {
    chfleet::WorkerPool pool(3);
    EXPECT_EQ(pool.threads(), 3u);
    std::mutex mutex;
    std::set<std::thread::id> threads;
    auto note_thread = [&] {
        std::lock_guard lock(mutex);
        threads.insert(std::this_thread::get_id());
    };
    // Three tasks that each wait until all three are running: they meet only if the pool runs them on three
    // threads at once.
    std::atomic<int> arrived{0};
    std::atomic<int> met{0};
    std::vector<std::future<void>> done;
    for (int i = 0; i < 3; ++i) {
        done.push_back(pool.run([&] {
            note_thread();
            ++arrived;
            if (chfleet::testing::waitUntil([&] { return arrived.load() == 3; })) {
                ++met;
            }
        }));
    }
    std::atomic<int> ran{0};
    for (int i = 0; i < 100; ++i) {
        done.push_back(pool.run([&] {
            note_thread();
            ++ran;
        }));
    }
    auto failing = pool.run([] { throw std::runtime_error("task failed"); });
    for (auto& future : done) {
        future.get();
    }
    EXPECT_EQ(met.load(), 3) << "the first three tasks ran at the same time";
    EXPECT_EQ(ran.load(), 100);
    EXPECT_EQ(threads.size(), 3u) << "every task ran on one of the pool's three threads";
    EXPECT_EQ(threads.count(std::this_thread::get_id()), 0u);
    try {
        failing.get();
        FAIL() << "the task's exception did not reach its future";
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "task failed");
    }
}

TEST(WorkerPool, RunsWhatIsQueuedBeforeItStops) {
    std::vector<int> order;  // one thread: no lock needed, and read only after the pool joined it
    {
        chfleet::WorkerPool pool(1);
        for (int i = 0; i < 20; ++i) {
            pool.run([&order, i] {
                std::this_thread::sleep_for(std::chrono::milliseconds(1));  // still queued when the pool goes
                order.push_back(i);
            });
        }
    }
    std::vector<int> expected;
    for (int i = 0; i < 20; ++i) {
        expected.push_back(i);
    }
    EXPECT_EQ(order, expected);
}

}  // namespace
