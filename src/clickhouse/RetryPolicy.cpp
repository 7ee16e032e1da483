#include "clickhouse/RetryPolicy.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "common/Log.h"

namespace chfleet::clickhouse {

namespace {

/// ClickHouse error codes retried by chfleet. Drawn from ClickHouse's own Kafka connector (the list its
/// maintainers retry inserts on) and from what 18.16 answers while a keeper or a replica is away; each kept
/// only when the condition passes by itself. Left out on purpose: 164 READONLY (a user setting, not a state),
/// 241 MEMORY_LIMIT_EXCEEDED (the same statement usually needs the same memory again), 107 FILE_DOESNT_EXIST
/// and 1002 UNKNOWN_EXCEPTION (too vague).
constexpr int retryable_codes[] = {
    3,    // UNEXPECTED_END_OF_FILE: a connection between servers dropped mid-transfer
    159,  // TIMEOUT_EXCEEDED: distributed DDL still running on some host after distributed_ddl_task_timeout
    202,  // TOO_MANY_SIMULTANEOUS_QUERIES: max_concurrent_queries reached, frees up as queries end
    203,  // NO_FREE_CONNECTION: a connection pool to another server is exhausted for now
    209,  // SOCKET_TIMEOUT: a server-to-server socket timed out
    210,  // NETWORK_ERROR: a server-to-server connection failed (refused, reset)
    225,  // NO_ZOOKEEPER: the server has no keeper session at the moment
    242,  // TABLE_IS_READ_ONLY: a Replicated table lost its keeper session; writable ~3 s after it returns
    252,  // TOO_MANY_PARTS: inserts are throttled until merges catch up
    279,  // ALL_CONNECTION_TRIES_FAILED: every replica of a shard was unreachable (restart, network blip)
    285,  // TOO_FEW_LIVE_REPLICAS: insert_quorum cannot be met while a replica is down
    319,  // UNKNOWN_STATUS_OF_INSERT: keeper lost during an insert; retrying is safe with insert
          // deduplication
    425,  // SYSTEM_ERROR: a system call failed (EAGAIN and the like)
    292,  // LEADERSHIP_CHANGED: a replicated ALTER/TRUNCATE met a leader election (after a replica restart)
    999,  // KEEPER_EXCEPTION: keeper session expired or connection lost (ON CLUSTER DDL, mutations)
};

}  // namespace

bool isRetryableServerCode(int code) {
    return std::find(std::begin(retryable_codes), std::end(retryable_codes), code) !=
           std::end(retryable_codes);
}

bool isRetryable(const std::exception& error) {
    if (const auto* server = dynamic_cast<const ServerException*>(&error)) {
        return isRetryableServerCode(server->serverCode());
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
