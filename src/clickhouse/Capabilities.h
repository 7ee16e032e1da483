#pragma once

#include <string>
#include <string_view>

#include "clickhouse/Connection.h"
#include "clickhouse/Result.h"

namespace chfleet::clickhouse {

/// A ClickHouse version number: the first three parts of version() ("23.8.1.1" -> 23, 8, 1).
struct ServerVersion {
    int major = 0;
    int minor = 0;
    int patch = 0;

    bool atLeast(int want_major, int want_minor) const {
        return major > want_major || (major == want_major && minor >= want_minor);
    }
};

/// Parses the text of version(); throws Exception(BadResponse) when it does not start with "<int>.<int>".
ServerVersion parseServerVersion(std::string_view text);

/// What one server can do, so that callers pick the mechanism that works there rather than assume a version.
/// Syntax features follow the version they appeared in; build- and configuration-dependent ones are probed.
struct ServerCapabilities {
    std::string version;  ///< version() as the server prints it
    int major = 0;
    int minor = 0;
    int patch = 0;
    bool ttl = false;                         ///< TTL clauses in CREATE/ALTER TABLE (19.6+)
    bool lightweight_delete = false;          ///< DELETE FROM t WHERE ... (23.3+)
    bool query_parameters = false;            ///< {name:Type} placeholders, param_<name> over HTTP (19.11+)
    bool remote_secure = false;               ///< table function remoteSecure (probe: system.table_functions)
    bool max_insert_threads = false;          ///< setting max_insert_threads (probe: system.settings)
    bool insert_deduplication_token = false;  ///< setting insert_deduplication_token (probe: system.settings)
    bool system_disks = false;                ///< table system.disks (probe: system.tables)
    bool ttl_only_drop_parts = false;  ///< MergeTree setting ttl_only_drop_parts (probe: merge_tree_settings)

    bool atLeast(int want_major, int want_minor) const {
        return ServerVersion{major, minor, patch}.atLeast(want_major, want_minor);
    }
};

/// The capabilities a version implies; probed ones stay false.
ServerCapabilities capabilitiesForVersion(std::string_view version);

/// The one query detectCapabilities sends (works on 18.16 and later).
std::string capabilitiesProbeSql();

/// Capabilities from the answer to capabilitiesProbeSql().
ServerCapabilities capabilitiesFromProbe(const Result& probe);

/// Asks the server, in one query, for its version and the probed capabilities.
ServerCapabilities detectCapabilities(Connection& connection);

}  // namespace chfleet::clickhouse
