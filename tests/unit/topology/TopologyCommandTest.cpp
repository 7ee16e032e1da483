#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "../support/TempDir.h"

namespace chfleet {
int topologyMain(const std::vector<std::string>& args);
int configMain(const std::vector<std::string>& args);
}  // namespace chfleet

namespace chfleet {
namespace {

const std::string teei_file = std::string(CHFLEET_SOURCE_DIR) + "/examples/teei/fleet.yaml";
const std::string pair_file = std::string(CHFLEET_SOURCE_DIR) + "/examples/pair/fleet.yaml";

struct Outcome {
    int code;
    std::string out;
    std::string err;
};

Outcome run(int (*main)(const std::vector<std::string>&), const std::vector<std::string>& args) {
    ::testing::internal::CaptureStdout();
    ::testing::internal::CaptureStderr();
    int code = main(args);
    std::string out = ::testing::internal::GetCapturedStdout();
    std::string err = ::testing::internal::GetCapturedStderr();
    return {code, out, err};
}

/// Sets (or, with nullopt, unsets) an environment variable while it lives; then puts back what was there, so
/// that no other test sees it, whatever the order the tests run in.
class ScopedEnv {
  public:
    ScopedEnv(std::string name, const std::optional<std::string>& value) : name_(std::move(name)) {
        if (const char* before = std::getenv(name_.c_str())) {
            before_ = before;
        }
        set(value);
    }
    ~ScopedEnv() { set(before_); }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;
    void set(const std::optional<std::string>& value) {
        if (value) {
            ::setenv(name_.c_str(), value->c_str(), 1);
        } else {
            ::unsetenv(name_.c_str());
        }
    }

  private:
    std::string name_;
    std::optional<std::string> before_;
};

TEST(TopologyCommand, CheckSummarisesTheTeeiFleet) {
    Outcome result = run(topologyMain, {"check", "-f", teei_file});
    ASSERT_EQ(result.code, 0) << result.err;
    EXPECT_NE(result.out.find("site primary"), std::string::npos) << result.out;
    EXPECT_NE(result.out.find("region us-east-1 (alias us): cluster teei_us_cluster, 3 shards x 2 replicas"),
              std::string::npos)
        << result.out;
    EXPECT_NE(
        result.out.find("global cluster teei_global_cluster: 5 shards (us-east-1 as shards 1-3, eu-central-1 "
                        "as shards 4-5)"),
        std::string::npos);
    EXPECT_NE(result.out.find("clickhouse-us-0"), std::string::npos);
    EXPECT_NE(result.out.find("keepers: 127.0.0.1:21000 (derived)"), std::string::npos);
    EXPECT_NE(
        result.out.find("  events: table, engine MergeTree, sharded by cityHash64(company_id), retention 90 "
                        "days on timestamp\n    node events_local; region events_us_distributed (us-east-1), "
                        "events_eu_distributed (eu-central-1); site events_distributed\n"),
        std::string::npos)
        << result.out;
    EXPECT_NE(result.out.find("mv_daily_region_events: materialized view from events, engine "
                              "SummingMergeTree(event_count), no sharding key (read only)"),
              std::string::npos);
    EXPECT_NE(result.out.find("valid; 2 sites, 4 regions, 12 nodes, 2 keepers, 9 tables"), std::string::npos);
    EXPECT_NE(result.out.find("password from env CHFLEET_PASSWORD"), std::string::npos);
}

TEST(TopologyCommand, CheckJson) {
    Outcome result = run(topologyMain, {"check", "-f", pair_file, "--json", "--base-port", "31000"});
    ASSERT_EQ(result.code, 0) << result.err;
    auto json = nlohmann::json::parse(result.out);
    EXPECT_TRUE(json["valid"].get<bool>());
    EXPECT_EQ(json["sites"][1]["name"], "dr");
    EXPECT_EQ(json["sites"][0]["keepers"][0]["port"], 31000);
    EXPECT_EQ(json["sites"][0]["regions"][0]["nodes"][0]["name"], "primary-ch-0");
    EXPECT_EQ(json["sites"][0]["regions"][0]["nodes"][0]["http_port"], 31001);
    EXPECT_EQ(json["schema"]["tables"][0]["regional"]["main"], "http_telemetry_main_distributed");
}

TEST(TopologyCommand, CheckReportsEveryProblemAndExits4) {
    chfleet::testing::TempDir temp("chfleet-command-test");
    const auto& dir = temp.path();
    std::ifstream in(pair_file);
    std::stringstream text;
    text << in.rdbuf();
    std::string broken = text.str();
    broken.replace(broken.find("shards: 1, replicas: 1, node_prefix: dr-ch"), 9, "shards: 0");
    broken.replace(broken.find("region_key: device"), 18, "region_key: devise");
    std::ofstream(dir / "fleet.yaml") << broken;
    std::string file = (dir / "fleet.yaml").string();

    Outcome result = run(topologyMain, {"check", "-f", file});
    EXPECT_EQ(result.code, 4);
    EXPECT_EQ(result.out, "");
    EXPECT_NE(result.err.find(file + ":23: sites[1].regions[0].shards: 0 is out of range (1..1000)\n"),
              std::string::npos)
        << result.err;
    EXPECT_NE(
        result.err.find(file + ":39: schema.tables[0].region_key: unknown column 'devise'; did you mean "
                               "'device'?\n"),
        std::string::npos)
        << result.err;
    EXPECT_NE(result.err.find("2 problems found"), std::string::npos);

    Outcome json = run(topologyMain, {"check", "-f", file, "--json"});
    EXPECT_EQ(json.code, 4);
    auto parsed = nlohmann::json::parse(json.out);
    EXPECT_FALSE(parsed["valid"].get<bool>());
    EXPECT_EQ(parsed["problems"].size(), 2u);
    EXPECT_EQ(parsed["problems"][0]["line"], 23);
    EXPECT_EQ(parsed["problems"][0]["path"], "sites[1].regions[0].shards");
}

TEST(TopologyCommand, MissingFileAndBadArguments) {
    EXPECT_EQ(run(topologyMain, {"check", "-f", "/nonexistent/fleet.yaml"}).code, 10);
    EXPECT_EQ(run(topologyMain, {"check"}).code, 2);
    EXPECT_EQ(run(topologyMain, {}).code, 2);
    Outcome help = run(topologyMain, {"check", "--help"});
    EXPECT_EQ(help.code, 0);
    EXPECT_NE(help.out.find("Examples:"), std::string::npos);
    EXPECT_NE(help.out.find("--json"), std::string::npos);
}

TEST(ConfigCommand, RenderWritesFilesAndNoSecret) {
    chfleet::testing::TempDir temp("chfleet-command-test");
    const auto& dir = temp.path();
    ScopedEnv password("CHFLEET_PASSWORD", "render-test-password");
    Outcome result =
        run(configMain, {"render", "-f", teei_file, "-o", dir.string(), "--node", "clickhouse-us-4"});
    ASSERT_EQ(result.code, 0) << result.err;
    EXPECT_NE(
        result.out.find("wrote " + (dir / "clickhouse-us-4/config.d/chfleet.xml").string() + " (mode 0600)"),
        std::string::npos)
        << result.out;
    EXPECT_EQ(result.out.find("render-test-password"), std::string::npos);
    EXPECT_EQ(result.err.find("render-test-password"), std::string::npos);
    EXPECT_TRUE(std::filesystem::exists(dir / "clickhouse-us-4/users.d/chfleet.xml"));
    EXPECT_FALSE(std::filesystem::exists(dir / "clickhouse-us-0"));

    Outcome all = run(configMain, {"render", "-f", pair_file, "-o", dir.string(), "--json"});
    ASSERT_EQ(all.code, 0) << all.err;
    EXPECT_EQ(nlohmann::json::parse(all.out)["files"].size(), 4u);

    EXPECT_EQ(run(configMain, {"render", "-f", teei_file, "-o", dir.string(), "--node", "nope"}).code, 2);
    password.set(std::nullopt);
    Outcome no_password = run(configMain, {"render", "-f", teei_file, "-o", dir.string()});
    EXPECT_EQ(no_password.code, 4);
    EXPECT_NE(no_password.err.find("CHFLEET_PASSWORD"), std::string::npos);
}

TEST(ConfigCommand, RenderSaysWhatReloadsAndWhatNeedsARestart) {
    chfleet::testing::TempDir temp("chfleet-command-test");
    const auto& dir = temp.path();
    ScopedEnv password("CHFLEET_PASSWORD", "first");
    std::vector<std::string> render = {"render", "-f", pair_file, "-o", dir.string()};
    Outcome first = run(configMain, render);
    ASSERT_EQ(first.code, 0) << first.err;
    EXPECT_NE(first.out.find("new (install, then start or restart the server): primary-ch-0, dr-ch-0"),
              std::string::npos)
        << first.out;
    EXPECT_NE(run(configMain, render).out.find("unchanged: primary-ch-0, dr-ch-0"), std::string::npos);

    password.set("second");  // users.d and remote_servers: both re-read live
    Outcome rotated = run(configMain, render);
    EXPECT_NE(rotated.out.find("applied live once installed"), std::string::npos) << rotated.out;
    EXPECT_EQ(rotated.out.find("restart needed"), std::string::npos) << rotated.out;

    Outcome moved =
        run(configMain, {"render", "-f", pair_file, "-o", dir.string(), "--base-port", "23000", "--json"});
    ASSERT_EQ(moved.code, 0) << moved.err;
    auto nodes = nlohmann::json::parse(moved.out)["nodes"];
    ASSERT_EQ(nodes.size(), 2u);
    EXPECT_EQ(nodes[0]["change"], "restart");
    EXPECT_EQ(nodes[0]["restart_settings"],
              nlohmann::json::array({"http_port", "tcp_port", "interserver_http_port", "zookeeper"}));
}

}  // namespace
}  // namespace chfleet
