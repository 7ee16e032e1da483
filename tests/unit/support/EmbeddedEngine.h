#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <string_view>

#include "shared/EmbeddedConnection.h"

namespace chfleet::testing {

/// True when CHFLEET_SKIP_EMBEDDED_ENGINE=1: the run leaves the embedded engine out on purpose (the sanitizer
/// build, for which libchdb.so is not built).
inline bool embeddedEngineSkippedOnPurpose() {
    const char* value = std::getenv("CHFLEET_SKIP_EMBEDDED_ENGINE");
    return value != nullptr && std::string_view(value) == "1";
}

}  // namespace chfleet::testing

/// The first statement of every test (or fixture SetUp) that needs the embedded ClickHouse engine
/// (libchdb.so). When the engine is unavailable the test FAILS with the reason, so that a run without the
/// library cannot pass unnoticed; only with CHFLEET_SKIP_EMBEDDED_ENGINE=1 (make asan) is it skipped, saying
/// so.
#define CHFLEET_REQUIRE_EMBEDDED_ENGINE()                                                       \
    do {                                                                                        \
        if (!::chfleet::clickhouse::EmbeddedConnection::available()) {                          \
            if (::chfleet::testing::embeddedEngineSkippedOnPurpose()) {                         \
                GTEST_SKIP() << "embedded ClickHouse engine skipped on purpose "                \
                                "(CHFLEET_SKIP_EMBEDDED_ENGINE=1, sanitizer build): "           \
                             << ::chfleet::clickhouse::EmbeddedConnection::unavailableReason(); \
            }                                                                                   \
            FAIL() << "embedded ClickHouse engine unavailable: "                                \
                   << ::chfleet::clickhouse::EmbeddedConnection::unavailableReason()            \
                   << " (set CHFLEET_SKIP_EMBEDDED_ENGINE=1 only to leave it out on purpose)";  \
        }                                                                                       \
    } while (false)
