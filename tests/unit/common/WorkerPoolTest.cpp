#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <stdexcept>
#include <thread>

#include "common/WorkerPool.h"

namespace {

TEST(WorkerPool, RunsEveryTaskOnItsThreadsAndPassesFailuresToTheFuture) {
    chfleet::WorkerPool pool(3);
    EXPECT_EQ(pool.threads(), 3u);
    std::mutex mutex;
    std::set<std::thread::id> threads;
    std::atomic<int> ran{0};
    std::vector<std::future<void>> done;
    for (int i = 0; i < 100; ++i) {
        done.push_back(pool.run([&] {
            std::this_thread::sleep_for(std::chrono::microseconds(200));
            std::lock_guard lock(mutex);
            threads.insert(std::this_thread::get_id());
            ++ran;
        }));
    }
    auto failing = pool.run([] { throw std::runtime_error("task failed"); });
    for (auto& future : done) {
        future.get();
    }
    EXPECT_EQ(ran.load(), 100);
    EXPECT_EQ(threads.count(std::this_thread::get_id()), 0u);
    EXPECT_GE(threads.size(), 2u);
    EXPECT_LE(threads.size(), 3u);
    EXPECT_THROW(failing.get(), std::runtime_error);
}

TEST(WorkerPool, RunsWhatIsQueuedBeforeItStops) {
    std::atomic<int> ran{0};
    {
        chfleet::WorkerPool pool(1);
        for (int i = 0; i < 20; ++i) {
            pool.run([&] {
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
                ++ran;
            });
        }
    }
    EXPECT_EQ(ran.load(), 20);
}

}  // namespace
