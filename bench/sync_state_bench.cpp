// Cost of chfleet sync's state file at the size of a large fleet: 1,000 tables x 30 partitions verified
// (30,000 `verified` entries), written and read back as every daemon cycle does.
// Built as chfleet_sync_state_bench with everything else; run: build/chfleet_sync_state_bench
#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <unistd.h>

#include <string>

#include "sync/SyncState.h"

namespace {

/// A state as a steady cycle leaves it: each verified partition keyed "db.table|region|partition id", with
/// the 16-hex-digit fingerprint digest the engine stores.
chfleet::sync::SyncState largeState(int tables, int partitions) {
    chfleet::sync::SyncState state;
    state.last_check = "2026-12-03T08:00:00Z";
    for (int t = 0; t < tables; ++t) {
        for (int p = 0; p < partitions; ++p) {
            state.verified.emplace(fmt::format("bench.t{}|main|202611{:02}", t, p + 1),
                                   fmt::format("{:016x}", 1234567890123456789ULL * (t + 1) + p));
        }
    }
    return state;
}

std::string statePath() {
    return fmt::format("/tmp/chfleet-sync-state-bench-{}.json", ::getpid());
}

void BM_SaveState(benchmark::State& bench) {
    auto state = largeState(1000, 30);
    for (auto _ : bench) {
        chfleet::sync::saveSyncState(statePath(), state);
    }
    ::unlink(statePath().c_str());
}
BENCHMARK(BM_SaveState)->Unit(benchmark::kMillisecond);

void BM_LoadState(benchmark::State& bench) {
    chfleet::sync::saveSyncState(statePath(), largeState(1000, 30));
    for (auto _ : bench) {
        auto state = chfleet::sync::loadSyncState(statePath());
        benchmark::DoNotOptimize(state);
    }
    ::unlink(statePath().c_str());
}
BENCHMARK(BM_LoadState)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
