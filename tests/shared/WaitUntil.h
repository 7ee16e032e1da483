#pragma once

#include <chrono>
#include <thread>
#include <utility>

namespace chfleet::testing {

/// How long a test waits for a condition before it fails: generous, so that a slow, loaded machine passes;
/// a healthy run meets the condition in a fraction of it and never waits the whole deadline.
inline constexpr std::chrono::seconds kDefaultWait{90};

/// The one way a test here waits: polls `condition` until it holds or `deadline` passes, and says which.
/// Never sleep for a fixed time and then assert: wait for the very condition the assertion checks.
template <class Condition>
bool waitUntil(Condition&& condition, std::chrono::milliseconds deadline = kDefaultWait,
               std::chrono::milliseconds interval = std::chrono::milliseconds(50)) {
    auto until = std::chrono::steady_clock::now() + deadline;
    for (;;) {
        if (condition()) {
            return true;
        }
        if (std::chrono::steady_clock::now() >= until) {
            return false;
        }
        std::this_thread::sleep_for(interval);
    }
}

/// Polls `read` until it returns `expected` or `deadline` passes; returns the last value read, so that
/// `EXPECT_EQ(eventually(read, x), x)` shows what was there instead when it fails.
template <class Read, class Value>
auto eventually(Read&& read, const Value& expected, std::chrono::milliseconds deadline = kDefaultWait) {
    auto last = read();
    waitUntil(
        [&] {
            last = read();
            return last == expected;
        },
        deadline);
    return last;
}

}  // namespace chfleet::testing
