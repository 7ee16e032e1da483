#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>

#include "clickhouse/Connection.h"
#include "clickhouse/RetryPolicy.h"
#include "common/Exception.h"

namespace chfleet::clickhouse {
namespace {

using std::chrono::milliseconds;

RetryPolicy fastPolicy(int max_attempts) {
    RetryPolicy policy;
    policy.max_attempts = max_attempts;
    policy.initial_delay = milliseconds(1);
    policy.max_delay = milliseconds(4);
    policy.deadline = milliseconds(10000);
    return policy;
}

/// A function that fails `failures` times with `error`, then returns the number of calls.
template <typename Error>
struct FailingFunction {
    int failures;
    Error error;
    int calls = 0;

    int operator()() {
        ++calls;
        if (calls <= failures) {
            throw error;
        }
        return calls;
    }
};

TEST(RetryPolicyTest, RetriesConnectionFailuresUntilSuccess) {
    FailingFunction<Exception> fn{2, Exception(ErrorCode::ConnectionFailed, "refused")};
    EXPECT_EQ(withRetry(fastPolicy(5), "n1", [&] { return fn(); }), 3);
    EXPECT_EQ(fn.calls, 3);
}

TEST(RetryPolicyTest, RetriesTimeoutsAndTransientServerErrors) {
    FailingFunction<Exception> timeout{1, Exception(ErrorCode::Timeout, "slow")};
    EXPECT_EQ(withRetry(fastPolicy(3), "n1", [&] { return timeout(); }), 2);

    FailingFunction<ServerException> read_only{3,
                                               ServerException(242, "Table is in readonly mode", "n1:8123")};
    EXPECT_EQ(withRetry(fastPolicy(5), "n1", [&] { return read_only(); }), 4);
}

TEST(RetryPolicyTest, GivesUpAfterMaxAttemptsWithTheLastError) {
    FailingFunction<ServerException> fn{10, ServerException(999, "Session expired", "n1:8123")};
    try {
        withRetry(fastPolicy(3), "n1", [&] { return fn(); });
        FAIL() << "expected the error";
    } catch (const ServerException& e) {
        EXPECT_EQ(e.serverCode(), 999);
    }
    EXPECT_EQ(fn.calls, 3);
}

TEST(RetryPolicyTest, OtherErrorsFailAtOnce) {
    FailingFunction<ServerException> unknown_table{5,
                                                   ServerException(60, "Table x doesn't exist", "n1:8123")};
    EXPECT_THROW(withRetry(fastPolicy(5), "n1", [&] { return unknown_table(); }), ServerException);
    EXPECT_EQ(unknown_table.calls, 1);

    FailingFunction<Exception> bad_response{5, Exception(ErrorCode::BadResponse, "garbage")};
    EXPECT_THROW(withRetry(fastPolicy(5), "n1", [&] { return bad_response(); }), Exception);
    EXPECT_EQ(bad_response.calls, 1);

    // A server that stopped answering mid-statement counts as unreachable at once: retrying would multiply
    // the stall timeout a frozen host costs.
    FailingFunction<ServerStalled> stalled{5, ServerStalled(ErrorCode::Timeout, "stopped answering")};
    EXPECT_THROW(withRetry(fastPolicy(5), "n1", [&] { return stalled(); }), ServerStalled);
    EXPECT_EQ(stalled.calls, 1);

    FailingFunction<std::runtime_error> foreign{5, std::runtime_error("not ours")};
    EXPECT_THROW(withRetry(fastPolicy(5), "n1", [&] { return foreign(); }), std::runtime_error);
    EXPECT_EQ(foreign.calls, 1);
}

TEST(RetryPolicyTest, DeadlineStopsRetrying) {
    // Pauses far apart so that the count does not depend on the jitter or on how loaded the machine is: the
    // first pause is 10..20 ms and fits into the 1 s deadline; the second is 1..2 s and never fits, however
    // fast the first attempts were. Far fewer than max_attempts run.
    RetryPolicy policy = fastPolicy(100);
    policy.initial_delay = milliseconds(20);
    policy.multiplier = 100.0;
    policy.max_delay = milliseconds(10000);
    policy.deadline = milliseconds(1000);
    EXPECT_EQ(retryDelay(policy, 1, 1.0), milliseconds(20));
    EXPECT_EQ(retryDelay(policy, 2, 0.0), milliseconds(1000));
    FailingFunction<Exception> fn{100, Exception(ErrorCode::ConnectionFailed, "refused")};
    try {
        withRetry(policy, "n1", [&] { return fn(); });
        FAIL() << "expected the error";
    } catch (const Exception& e) {
        EXPECT_EQ(e.code(), ErrorCode::ConnectionFailed);
        EXPECT_STREQ(e.what(), "refused");
    }
    EXPECT_EQ(fn.calls, 2) << "one retry within the deadline, then the last error";

    // A first pause that alone overruns the deadline: no retry at all.
    policy.initial_delay = milliseconds(4000);
    FailingFunction<Exception> once{100, Exception(ErrorCode::Timeout, "slow")};
    EXPECT_THROW(withRetry(policy, "n1", [&] { return once(); }), Exception);
    EXPECT_EQ(once.calls, 1);
}

TEST(RetryPolicyTest, VoidFunctions) {
    int calls = 0;
    withRetry(fastPolicy(3), "n1", [&] {
        if (++calls < 2) {
            throw Exception(ErrorCode::Timeout, "slow");
        }
    });
    EXPECT_EQ(calls, 2);
}

TEST(RetryPolicyTest, DelayGrowsExponentiallyWithinBounds) {
    RetryPolicy policy;
    policy.initial_delay = milliseconds(100);
    policy.max_delay = milliseconds(1000);
    policy.multiplier = 2.0;
    EXPECT_EQ(retryDelay(policy, 1, 1.0), milliseconds(100));
    EXPECT_EQ(retryDelay(policy, 2, 1.0), milliseconds(200));
    EXPECT_EQ(retryDelay(policy, 3, 1.0), milliseconds(400));
    EXPECT_EQ(retryDelay(policy, 5, 1.0), milliseconds(1000));
    EXPECT_EQ(retryDelay(policy, 50, 1.0), milliseconds(1000));
    EXPECT_EQ(retryDelay(policy, 1, 0.0), milliseconds(50));
    EXPECT_EQ(retryDelay(policy, 5, 0.0), milliseconds(500));
    for (int i = 0; i < 100; ++i) {
        auto delay = nextRetryDelay(policy, 2);
        EXPECT_GE(delay, milliseconds(100));
        EXPECT_LE(delay, milliseconds(200));
    }
}

TEST(RetryPolicyTest, RetryableCodes) {
    for (int code : {3, 159, 202, 203, 209, 210, 225, 242, 252, 279, 285, 319, 425, 999}) {
        EXPECT_TRUE(isRetryableServerCode(code)) << code;
    }
    for (int code : {0, 46, 60, 62, 115, 164, 193, 241, 516, 1002}) {
        EXPECT_FALSE(isRetryableServerCode(code)) << code;
    }
    EXPECT_TRUE(isRetryable(Exception(ErrorCode::ConnectionFailed, "x")));
    EXPECT_TRUE(isRetryable(Exception(ErrorCode::Timeout, "x")));
    EXPECT_FALSE(isRetryable(Exception(ErrorCode::InvalidConfig, "x")));
    EXPECT_FALSE(isRetryable(std::runtime_error("x")));
}

}  // namespace
}  // namespace chfleet::clickhouse
