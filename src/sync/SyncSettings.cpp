#include "sync/SyncSettings.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "common/Exception.h"
#include "common/Text.h"

namespace chfleet::sync {

namespace {

using text::trim;

[[noreturn]] void badValue(std::string_view name, std::string_view value, std::string_view expected) {
    throw Exception(ErrorCode::InvalidConfig, "{}='{}' is not valid: expected {}", name, value, expected);
}

bool parseBool(std::string_view name, const std::string& value) {
    std::string v = text::toLower(value);
    if (v == "true" || v == "1" || v == "yes") {
        return true;
    }
    if (v == "false" || v == "0" || v == "no") {
        return false;
    }
    badValue(name, value, "true, false, 1, 0, yes or no");
}

uint64_t parseNumber(std::string_view name, const std::string& value, uint64_t min, uint64_t max) {
    uint64_t parsed = 0;
    auto text = trim(value);
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), parsed);
    if (text.empty() || error != std::errc() || end != text.data() + text.size() || parsed < min ||
        parsed > max) {
        badValue(name, value, fmt::format("a whole number from {} to {}", min, max));
    }
    return parsed;
}

SiteRole parseRole(std::string_view name, const std::string& value) {
    std::string v = text::toLower(trim(value));
    if (v == "primary") {
        return SiteRole::Primary;
    }
    if (v == "dr") {
        return SiteRole::Dr;
    }
    badValue(name, value, "primary or dr");
}

bool isIpv4(const std::string& text) {
    in_addr address{};
    return ::inet_pton(AF_INET, text.c_str(), &address) == 1;
}

/// The parts of an http(s)://host[:port][/] URL.
struct ParsedUrl {
    bool secure = false;
    HostPort host_port;
};

/// Parses a ClickHouse HTTP URL; throws Exception(InvalidConfig) naming `name`. A URL carrying credentials is
/// refused without being shown: they belong in the *_USER / *_PASSWORD settings.
ParsedUrl parseUrl(std::string_view name, const std::string& value) {
    constexpr std::string_view kExpected = "http(s)://host:port, e.g. http://localhost:8123";
    ParsedUrl url;
    std::string_view rest = value;
    if (rest.rfind("http://", 0) == 0) {
        rest.remove_prefix(7);
    } else if (rest.rfind("https://", 0) == 0) {
        rest.remove_prefix(8);
        url.secure = true;
    } else {
        badValue(name, value, kExpected);
    }
    size_t end = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, end);
    if (authority.find('@') != std::string_view::npos) {
        throw Exception(
            ErrorCode::InvalidConfig,
            "{} ({}) must not carry a user or password: set them in the *_CH_USER and *_CH_PASSWORD "
            "variables",
            name, redactUrl(value));
    }
    if (end != std::string_view::npos && rest.substr(end) != "/") {
        badValue(name, value, fmt::format("{} without a path or query", kExpected));
    }
    auto host_port = parseHostPort(authority, url.secure ? 8443 : 8123);
    if (!host_port || host_port->port == 0) {
        badValue(name, value, kExpected);
    }
    url.host_port = *host_port;
    return url;
}

std::vector<std::string> splitPatterns(const std::string& value) {
    std::vector<std::string> patterns;
    size_t start = 0;
    while (start <= value.size()) {
        size_t comma = value.find(',', start);
        auto piece = trim(std::string_view(value).substr(
            start, comma == std::string::npos ? std::string::npos : comma - start));
        if (!piece.empty()) {
            patterns.emplace_back(piece);
        }
        if (comma == std::string::npos) {
            break;
        }
        start = comma + 1;
    }
    return patterns;
}

std::string joinPatterns(const std::vector<std::string>& patterns) {
    std::string out;
    for (const auto& pattern : patterns) {
        out += out.empty() ? "" : ",";
        out += pattern;
    }
    return out;
}

std::string normaliseLogLevel(std::string_view name, const std::string& value) {
    std::string v = text::toLower(trim(value));
    if (v == "warning") {
        return "warn";
    }
    if (v == "err") {
        return "error";
    }
    if (v == "fatal") {
        return "critical";
    }
    if (v == "trace" || v == "debug" || v == "info" || v == "warn" || v == "error" || v == "critical" ||
        v == "off") {
        return v;
    }
    badValue(name, value, "trace, debug, info, warn(ing), error, critical or off");
}

std::string showBool(bool value) {
    return value ? "true" : "false";
}

std::string showSecret(const std::string& secret) {
    return secret.empty() ? "(empty)" : "***";
}

std::string showRole(const std::optional<SiteRole>& role) {
    return role ? std::string(siteRoleName(*role)) : std::string();
}

/// One environment variable: how a value is applied to the settings and how the effective setting prints.
/// `empty_clears`: an empty value sets "none" instead of keeping the base value.
struct Variable {
    const char* name;
    bool empty_clears;
    void (*apply)(SyncSettings& settings, const std::string& value);
    std::string (*show)(const SyncSettings& settings);
};

/// Every variable chfleet sync reads: CH-Sync's names first, exactly as CH-Sync spelled them, then chfleet's.
const std::vector<Variable>& variables() {
    static const std::vector<Variable> table = {
        {"ROLE", false, [](SyncSettings& s, const std::string& v) { s.role = parseRole("ROLE", v); },
         [](const SyncSettings& s) { return showRole(s.role); }},
        {"LOCAL_CH_URL", false,
         [](SyncSettings& s, const std::string& v) {
             parseUrl("LOCAL_CH_URL", v);
             s.local_ch_url = v;
         },
         [](const SyncSettings& s) { return s.local_ch_url; }},
        {"REMOTE_CH_URL", false,
         [](SyncSettings& s, const std::string& v) {
             parseUrl("REMOTE_CH_URL", v);
             s.remote_ch_url = v;
         },
         [](const SyncSettings& s) { return s.remote_ch_url; }},
        {"REMOTE_CH_HOST", false,
         [](SyncSettings& s, const std::string& v) {
             auto host_port = parseHostPort(v, 0);
             if (!host_port || host_port->port != 0 || v.find('/') != std::string::npos) {
                 badValue("REMOTE_CH_HOST", v,
                          "a host name or IP address without a port (see REMOTE_CH_PORT)");
             }
             s.remote_ch_host = host_port->host;
         },
         [](const SyncSettings& s) { return s.remote_ch_host; }},
        {"REMOTE_CH_PORT", false,
         [](SyncSettings& s, const std::string& v) {
             s.remote_ch_port = static_cast<uint16_t>(parseNumber("REMOTE_CH_PORT", v, 1, 65535));
         },
         [](const SyncSettings& s) { return std::to_string(s.remote_ch_port); }},
        {"LOCAL_CH_USER", false, [](SyncSettings& s, const std::string& v) { s.local_user = v; },
         [](const SyncSettings& s) { return s.local_user; }},
        {"LOCAL_CH_PASSWORD", true, [](SyncSettings& s, const std::string& v) { s.local_password = v; },
         [](const SyncSettings& s) { return showSecret(s.local_password); }},
        {"REMOTE_CH_USER", false, [](SyncSettings& s, const std::string& v) { s.remote_user = v; },
         [](const SyncSettings& s) { return s.remote_user; }},
        {"REMOTE_CH_PASSWORD", true, [](SyncSettings& s, const std::string& v) { s.remote_password = v; },
         [](const SyncSettings& s) { return showSecret(s.remote_password); }},
        {"DNS_RECORD", true,
         [](SyncSettings& s, const std::string& v) {
             auto record = trim(v);
             if (record.find_first_of(" \t/:") != std::string_view::npos) {
                 badValue("DNS_RECORD", v, "a DNS name such as failover.example.com");
             }
             s.dns_record = record;
         },
         [](const SyncSettings& s) { return s.dns_record; }},
        {"DNS_SERVER", true,
         [](SyncSettings& s, const std::string& v) {
             auto text = trim(v);
             auto server = parseHostPort(text, 53);
             in6_addr v6{};
             if (!text.empty() &&
                 (!server || server->port == 0 ||
                  (!isIpv4(server->host) && ::inet_pton(AF_INET6, server->host.c_str(), &v6) != 1))) {
                 badValue("DNS_SERVER", v,
                          "an IP address with an optional port, e.g. 10.0.0.53 or 10.0.0.53:5353");
             }
             s.dns_server = text;
         },
         [](const SyncSettings& s) { return s.dns_server; }},
        {"PRIMARY_IP", false,
         [](SyncSettings& s, const std::string& v) {
             if (!isIpv4(std::string(trim(v)))) {
                 badValue("PRIMARY_IP", v,
                          "an IPv4 address (the DNS record's value while the primary is active)");
             }
             s.primary_ip = trim(v);
         },
         [](const SyncSettings& s) { return s.primary_ip; }},
        {"DR_IP", false,
         [](SyncSettings& s, const std::string& v) {
             if (!isIpv4(std::string(trim(v)))) {
                 badValue("DR_IP", v, "an IPv4 address (the DNS record's value while the DR site is active)");
             }
             s.dr_ip = trim(v);
         },
         [](const SyncSettings& s) { return s.dr_ip; }},
        {"CHECK_INTERVAL", false,
         [](SyncSettings& s, const std::string& v) {
             s.check_interval = std::chrono::seconds(parseNumber("CHECK_INTERVAL", v, 1, 7 * 86400));
         },
         [](const SyncSettings& s) { return std::to_string(s.check_interval.count()); }},
        {"CH_EXCLUDE_PATTERNS", false,
         [](SyncSettings& s, const std::string& v) { s.exclude_patterns = splitPatterns(v); },
         [](const SyncSettings& s) { return joinPatterns(s.exclude_patterns); }},
        {"CONNECT_TIMEOUT_MS", false,
         [](SyncSettings& s, const std::string& v) {
             s.connect_timeout = std::chrono::milliseconds(parseNumber("CONNECT_TIMEOUT_MS", v, 1, 600000));
         },
         [](const SyncSettings& s) { return std::to_string(s.connect_timeout.count()); }},
        {"MAX_INSERT_THREADS", false,
         [](SyncSettings& s, const std::string& v) {
             s.max_insert_threads = static_cast<unsigned>(parseNumber("MAX_INSERT_THREADS", v, 1, 1024));
         },
         [](const SyncSettings& s) { return std::to_string(s.max_insert_threads); }},
        {"FAILBACK_CLEAN_CHECKS", false,
         [](SyncSettings& s, const std::string& v) {
             s.failback_clean_checks =
                 static_cast<unsigned>(parseNumber("FAILBACK_CLEAN_CHECKS", v, 1, 1000));
         },
         [](const SyncSettings& s) { return std::to_string(s.failback_clean_checks); }},
        {"STATE_FILE", false, [](SyncSettings& s, const std::string& v) { s.state_file = trim(v); },
         [](const SyncSettings& s) { return s.state_file; }},
        {"NOTIFY_WEBHOOK", true,
         [](SyncSettings& s, const std::string& v) {
             auto url = trim(v);
             if (!url.empty() && url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
                 // The value is not shown: a webhook URL carries its token.
                 throw Exception(
                     ErrorCode::InvalidConfig,
                     "NOTIFY_WEBHOOK is not valid: expected an http:// or https:// URL (value not "
                     "shown, webhook URLs are secrets)");
             }
             s.notify_webhook = url;
         },
         [](const SyncSettings& s) {
             return s.notify_webhook.empty() ? std::string() : redactUrl(s.notify_webhook) + "/***";
         }},
        {"NOTIFY_ON_GAP", false,
         [](SyncSettings& s, const std::string& v) { s.notify_on_gap = parseBool("NOTIFY_ON_GAP", v); },
         [](const SyncSettings& s) { return showBool(s.notify_on_gap); }},
        {"NOTIFY_ON_SYNC", false,
         [](SyncSettings& s, const std::string& v) { s.notify_on_sync = parseBool("NOTIFY_ON_SYNC", v); },
         [](const SyncSettings& s) { return showBool(s.notify_on_sync); }},
        {"NOTIFY_ON_FAILBACK_READY", false,
         [](SyncSettings& s, const std::string& v) {
             s.notify_on_failback_ready = parseBool("NOTIFY_ON_FAILBACK_READY", v);
         },
         [](const SyncSettings& s) { return showBool(s.notify_on_failback_ready); }},
        {"NOTIFY_ON_NEW_TABLE", false,
         [](SyncSettings& s, const std::string& v) {
             s.notify_on_new_table = parseBool("NOTIFY_ON_NEW_TABLE", v);
         },
         [](const SyncSettings& s) { return showBool(s.notify_on_new_table); }},
        {"AUTO_CREATE_TABLES", false,
         [](SyncSettings& s, const std::string& v) {
             s.auto_create_tables = parseBool("AUTO_CREATE_TABLES", v);
         },
         [](const SyncSettings& s) { return showBool(s.auto_create_tables); }},
        {"LOG_LEVEL", false,
         [](SyncSettings& s, const std::string& v) { s.log_level = normaliseLogLevel("LOG_LEVEL", v); },
         [](const SyncSettings& s) { return s.log_level; }},
        {"CHSYNC_POLICY", false,
         [](SyncSettings& s, const std::string& v) {
             std::string policy = text::toLower(trim(v));
             if (policy == "union") {
                 s.policy = SyncPolicy::Union;
             } else if (policy == "mirror") {
                 s.policy = SyncPolicy::Mirror;
             } else {
                 badValue("CHSYNC_POLICY", v, "union or mirror");
             }
         },
         [](const SyncSettings& s) { return std::string(syncPolicyName(s.policy)); }},
        {"CHSYNC_ACTIVE", true,
         [](SyncSettings& s, const std::string& v) {
             s.active_override =
                 trim(v).empty() ? std::nullopt : std::optional(parseRole("CHSYNC_ACTIVE", v));
         },
         [](const SyncSettings& s) { return showRole(s.active_override); }},
        {"CHSYNC_PARALLEL_REPAIRS", false,
         [](SyncSettings& s, const std::string& v) {
             s.parallel_repairs = static_cast<unsigned>(parseNumber("CHSYNC_PARALLEL_REPAIRS", v, 1, 64));
         },
         [](const SyncSettings& s) { return std::to_string(s.parallel_repairs); }},
        {"CHSYNC_METRICS_LISTEN", true,
         [](SyncSettings& s, const std::string& v) {
             auto listen = trim(v);
             if (!listen.empty()) {
                 auto host_port = parseHostPort(listen, 0);
                 if (!host_port || listen.find(':') == std::string_view::npos) {
                     badValue("CHSYNC_METRICS_LISTEN", v, "host:port, e.g. 127.0.0.1:9464");
                 }
             }
             s.metrics_listen = listen;
         },
         [](const SyncSettings& s) { return s.metrics_listen; }},
        {"CHSYNC_DNS_TIMEOUT_MS", false,
         [](SyncSettings& s, const std::string& v) {
             s.dns_timeout = std::chrono::milliseconds(parseNumber("CHSYNC_DNS_TIMEOUT_MS", v, 100, 60000));
         },
         [](const SyncSettings& s) { return std::to_string(s.dns_timeout.count()); }},
    };
    return table;
}

}  // namespace

std::string_view siteRoleName(SiteRole role) {
    return role == SiteRole::Primary ? "primary" : "dr";
}

std::string_view syncPolicyName(SyncPolicy policy) {
    return policy == SyncPolicy::Union ? "union" : "mirror";
}

const std::vector<std::string>& syncEnvironmentNames() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> out;
        for (const auto& variable : variables()) {
            out.emplace_back(variable.name);
        }
        return out;
    }();
    return names;
}

SyncSettings applyEnvironment(SyncSettings base, const std::map<std::string, std::string>& env) {
    for (const auto& variable : variables()) {
        auto found = env.find(variable.name);
        if (found == env.end()) {
            continue;
        }
        if (trim(found->second).empty() && !variable.empty_clears) {
            continue;
        }
        variable.apply(base, found->second);
    }
    return base;
}

std::map<std::string, std::string> currentEnvironment() {
    std::map<std::string, std::string> env;
    for (const auto& variable : variables()) {
        if (const char* value = std::getenv(variable.name)) {
            env.emplace(variable.name, value);
        }
    }
    return env;
}

std::map<std::string, std::string> readEnvFile(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        throw Exception(ErrorCode::IoError, "cannot read environment file {}: {}", path,
                        std::strerror(errno));
    }
    std::map<std::string, std::string> env;
    std::string raw_line;
    size_t line_number = 0;
    while (std::getline(in, raw_line)) {
        ++line_number;
        auto line = trim(raw_line);
        if (line.empty() || line.front() == '#') {
            continue;
        }
        if (line.rfind("export", 0) == 0 && line.size() > 6 && (line[6] == ' ' || line[6] == '\t')) {
            line = trim(line.substr(6));
        }
        size_t eq = line.find('=');
        auto key = eq == std::string_view::npos ? line : trim(line.substr(0, eq));
        bool valid_key =
            !key.empty() && !std::isdigit(static_cast<unsigned char>(key.front())) &&
            std::all_of(key.begin(), key.end(), [](unsigned char c) { return std::isalnum(c) || c == '_'; });
        if (eq == std::string_view::npos || !valid_key) {
            throw Exception(ErrorCode::InvalidConfig,
                            "{}:{}: expected KEY=VALUE (KEY made of letters, digits, _)", path, line_number);
        }
        auto rest = trim(line.substr(eq + 1));
        std::string value;
        if (!rest.empty() && (rest.front() == '"' || rest.front() == '\'')) {
            char quote = rest.front();
            size_t i = 1;
            bool closed = false;
            for (; i < rest.size(); ++i) {
                char c = rest[i];
                if (c == quote) {
                    closed = true;
                    break;
                }
                if (quote == '"' && c == '\\' && i + 1 < rest.size()) {
                    char next = rest[++i];
                    value += next == 'n' ? '\n' : next == 't' ? '\t' : next;
                    continue;
                }
                value += c;
            }
            auto after = closed ? trim(rest.substr(i + 1)) : std::string_view{};
            if (!closed || (!after.empty() && after.front() != '#')) {
                throw Exception(ErrorCode::InvalidConfig, "{}:{}: the value of {} has {} (value not shown)",
                                path, line_number, key,
                                closed ? "text after its closing quote" : "no closing quote");
            }
        } else {
            size_t comment = std::string_view::npos;
            for (size_t i = 1; i < rest.size(); ++i) {
                if (rest[i] == '#' && (rest[i - 1] == ' ' || rest[i - 1] == '\t')) {
                    comment = i;
                    break;
                }
            }
            value = trim(rest.substr(0, comment));
        }
        env[std::string(key)] = value;
    }
    if (in.bad()) {
        throw Exception(ErrorCode::IoError, "cannot read environment file {}: {}", path,
                        std::strerror(errno));
    }
    return env;
}

void validateSettings(const SyncSettings& settings) {
    std::vector<std::string> missing;
    if (!settings.role) {
        missing.emplace_back("ROLE (primary or dr)");
    }
    if (settings.local_ch_url.empty()) {
        missing.emplace_back("LOCAL_CH_URL");
    }
    if (settings.remote_ch_url.empty()) {
        missing.emplace_back("REMOTE_CH_URL");
    }
    if (settings.remote_ch_host.empty()) {
        missing.emplace_back("REMOTE_CH_HOST");
    }
    if (!missing.empty()) {
        std::string list;
        for (const auto& name : missing) {
            list += list.empty() ? name : ", " + name;
        }
        throw Exception(
            ErrorCode::InvalidConfig,
            "chfleet sync is missing settings: {}; set them in the environment, the .env file or the "
            "fleet file",
            list);
    }
    auto local = parseUrl("LOCAL_CH_URL", settings.local_ch_url);
    auto remote = parseUrl("REMOTE_CH_URL", settings.remote_ch_url);
    if (local.host_port.host == remote.host_port.host && local.host_port.port == remote.host_port.port) {
        throw Exception(
            ErrorCode::InvalidConfig,
            "LOCAL_CH_URL and REMOTE_CH_URL both point to {}:{}; the remote must be the other site",
            local.host_port.host, local.host_port.port);
    }
}

std::string describe(const SyncSettings& settings) {
    std::string out;
    for (const auto& variable : variables()) {
        out += fmt::format("{}={}\n", variable.name, variable.show(settings));
    }
    return out;
}

namespace {

clickhouse::HttpEndpoint endpointFor(std::string_view name, const std::string& url, const std::string& user,
                                     const std::string& password, std::chrono::milliseconds connect_timeout) {
    if (url.empty()) {
        throw Exception(ErrorCode::InvalidConfig, "{} is not set; e.g. {}=http://localhost:8123", name, name);
    }
    auto parsed = parseUrl(name, url);
    clickhouse::HttpEndpoint endpoint;
    endpoint.host = parsed.host_port.host;
    endpoint.port = parsed.host_port.port;
    endpoint.secure = parsed.secure;
    endpoint.credentials = {user.empty() ? "default" : user, password};
    endpoint.connect_timeout = connect_timeout;
    return endpoint;
}

}  // namespace

clickhouse::HttpEndpoint localEndpoint(const SyncSettings& settings) {
    return endpointFor("LOCAL_CH_URL", settings.local_ch_url, settings.local_user, settings.local_password,
                       settings.connect_timeout);
}

clickhouse::HttpEndpoint remoteEndpoint(const SyncSettings& settings) {
    return endpointFor("REMOTE_CH_URL", settings.remote_ch_url, settings.remote_user,
                       settings.remote_password, settings.connect_timeout);
}

bool globMatch(std::string_view pattern, std::string_view text) {
    // Greedy matching with one backtrack point: the last `*` seen and where in `text` it started matching.
    size_t p = 0;
    size_t t = 0;
    size_t star = std::string_view::npos;
    size_t star_text = 0;
    while (t < text.size()) {
        if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
            ++p;
            ++t;
        } else if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            star_text = t;
        } else if (star != std::string_view::npos) {
            p = star + 1;
            t = ++star_text;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*') {
        ++p;
    }
    return p == pattern.size();
}

bool matchesExcludePattern(std::string_view db, std::string_view table,
                           const std::vector<std::string>& patterns) {
    std::string full = fmt::format("{}.{}", db, table);
    for (const auto& pattern : patterns) {
        if (globMatch(pattern, full)) {
            return true;
        }
        if (pattern.find('.') == std::string::npos && globMatch(pattern, table)) {
            return true;
        }
    }
    return false;
}

std::optional<HostPort> parseHostPort(std::string_view text, uint16_t default_port) {
    text = trim(text);
    HostPort out;
    out.port = default_port;
    std::string_view port_text;
    if (!text.empty() && text.front() == '[') {
        size_t close = text.find(']');
        if (close == std::string_view::npos) {
            return std::nullopt;
        }
        out.host = text.substr(1, close - 1);
        auto rest = text.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') {
                return std::nullopt;
            }
            port_text = rest.substr(1);
            if (port_text.empty()) {
                return std::nullopt;
            }
        }
    } else {
        size_t colon = text.rfind(':');
        if (colon != std::string_view::npos && text.find(':') != colon) {
            out.host = text;  // a bare IPv6 address: several colons, no port
        } else if (colon != std::string_view::npos) {
            out.host = text.substr(0, colon);
            port_text = text.substr(colon + 1);
            if (port_text.empty()) {
                return std::nullopt;
            }
        } else {
            out.host = text;
        }
    }
    if (out.host.empty() || out.host.find_first_of(" \t[]") != std::string::npos) {
        return std::nullopt;
    }
    if (!port_text.empty()) {
        unsigned port = 0;
        auto [end, error] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
        if (error != std::errc() || end != port_text.data() + port_text.size() || port > 65535) {
            return std::nullopt;
        }
        out.port = static_cast<uint16_t>(port);
    }
    return out;
}

std::string redactUrl(std::string_view url) {
    size_t scheme_end = url.find("://");
    if (scheme_end == std::string_view::npos) {
        return "(not a URL)";
    }
    auto rest = url.substr(scheme_end + 3);
    auto authority = rest.substr(0, rest.find_first_of("/?#"));
    size_t at = authority.rfind('@');
    if (at != std::string_view::npos) {
        authority.remove_prefix(at + 1);
    }
    return fmt::format("{}://{}", url.substr(0, scheme_end), authority);
}

}  // namespace chfleet::sync
