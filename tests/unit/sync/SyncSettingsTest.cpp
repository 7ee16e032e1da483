#include <gtest/gtest.h>

#include <fstream>

#include "../support/TempDir.h"
#include "common/Exception.h"
#include "sync/SyncSettings.h"

namespace chfleet::sync {
namespace {

/// The message of the InvalidConfig exception `body` throws ("" when it does not throw).
template <typename Body>
std::string configError(Body body) {
    try {
        body();
    } catch (const Exception& e) {
        EXPECT_EQ(e.code(), ErrorCode::InvalidConfig) << e.what();
        return e.what();
    }
    ADD_FAILURE() << "expected Exception(InvalidConfig)";
    return {};
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

/// A temporary .env file (mkstemp), removed at the end of the test.
class EnvFile {
  public:
    explicit EnvFile(const std::string& content) { std::ofstream(file_.path()) << content; }
    const std::string& path() const { return file_.path(); }

  private:
    chfleet::testing::TempFile file_{"chfleet-env"};
};

TEST(SyncSettings, DefaultsAreTheSeedsAndChfleets) {
    SyncSettings settings;
    EXPECT_FALSE(settings.role);
    EXPECT_EQ(settings.remote_ch_port, 9000);
    EXPECT_EQ(settings.check_interval, std::chrono::seconds(300));
    EXPECT_EQ(settings.connect_timeout, std::chrono::milliseconds(2000));
    EXPECT_EQ(settings.max_insert_threads, 4u);
    EXPECT_EQ(settings.failback_clean_checks, 3u);
    EXPECT_EQ(settings.state_file, "/var/lib/chfleet/sync-state.json");
    EXPECT_TRUE(settings.notify_on_gap && settings.notify_on_sync && settings.notify_on_failback_ready &&
                settings.notify_on_new_table);
    EXPECT_FALSE(settings.auto_create_tables);
    EXPECT_EQ(settings.log_level, "info");
    EXPECT_EQ(settings.policy, SyncPolicy::Union);
    EXPECT_FALSE(settings.active_override);
    EXPECT_EQ(settings.parallel_repairs, 4u);
    EXPECT_TRUE(settings.metrics_listen.empty());
    EXPECT_EQ(settings.exclude_patterns,
              (std::vector<std::string>{"system.*", "INFORMATION_SCHEMA.*", "information_schema.*", "_*",
                                        "*_temp", "*_staging"}));
}

TEST(SyncSettings, AppliesEveryCHSyncVariable) {
    std::map<std::string, std::string> env = {
        {"ROLE", "dr"},
        {"LOCAL_CH_URL", "http://localhost:8123"},
        {"REMOTE_CH_URL", "https://192.168.100.144:8443"},
        {"REMOTE_CH_HOST", "192.168.100.144"},
        {"REMOTE_CH_PORT", "9440"},
        {"LOCAL_CH_USER", "sync"},
        {"LOCAL_CH_PASSWORD", "local-secret"},
        {"REMOTE_CH_USER", "sync_remote"},
        {"REMOTE_CH_PASSWORD", "remote-secret"},
        {"DNS_RECORD", "failover.example.com"},
        {"DNS_SERVER", "10.0.0.53:5353"},
        {"PRIMARY_IP", "192.168.100.144"},
        {"DR_IP", "192.168.100.143"},
        {"CHECK_INTERVAL", "60"},
        {"CH_EXCLUDE_PATTERNS", "system.*, tmp.* ,,*_old"},
        {"CONNECT_TIMEOUT_MS", "5000"},
        {"MAX_INSERT_THREADS", "8"},
        {"FAILBACK_CLEAN_CHECKS", "5"},
        {"STATE_FILE", "/opt/ch-sync/data/ch-sync-state.json"},
        {"NOTIFY_WEBHOOK", "https://hooks.slack.com/services/T000/B000/XXXX"},
        {"NOTIFY_ON_GAP", "false"},
        {"NOTIFY_ON_SYNC", "0"},
        {"NOTIFY_ON_FAILBACK_READY", "YES"},
        {"NOTIFY_ON_NEW_TABLE", "no"},
        {"AUTO_CREATE_TABLES", "True"},
        {"LOG_LEVEL", "DEBUG"},
        {"CHSYNC_POLICY", "mirror"},
        {"CHSYNC_ACTIVE", "primary"},
        {"CHSYNC_PARALLEL_REPAIRS", "2"},
        {"CHSYNC_METRICS_LISTEN", "127.0.0.1:9464"},
        {"CHSYNC_DNS_TIMEOUT_MS", "1500"},
        {"COMPOSE_PROJECT_NAME", "ignored"},
    };
    auto s = applyEnvironment({}, env);
    EXPECT_EQ(s.role, SiteRole::Dr);
    EXPECT_EQ(s.local_ch_url, "http://localhost:8123");
    EXPECT_EQ(s.remote_ch_url, "https://192.168.100.144:8443");
    EXPECT_EQ(s.remote_ch_host, "192.168.100.144");
    EXPECT_EQ(s.remote_ch_port, 9440);
    EXPECT_EQ(s.local_user, "sync");
    EXPECT_EQ(s.local_password, "local-secret");
    EXPECT_EQ(s.remote_user, "sync_remote");
    EXPECT_EQ(s.remote_password, "remote-secret");
    EXPECT_EQ(s.dns_record, "failover.example.com");
    EXPECT_EQ(s.dns_server, "10.0.0.53:5353");
    EXPECT_EQ(s.primary_ip, "192.168.100.144");
    EXPECT_EQ(s.dr_ip, "192.168.100.143");
    EXPECT_EQ(s.check_interval, std::chrono::seconds(60));
    EXPECT_EQ(s.exclude_patterns, (std::vector<std::string>{"system.*", "tmp.*", "*_old"}));
    EXPECT_EQ(s.connect_timeout, std::chrono::milliseconds(5000));
    EXPECT_EQ(s.max_insert_threads, 8u);
    EXPECT_EQ(s.failback_clean_checks, 5u);
    EXPECT_EQ(s.state_file, "/opt/ch-sync/data/ch-sync-state.json");
    EXPECT_EQ(s.notify_webhook, "https://hooks.slack.com/services/T000/B000/XXXX");
    EXPECT_FALSE(s.notify_on_gap);
    EXPECT_FALSE(s.notify_on_sync);
    EXPECT_TRUE(s.notify_on_failback_ready);
    EXPECT_FALSE(s.notify_on_new_table);
    EXPECT_TRUE(s.auto_create_tables);
    EXPECT_EQ(s.log_level, "debug");
    EXPECT_EQ(s.policy, SyncPolicy::Mirror);
    EXPECT_EQ(s.active_override, SiteRole::Primary);
    EXPECT_EQ(s.parallel_repairs, 2u);
    EXPECT_EQ(s.metrics_listen, "127.0.0.1:9464");
    EXPECT_EQ(s.dns_timeout, std::chrono::milliseconds(1500));
}

TEST(SyncSettings, PythonLogLevelNamesAreAccepted) {
    EXPECT_EQ(applyEnvironment({}, {{"LOG_LEVEL", "WARNING"}}).log_level, "warn");
    EXPECT_EQ(applyEnvironment({}, {{"LOG_LEVEL", "INFO"}}).log_level, "info");
    EXPECT_EQ(applyEnvironment({}, {{"LOG_LEVEL", "CRITICAL"}}).log_level, "critical");
    auto message = configError([] { applyEnvironment({}, {{"LOG_LEVEL", "loud"}}); });
    EXPECT_TRUE(contains(message, "LOG_LEVEL") && contains(message, "loud")) << message;
}

TEST(SyncSettings, EmptyValuesKeepTheBaseExceptWhereEmptyMeansNone) {
    SyncSettings base;
    base.check_interval = std::chrono::seconds(42);
    base.local_ch_url = "http://a:8123";
    base.dns_server = "10.0.0.53";
    base.local_password = "from-fleet-file";
    base.active_override = SiteRole::Dr;
    auto s = applyEnvironment(base, {{"CHECK_INTERVAL", ""},
                                     {"LOCAL_CH_URL", " "},
                                     {"NOTIFY_ON_GAP", ""},
                                     {"DNS_SERVER", ""},
                                     {"LOCAL_CH_PASSWORD", ""},
                                     {"CHSYNC_ACTIVE", ""}});
    EXPECT_EQ(s.check_interval, std::chrono::seconds(42));
    EXPECT_EQ(s.local_ch_url, "http://a:8123");
    EXPECT_TRUE(s.notify_on_gap);
    EXPECT_EQ(s.dns_server, "");
    EXPECT_EQ(s.local_password, "");
    EXPECT_FALSE(s.active_override);
}

TEST(SyncSettings, ErrorsNameTheVariableAndTheValue) {
    struct Case {
        std::string name;
        std::string value;
    };
    std::vector<Case> cases = {
        {"ROLE", "secondary"},
        {"NOTIFY_ON_GAP", "maybe"},
        {"AUTO_CREATE_TABLES", "2"},
        {"CHECK_INTERVAL", "0"},
        {"CHECK_INTERVAL", "5m"},
        {"CHECK_INTERVAL", "-1"},
        {"REMOTE_CH_PORT", "70000"},
        {"CONNECT_TIMEOUT_MS", "abc"},
        {"MAX_INSERT_THREADS", "0"},
        {"FAILBACK_CLEAN_CHECKS", "x"},
        {"LOCAL_CH_URL", "localhost:8123"},
        {"REMOTE_CH_URL", "ftp://h:1"},
        {"LOCAL_CH_URL", "http://h:99999"},
        {"LOCAL_CH_URL", "http://h:8123/path"},
        {"DNS_SERVER", "dns.local"},
        {"DNS_SERVER", "10.0.0.1:x"},
        {"PRIMARY_IP", "10.0.0"},
        {"DR_IP", "host.example"},
        {"CHSYNC_POLICY", "merge"},
        {"CHSYNC_ACTIVE", "both"},
        {"CHSYNC_PARALLEL_REPAIRS", "100"},
        {"CHSYNC_METRICS_LISTEN", "9464"},
        {"REMOTE_CH_HOST", "h:9000"},
        {"CHSYNC_DNS_TIMEOUT_MS", "5"},
    };
    for (const auto& c : cases) {
        auto message = configError([&] { applyEnvironment({}, {{c.name, c.value}}); });
        EXPECT_TRUE(contains(message, c.name)) << c.name << ": " << message;
        EXPECT_TRUE(contains(message, "'" + c.value + "'")) << c.name << ": " << message;
    }
}

TEST(SyncSettings, CredentialsInAUrlAndBadWebhooksAreRefusedWithoutShowingThem) {
    auto message = configError([] {
        applyEnvironment({}, {{"LOCAL_CH_URL", "http://admin:hunter22@db:8123"}});
    });
    EXPECT_TRUE(contains(message, "LOCAL_CH_URL")) << message;
    EXPECT_FALSE(contains(message, "hunter22")) << message;
    message = configError([] {
        applyEnvironment({}, {{"NOTIFY_WEBHOOK", "hooks.slack.com/services/T0/B0/token1"}});
    });
    EXPECT_TRUE(contains(message, "NOTIFY_WEBHOOK")) << message;
    EXPECT_FALSE(contains(message, "token1")) << message;
}

TEST(SyncSettings, DescribeMasksEverySecret) {
    auto s = applyEnvironment({}, {{"ROLE", "primary"},
                                   {"LOCAL_CH_PASSWORD", "pa55-local"},
                                   {"REMOTE_CH_PASSWORD", "pa55-remote"},
                                   {"NOTIFY_WEBHOOK", "https://hooks.slack.com/services/T0/B0/tok3n?x=1"}});
    auto text = describe(s);
    EXPECT_FALSE(contains(text, "pa55")) << text;
    EXPECT_FALSE(contains(text, "tok3n")) << text;
    EXPECT_TRUE(contains(text, "LOCAL_CH_PASSWORD=***\n")) << text;
    EXPECT_TRUE(contains(text, "REMOTE_CH_PASSWORD=***\n")) << text;
    EXPECT_TRUE(contains(text, "NOTIFY_WEBHOOK=https://hooks.slack.com/***\n")) << text;
    EXPECT_TRUE(contains(text, "ROLE=primary\n")) << text;
    EXPECT_TRUE(contains(text, "CHECK_INTERVAL=300\n")) << text;
    EXPECT_TRUE(contains(text,
                         "CH_EXCLUDE_PATTERNS=system.*,INFORMATION_SCHEMA.*,information_schema.*,_*,*_temp,"
                         "*_staging\n"))
        << text;
    EXPECT_TRUE(contains(text, "CHSYNC_POLICY=union\n")) << text;
    EXPECT_TRUE(contains(describe(SyncSettings{}), "LOCAL_CH_PASSWORD=(empty)\n"));
    // One line per variable, in the documented order.
    size_t lines = static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
    EXPECT_EQ(lines, syncEnvironmentNames().size());
    EXPECT_EQ(text.rfind("ROLE=", 0), 0u);
}

TEST(SyncSettings, ValidateListsEveryMissingSetting) {
    auto message = configError([] { validateSettings(SyncSettings{}); });
    for (const char* name : {"ROLE", "LOCAL_CH_URL", "REMOTE_CH_URL", "REMOTE_CH_HOST"}) {
        EXPECT_TRUE(contains(message, name)) << message;
    }
    auto s = applyEnvironment({}, {{"ROLE", "dr"},
                                   {"LOCAL_CH_URL", "http://h:8123"},
                                   {"REMOTE_CH_URL", "http://h:8123/"},
                                   {"REMOTE_CH_HOST", "h"}});
    message = configError([&] { validateSettings(s); });
    EXPECT_TRUE(contains(message, "both point to h:8123")) << message;
    s.remote_ch_url = "http://other:8123";
    EXPECT_NO_THROW(validateSettings(s));
}

TEST(SyncSettings, EndpointsCarryUrlCredentialsAndTimeout) {
    auto s = applyEnvironment({}, {{"LOCAL_CH_URL", "http://localhost:8123"},
                                   {"REMOTE_CH_URL", "https://[fd00::2]"},
                                   {"REMOTE_CH_USER", "r"},
                                   {"REMOTE_CH_PASSWORD", "rp"},
                                   {"CONNECT_TIMEOUT_MS", "1234"}});
    auto local = localEndpoint(s);
    EXPECT_EQ(local.host, "localhost");
    EXPECT_EQ(local.port, 8123);
    EXPECT_FALSE(local.secure);
    EXPECT_EQ(local.credentials.user, "default");
    auto remote = remoteEndpoint(s);
    EXPECT_EQ(remote.host, "fd00::2");
    EXPECT_EQ(remote.port, 8443);
    EXPECT_TRUE(remote.secure);
    EXPECT_EQ(remote.credentials.user, "r");
    EXPECT_EQ(remote.credentials.password, "rp");
    EXPECT_EQ(remote.connect_timeout, std::chrono::milliseconds(1234));
    configError([] { localEndpoint(SyncSettings{}); });
}

TEST(SyncSettings, ParseHostPort) {
    auto a = parseHostPort("10.0.0.53", 53);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->host, "10.0.0.53");
    EXPECT_EQ(a->port, 53);
    auto b = parseHostPort("10.0.0.53:5353", 53);
    ASSERT_TRUE(b);
    EXPECT_EQ(b->port, 5353);
    auto c = parseHostPort("[::1]:5353", 53);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->host, "::1");
    EXPECT_EQ(c->port, 5353);
    auto d = parseHostPort("fd00::53", 53);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->host, "fd00::53");
    EXPECT_EQ(d->port, 53);
    EXPECT_FALSE(parseHostPort("", 53));
    EXPECT_FALSE(parseHostPort("h:", 53));
    EXPECT_FALSE(parseHostPort("h:65536", 53));
    EXPECT_FALSE(parseHostPort("[::1", 53));
    EXPECT_FALSE(parseHostPort("a b:1", 53));
}

TEST(SyncSettings, RedactUrlKeepsOnlySchemeAndHost) {
    EXPECT_EQ(redactUrl("https://hooks.slack.com/services/T0/B0/secret"), "https://hooks.slack.com");
    EXPECT_EQ(redactUrl("http://user:pw@example.com:8080/x?token=1"), "http://example.com:8080");
    EXPECT_EQ(redactUrl("https://example.com?sig=abc"), "https://example.com");
    EXPECT_EQ(redactUrl("garbage"), "(not a URL)");
}

TEST(SyncSettings, GlobMatch) {
    EXPECT_TRUE(globMatch("*", ""));
    EXPECT_TRUE(globMatch("a*c", "abbbc"));
    EXPECT_TRUE(globMatch("a?c", "abc"));
    EXPECT_FALSE(globMatch("a?c", "ac"));
    EXPECT_TRUE(globMatch("*_temp", "x_temp"));
    EXPECT_FALSE(globMatch("*_temp", "x_temporary"));
    EXPECT_TRUE(globMatch("*a*b*", "xxaxxbxx"));
    EXPECT_FALSE(globMatch("*a*b", "xxaxxbxxc"));
    EXPECT_TRUE(globMatch("system.*", "system.parts"));
    EXPECT_FALSE(globMatch("System.*", "system.parts")) << "case-sensitive";
}

TEST(SyncSettings, DefaultExcludePatternsMatchWhatCHSyncExcluded) {
    const auto patterns = SyncSettings{}.exclude_patterns;
    EXPECT_TRUE(matchesExcludePattern("system", "parts", patterns));
    EXPECT_TRUE(matchesExcludePattern("INFORMATION_SCHEMA", "TABLES", patterns));
    EXPECT_TRUE(matchesExcludePattern("information_schema", "tables", patterns));
    EXPECT_TRUE(matchesExcludePattern("default", "_scratch", patterns)) << "`_*` matches the table name";
    EXPECT_TRUE(matchesExcludePattern("_temporary_and_external_tables", "t", patterns))
        << "and a `_` database";
    EXPECT_TRUE(matchesExcludePattern("default", "events_temp", patterns));
    EXPECT_TRUE(matchesExcludePattern("analytics", "events_staging", patterns));
    EXPECT_FALSE(matchesExcludePattern("default", "http_telemetry", patterns));
    EXPECT_FALSE(matchesExcludePattern("default", "events_temporary", patterns));
    EXPECT_FALSE(matchesExcludePattern("default", "temp_events", patterns));
    EXPECT_FALSE(matchesExcludePattern("default", "my_table_", patterns));
    EXPECT_FALSE(matchesExcludePattern("systems", "parts", patterns));
}

TEST(SyncSettings, ExcludePatternsWithADotMatchTheFullName) {
    std::vector<std::string> patterns = {"logs.t?", "archive.*"};
    EXPECT_TRUE(matchesExcludePattern("logs", "t1", patterns));
    EXPECT_FALSE(matchesExcludePattern("logs", "t12", patterns));
    EXPECT_FALSE(matchesExcludePattern("other", "t1", patterns));
    EXPECT_TRUE(matchesExcludePattern("archive", "anything", patterns));
    EXPECT_FALSE(matchesExcludePattern("default", "archive", patterns));
    EXPECT_FALSE(matchesExcludePattern("system", "parts", {}));
}

TEST(SyncEnvFile, ReadsACHSyncEnvFile) {
    EnvFile file(
        "# CH-Sync configuration\n"
        "\n"
        "ROLE=dr\n"
        "export LOCAL_CH_URL=http://localhost:8123\n"
        "  REMOTE_CH_URL = http://192.168.100.144:8123   # the primary\n"
        "LOCAL_CH_PASSWORD=\"p#ss \\\"quoted\\\"\"\n"
        "REMOTE_CH_PASSWORD='single $HOME \\n'\n"
        "REMOTE_CH_USER='lit\\eral' # comment\n"
        "DNS_SERVER=\n"
        "NOTIFY_WEBHOOK=https://hooks.example.com/a#b\n"
        "ROLE=primary\r\n");
    auto env = readEnvFile(file.path());
    EXPECT_EQ(env.at("ROLE"), "primary") << "later lines win";
    EXPECT_EQ(env.at("LOCAL_CH_URL"), "http://localhost:8123");
    EXPECT_EQ(env.at("REMOTE_CH_URL"), "http://192.168.100.144:8123");
    EXPECT_EQ(env.at("LOCAL_CH_PASSWORD"), "p#ss \"quoted\"");
    EXPECT_EQ(env.at("REMOTE_CH_USER"), "lit\\eral");
    EXPECT_EQ(env.at("DNS_SERVER"), "");
    EXPECT_EQ(env.at("NOTIFY_WEBHOOK"), "https://hooks.example.com/a#b")
        << "# without a space is part of the value";
    EXPECT_EQ(env.at("REMOTE_CH_PASSWORD"), "single $HOME \\n") << "single quotes are literal";
}

TEST(SyncEnvFile, ErrorsGivePathAndLineButNotTheValue) {
    EnvFile no_equals("ROLE=dr\nthis is not a setting\n");
    auto message = configError([&] { readEnvFile(no_equals.path()); });
    EXPECT_TRUE(contains(message, no_equals.path() + ":2:")) << message;

    EnvFile unterminated("ROLE=dr\n\nLOCAL_CH_PASSWORD=\"s3cret\n");
    message = configError([&] { readEnvFile(unterminated.path()); });
    EXPECT_TRUE(contains(message, unterminated.path() + ":3:")) << message;
    EXPECT_TRUE(contains(message, "LOCAL_CH_PASSWORD")) << message;
    EXPECT_FALSE(contains(message, "s3cret")) << message;

    EnvFile trailing("A='x' y\n");
    message = configError([&] { readEnvFile(trailing.path()); });
    EXPECT_TRUE(contains(message, ":1:")) << message;

    EnvFile bad_key("1ROLE=dr\n");
    configError([&] { readEnvFile(bad_key.path()); });

    try {
        readEnvFile("/nonexistent/ch-sync/.env");
        FAIL() << "expected an exception";
    } catch (const Exception& e) {
        EXPECT_EQ(e.code(), ErrorCode::IoError);
        EXPECT_TRUE(contains(e.what(), "/nonexistent/ch-sync/.env")) << e.what();
    }
}

TEST(SyncEnvFile, FileThenEnvironmentPrecedence) {
    EnvFile file("ROLE=dr\nCHECK_INTERVAL=60\n");
    auto settings =
        applyEnvironment(applyEnvironment({}, readEnvFile(file.path())), {{"CHECK_INTERVAL", "30"}});
    EXPECT_EQ(settings.role, SiteRole::Dr);
    EXPECT_EQ(settings.check_interval, std::chrono::seconds(30));
}

}  // namespace
}  // namespace chfleet::sync
