#include "clickhouse/Capabilities.h"

#include <charconv>

#include "common/Exception.h"

namespace chfleet::clickhouse {

namespace {

/// Reads the number at the start of `text` and the '.' after it, if any.
bool readPart(std::string_view& text, int& value) {
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || value < 0) {
        return false;
    }
    text.remove_prefix(static_cast<size_t>(end - text.data()));
    return true;
}

}  // namespace

ServerVersion parseServerVersion(std::string_view text) {
    std::string_view rest = text;
    ServerVersion version;
    bool ok = readPart(rest, version.major) && rest.starts_with('.');
    if (ok) {
        rest.remove_prefix(1);
        ok = readPart(rest, version.minor);
    }
    if (ok && rest.starts_with('.')) {
        rest.remove_prefix(1);
        if (!readPart(rest, version.patch)) {
            version.patch = 0;
        }
    }
    if (!ok) {
        throw Exception(ErrorCode::BadResponse,
                        "'{}' is not a ClickHouse version (expected major.minor[.patch...])", text);
    }
    return version;
}

ServerCapabilities capabilitiesForVersion(std::string_view version_text) {
    ServerVersion version = parseServerVersion(version_text);
    ServerCapabilities capabilities;
    capabilities.version = std::string(version_text);
    capabilities.major = version.major;
    capabilities.minor = version.minor;
    capabilities.patch = version.patch;
    capabilities.ttl = version.atLeast(19, 6);
    capabilities.lightweight_delete = version.atLeast(23, 3);
    capabilities.query_parameters = version.atLeast(19, 11);
    return capabilities;
}

std::string capabilitiesProbeSql() {
    // Scalar subqueries over system tables every version since 18.16 has. remoteSecure is a table function,
    // so it is listed in system.table_functions (not system.functions); builds without TLS lack it.
    return "SELECT version() AS version, "
           "(SELECT count() FROM system.table_functions WHERE name = 'remoteSecure') AS remote_secure, "
           "(SELECT count() FROM system.settings WHERE name = 'max_insert_threads') AS max_insert_threads, "
           "(SELECT count() FROM system.settings WHERE name = 'insert_deduplication_token') "
           "AS insert_deduplication_token, "
           "(SELECT count() FROM system.tables WHERE database = 'system' AND name = 'disks') AS "
           "system_disks, "
           "(SELECT count() FROM system.merge_tree_settings WHERE name = 'ttl_only_drop_parts') "
           "AS ttl_only_drop_parts";
}

ServerCapabilities capabilitiesFromProbe(const Result& probe) {
    if (probe.rowCount() != 1) {
        throw Exception(ErrorCode::BadResponse, "the capability probe returned {} rows instead of one",
                        probe.rowCount());
    }
    ServerCapabilities capabilities = capabilitiesForVersion(probe.getString(0, "version"));
    // Newer servers type a scalar subquery as Nullable(UInt64); a count is never NULL.
    capabilities.remote_secure = probe.getUInt64(0, "remote_secure") > 0;
    capabilities.max_insert_threads = probe.getUInt64(0, "max_insert_threads") > 0;
    capabilities.insert_deduplication_token = probe.getUInt64(0, "insert_deduplication_token") > 0;
    capabilities.system_disks = probe.getUInt64(0, "system_disks") > 0;
    capabilities.ttl_only_drop_parts = probe.getUInt64(0, "ttl_only_drop_parts") > 0;
    return capabilities;
}

ServerCapabilities detectCapabilities(Connection& connection) {
    return capabilitiesFromProbe(query(connection, capabilitiesProbeSql()));
}

}  // namespace chfleet::clickhouse
