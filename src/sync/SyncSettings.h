#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "clickhouse/Connection.h"

namespace chfleet::sync {

/// Which of the two sites a chfleet sync instance runs at (ROLE), or which one is active (CHSYNC_ACTIVE).
enum class SiteRole { Primary, Dr };

/// How a partition that differs is repaired on the passive site (CHSYNC_POLICY).
enum class SyncPolicy {
    Union,   ///< both sites end with every row either had, without duplicates (the default)
    Mirror,  ///< the passive site becomes an exact copy of the active one; passive-only rows are removed
};

/// "primary" / "dr".
std::string_view siteRoleName(SiteRole role);
/// "union" / "mirror".
std::string_view syncPolicyName(SyncPolicy policy);

/// Every setting of chfleet sync, typed, with its default. The CH-Sync environment variable names map 1:1
/// onto these fields (see applyEnvironment), so an existing CH-Sync .env file works unchanged; chfleet's own
/// settings use the CHSYNC_ prefix. Precedence is applied by the caller: defaults < fleet file < environment
/// < flags.
struct SyncSettings {
    std::optional<SiteRole> role;  ///< ROLE: the site this instance runs at; required

    std::string local_ch_url;            ///< LOCAL_CH_URL: http(s)://host:port of the local HTTP interface
    std::string remote_ch_url;           ///< REMOTE_CH_URL: the other site's HTTP interface
    std::string remote_ch_host;          ///< REMOTE_CH_HOST: the other site's host for remote() (native port)
    uint16_t remote_ch_port = 9000;      ///< REMOTE_CH_PORT
    std::string local_user = "default";  ///< LOCAL_CH_USER
    std::string local_password;          ///< LOCAL_CH_PASSWORD: secret, never logged
    std::string remote_user = "default";  ///< REMOTE_CH_USER
    std::string remote_password;          ///< REMOTE_CH_PASSWORD: secret, never logged

    std::string dns_record;  ///< DNS_RECORD: the failover record whose A answer names the active site
    std::string dns_server;  ///< DNS_SERVER: "ip" or "ip:port"; empty: the system resolver
    std::string primary_ip;  ///< PRIMARY_IP: the record's value while the primary site is active
    std::string dr_ip;       ///< DR_IP: the record's value while the DR site is active
    std::chrono::milliseconds dns_timeout{3000};  ///< CHSYNC_DNS_TIMEOUT_MS: total time for one lookup

    std::chrono::seconds check_interval{300};  ///< CHECK_INTERVAL: seconds between cycles of the daemon
    std::vector<std::string> exclude_patterns = {
        "system.*", "INFORMATION_SCHEMA.*", "information_schema.*", "_*", "*_temp", "*_staging"};
    ///< CH_EXCLUDE_PATTERNS (comma-separated globs, see matchesExcludePattern)
    std::chrono::milliseconds connect_timeout{2000};  ///< CONNECT_TIMEOUT_MS: for remote() and HTTP connects
    unsigned max_insert_threads = 4;                  ///< MAX_INSERT_THREADS: setting of the repair INSERTs
    unsigned failback_clean_checks = 3;  ///< FAILBACK_CLEAN_CHECKS: clean cycles before FAILBACK READY
    std::string state_file = "/var/lib/chfleet/sync-state.json";  ///< STATE_FILE

    std::string notify_webhook;  ///< NOTIFY_WEBHOOK: Slack/Teams URL; secret (holds a token); empty: off
    bool notify_on_gap = true;   ///< NOTIFY_ON_GAP
    bool notify_on_sync = true;  ///< NOTIFY_ON_SYNC
    bool notify_on_failback_ready = true;  ///< NOTIFY_ON_FAILBACK_READY
    bool notify_on_new_table = true;       ///< NOTIFY_ON_NEW_TABLE

    bool auto_create_tables = false;  ///< AUTO_CREATE_TABLES: create active-only tables on the passive site
    std::string log_level = "info";   ///< LOG_LEVEL: trace, debug, info, warn, error, critical, off

    SyncPolicy policy = SyncPolicy::Union;    ///< CHSYNC_POLICY: union or mirror
    std::optional<SiteRole> active_override;  ///< CHSYNC_ACTIVE: primary or dr; unset: decided by DNS
    unsigned parallel_repairs = 4;            ///< CHSYNC_PARALLEL_REPAIRS: partitions repaired at once
    std::string metrics_listen;               ///< CHSYNC_METRICS_LISTEN: "host:port" of /metrics; empty: off
};

/// The environment variables applyEnvironment reads, in the order describe() prints them.
const std::vector<std::string>& syncEnvironmentNames();

/// `base` with every variable of `env` that chfleet sync knows applied (unknown names are ignored). An empty
/// value means "none" for LOCAL_CH_PASSWORD, REMOTE_CH_PASSWORD, DNS_RECORD, DNS_SERVER, NOTIFY_WEBHOOK,
/// CHSYNC_ACTIVE and CHSYNC_METRICS_LISTEN, and "not set" (keep `base`) for every other variable. Booleans
/// accept true/false/1/0/yes/no (any case); LOG_LEVEL also accepts Python's names (INFO, WARNING, CRITICAL)
/// as CH-Sync used them. Throws Exception(InvalidConfig) naming the variable and the bad value (never the
/// value of a secret).
SyncSettings applyEnvironment(SyncSettings base, const std::map<std::string, std::string>& env);

/// The variables of syncEnvironmentNames() present in this process's environment.
std::map<std::string, std::string> currentEnvironment();

/// Reads a CH-Sync `.env` file: KEY=VALUE lines, blank lines and `#` comments, an optional `export ` prefix,
/// values optionally in single quotes (literal) or double quotes (\" \\ \n escapes); an unquoted value ends
/// at ` #`. Later lines win. Throws Exception(IoError) when unreadable, Exception(InvalidConfig) "path:line:
/// ..." for a malformed line (without showing the value, which may be a password).
std::map<std::string, std::string> readEnvFile(const std::string& path);

/// Checks what every cycle needs: ROLE, LOCAL_CH_URL, REMOTE_CH_URL and REMOTE_CH_HOST set, and the two URLs
/// different. Throws Exception(InvalidConfig) listing every missing setting at once.
void validateSettings(const SyncSettings& settings);

/// The effective settings, one `NAME=value` line each in syncEnvironmentNames() order. Passwords print as
/// `***` (or `(empty)`), the webhook as scheme://host/*** (its path is a token).
std::string describe(const SyncSettings& settings);

/// HTTP endpoints of the two sites from LOCAL_CH_URL / REMOTE_CH_URL, the users and passwords and
/// CONNECT_TIMEOUT_MS. Throws Exception(InvalidConfig) when the URL is missing or malformed.
clickhouse::HttpEndpoint localEndpoint(const SyncSettings& settings);
clickhouse::HttpEndpoint remoteEndpoint(const SyncSettings& settings);

/// Whether table `db`.`table` is excluded. Patterns are globs (`*` any run of characters, `?` one character),
/// matched case-sensitively. A pattern with a dot is matched against "db.table" (`system.*`). A pattern
/// without a dot (`_*`, `*_temp`) is matched against the table name alone and against "db.table": `_*`
/// excludes the tables named `_...` in any database and every table of a database named `_...` (ClickHouse's
/// own
/// `_temporary_and_external_tables`).
bool matchesExcludePattern(std::string_view db, std::string_view table,
                           const std::vector<std::string>& patterns);

/// Glob match of `text` against `pattern` (`*`, `?`; every other character literal).
bool globMatch(std::string_view pattern, std::string_view text);

/// A host and a port parsed from "host", "host:port", "[v6]" or "[v6]:port".
struct HostPort {
    std::string host;  ///< without brackets
    uint16_t port = 0;
};

/// Parses "host[:port]" (brackets around an IPv6 address); `default_port` when no port is given. nullopt when
/// malformed (empty host, bad port, whitespace).
std::optional<HostPort> parseHostPort(std::string_view text, uint16_t default_port);

/// "scheme://host[:port]" of a URL, without credentials, path or query: what may be logged of a webhook URL.
std::string redactUrl(std::string_view url);

}  // namespace chfleet::sync
