#include "clickhouse/RetryPolicy.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "clickhouse/Connection.h"
#include "clickhouse/ServerError.h"
#include "common/Log.h"

namespace chfleet::clickhouse {

namespace {

/// ClickHouse error codes retried by chfleet. Drawn from ClickHouse's own Kafka connector (the list its
/// maintainers retry inserts on) and from what 18.16 answers while a keeper or a replica is away; each kept
/// only when the condition passes by itself. Left out on purpose: 164 READONLY (a user setting, not a state),
/// 241 MEMORY_LIMIT_EXCEEDED (the same statement usually needs the same memory again), 107 FILE_DOESNT_EXIST
/// and 1002 UNKNOWN_EXCEPTION (too vague).
constexpr int kRetryableCodes[] = {
    // a connection between servers dropped mid-transfer
    server_code::kUnexpectedEndOfFile,
    // distributed DDL still running on some host after distributed_ddl_task_timeout
    server_code::kTimeoutExceeded,
    // max_concurrent_queries reached, frees up as queries end
    server_code::kTooManySimultaneousQueries,
    // a connection pool to another server is exhausted for now
    server_code::kNoFreeConnection,
    // a server-to-server socket timed out
    server_code::kSocketTimeout,
    // a server-to-server connection failed (refused, reset)
    server_code::kNetworkError,
    // the server has no keeper session at the moment
    server_code::kNoZookeeper,
    // a Replicated table lost its keeper session; writable ~3 s after it returns
    server_code::kTableIsReadOnly,
    // inserts are throttled until merges catch up
    server_code::kTooManyParts,
    // every replica of a shard was unreachable (restart, network blip)
    server_code::kAllConnectionTriesFailed,
    // insert_quorum cannot be met while a replica is down
    server_code::kTooFewLiveReplicas,
    // keeper lost during an insert; retrying is safe with insert deduplication
    server_code::kUnknownStatusOfInsert,
    // a system call failed (EAGAIN and the like)
    server_code::kSystemError,
    // a replicated ALTER/TRUNCATE met a leader election (after a replica restart)
    server_code::kLeadershipChanged,
    // keeper session expired or connection lost (ON CLUSTER DDL, mutations)
    server_code::kKeeperException,
};

}  // namespace

bool isRetryableServerCode(int code) {
    return std::find(std::begin(kRetryableCodes), std::end(kRetryableCodes), code) !=
           std::end(kRetryableCodes);
}

bool isRetryable(const std::exception& error) {
    if (const auto* server = dynamic_cast<const ServerException*>(&error)) {
        return isRetryableServerCode(server->serverCode());
    }
    if (dynamic_cast<const ServerStalled*>(&error) != nullptr) {
        return false;  // a frozen host: one stall timeout is the bound, not one per attempt
    }
    if (const auto* chfleet_error = dynamic_cast<const Exception*>(&error)) {
        return chfleet_error->code() == ErrorCode::ConnectionFailed ||
               chfleet_error->code() == ErrorCode::Timeout;
    }
    return false;
}

std::chrono::milliseconds retryDelay(const RetryPolicy& policy, int attempt, double jitter) {
    double base = static_cast<double>(policy.initial_delay.count()) *
                  std::pow(std::max(policy.multiplier, 1.0), std::max(attempt - 1, 0));
    double capped = std::min(base, static_cast<double>(policy.max_delay.count()));
    double scaled = capped * (0.5 + 0.5 * std::clamp(jitter, 0.0, 1.0));
    return std::chrono::milliseconds(static_cast<int64_t>(std::llround(scaled)));
}

std::chrono::milliseconds nextRetryDelay(const RetryPolicy& policy, int attempt) {
    thread_local std::mt19937_64 generator{std::random_device{}()};
    std::uniform_real_distribution<double> distribution(0.0, 1.0);
    return retryDelay(policy, attempt, distribution(generator));
}

void logRetry(std::string_view what, int attempt, int max_attempts, std::chrono::milliseconds delay,
              const std::exception& error) {
    log::get("clickhouse")
        ->warn("{}: attempt {} of {} failed, retrying in {} ms: {}", what, attempt, max_attempts,
               delay.count(), error.what());
}

}  // namespace chfleet::clickhouse
