#pragma once

#include <string>
#include <string_view>

#include "clickhouse/Connection.h"

namespace chfleet::clickhouse {

/// A Connection to the ClickHouse 26.x engine embedded in this process through chDB's C API (libchdb.so,
/// loaded with dlopen on first use), for checks against a modern ClickHouse without a server: it parses every
/// statement chfleet generates and runs single-node features 18.16 lacks. chDB allows one engine per process,
/// so all EmbeddedConnections share it (in memory, never written to disk) and run their statements one at a
/// time. Settings are applied with SET for the one statement and reset to their defaults after it.
class EmbeddedConnection final : public Connection {
  public:
    /// Loads the engine on first use; throws Exception(IoError) when the library is absent or cannot be
    /// loaded.
    EmbeddedConnection();

    /// Runs `sql` (with `data` after a newline, as ClickHouse's HTTP interface joins them) and returns the
    /// answer in TabSeparated unless `sql` has a FORMAT clause.
    std::string execute(std::string_view sql, std::string_view data = {},
                        const Settings& settings = {}) override;
    std::string describe() const override { return "embedded"; }

    /// The library path: $CHFLEET_CHDB_LIB, else <source dir>/third_party/chdb/libchdb.so.
    static std::string libraryPath();
    /// True when the library file exists and can be read (it is loaded only by the first connection).
    static bool available();
    /// Why available() is false, for a test's skip message; empty when it is true.
    static std::string unavailableReason();
};

}  // namespace chfleet::clickhouse
