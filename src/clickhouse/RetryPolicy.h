#pragma once

#include <chrono>
#include <exception>
#include <string>
#include <string_view>
#include <thread>

#include "common/Exception.h"

namespace chfleet::clickhouse {

/// How often and how long to retry a statement that failed for a reason that may pass by itself: bounded
/// exponential backoff with jitter, a cap on attempts and an overall deadline. Retrying is only safe for a
/// statement that is idempotent or deduplicated (DDL with IF [NOT] EXISTS, INSERT into a Replicated table
/// with insert_deduplicate, a SELECT); the caller decides that by choosing to call withRetry.
struct RetryPolicy {
    int max_attempts = 5;                          ///< attempts in all, the first one included
    std::chrono::milliseconds initial_delay{200};  ///< pause before the second attempt
    std::chrono::milliseconds max_delay{10000};    ///< cap of one pause
    double multiplier = 2.0;                       ///< growth of the pause per attempt
    std::chrono::milliseconds deadline{120000};    ///< no attempt starts later than this after the first one
};

/// True for a failure worth retrying: Exception ConnectionFailed or Timeout (but not ServerStalled: a server
/// that stopped answering mid-statement is reported at once), or a ServerException whose code is in the list
/// of transient ClickHouse errors (see isRetryableServerCode).
bool isRetryable(const std::exception& error);

/// True for ClickHouse error codes that describe a passing condition (keeper session lost, replica read-only,
/// too many parts, network trouble between servers, ...). The list and the reason for each are in
/// RetryPolicy.cpp.
bool isRetryableServerCode(int code);

/// The pause before attempt `attempt` + 1 (attempt counts from 1): initial_delay * multiplier^(attempt-1),
/// capped at max_delay, then scaled by `jitter` in [0, 1] to between half and all of it (equal jitter).
std::chrono::milliseconds retryDelay(const RetryPolicy& policy, int attempt, double jitter);

/// retryDelay with a random jitter.
std::chrono::milliseconds nextRetryDelay(const RetryPolicy& policy, int attempt);

/// Logs one retry on the "clickhouse" logger.
void logRetry(std::string_view what, int attempt, int max_attempts, std::chrono::milliseconds delay,
              const std::exception& error);

/// Calls `fn` until it returns, retrying failures that isRetryable accepts while the policy allows, each
/// retry logged with `what` (the node or operation, for the administrator). Rethrows the last error
/// unchanged; any other error propagates at once.
template <typename Fn>
auto withRetry(const RetryPolicy& policy, std::string_view what, Fn&& fn) -> decltype(fn()) {
    auto start = std::chrono::steady_clock::now();
    for (int attempt = 1;; ++attempt) {
        try {
            return fn();
        } catch (const Exception& error) {
            if (!isRetryable(error) || attempt >= policy.max_attempts) {
                throw;
            }
            auto delay = nextRetryDelay(policy, attempt);
            if (std::chrono::steady_clock::now() + delay - start > policy.deadline) {
                throw;
            }
            logRetry(what, attempt, policy.max_attempts, delay, error);
            std::this_thread::sleep_for(delay);
        }
    }
}

}  // namespace chfleet::clickhouse
