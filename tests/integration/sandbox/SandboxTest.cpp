// The sandbox subcommand as an operator uses it, on examples/pair (2 servers, 2 keepers): up, status, kill,
// start, the keeper guard, down twice; and that no secret reaches argv, the state or the resolved fleet file.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "TestFleet.h"
#include "clickhouse/Capabilities.h"
#include "clickhouse/HttpConnection.h"
#include "clickhouse/Result.h"
#include "common/Exception.h"
#include "common/Files.h"
#include "common/Process.h"
#include "topology/NodeConnection.h"

namespace {

namespace ch = chfleet::clickhouse;

chfleet::process::Finished chfleet(const std::vector<std::string>& args) {
    std::vector<std::string> argv{CHFLEET_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    return chfleet::process::run(argv, {}, {}, chfleet::testing::TestFleet::kChfleetTimeout);
}

std::string cmdline(int pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

class SandboxTest : public ::testing::Test {
  protected:
    void SetUp() override {
        char pattern[] = "/tmp/chfleet-it-sandbox-XXXXXX";
        dir_ = ::mkdtemp(pattern);
    }
    void TearDown() override {
        chfleet({"sandbox", "down", "--dir", dir_});
        std::filesystem::remove_all(dir_);
    }
    nlohmann::json status() {
        auto result = chfleet({"sandbox", "status", "--dir", dir_, "--json"});
        EXPECT_EQ(result.exit_code, 0) << result.output;
        return nlohmann::json::parse(result.output);
    }
    std::string dir_;
};

TEST_F(SandboxTest, LifecycleAsAnOperatorRunsIt) {
    auto up = chfleet({"sandbox", "up", "-f", std::string(CHFLEET_SOURCE_DIR) + "/examples/pair/fleet.yaml",
                       "--dir", dir_, "--base-port", "0"});
    ASSERT_EQ(up.exit_code, 0) << up.output;
    auto processes = status()["processes"];
    ASSERT_EQ(processes.size(), 4u);
    std::vector<int> pids;
    for (const auto& process : processes) {
        EXPECT_TRUE(process["alive"].get<bool>()) << process.dump();
        pids.push_back(process["pid"].get<int>());
    }

    // The password lives only in the 0600 secrets file and the servers' own config: never in argv, the state
    // file or the resolved fleet file.
    auto password = chfleet::files::read(dir_ + "/secrets/password");
    ASSERT_GE(password.size(), 16u);
    for (int pid : pids) {
        EXPECT_EQ(cmdline(pid).find(password), std::string::npos) << "pid " << pid;
    }
    EXPECT_EQ(chfleet::files::read(dir_ + "/sandbox.json").find(password), std::string::npos);
    EXPECT_EQ(chfleet::files::read(dir_ + "/fleet.yaml").find(password), std::string::npos);
    auto perms = std::filesystem::status(dir_ + "/secrets/password").permissions();
    EXPECT_EQ(perms & std::filesystem::perms::all,
              std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);

    // A second `up` in the same folder refuses while the first runs.
    auto again =
        chfleet({"sandbox", "up", "-f", std::string(CHFLEET_SOURCE_DIR) + "/examples/pair/fleet.yaml",
                 "--dir", dir_, "--base-port", "0"});
    EXPECT_EQ(again.exit_code, 9) << again.output;
    EXPECT_NE(again.output.find("already running"), std::string::npos) << again.output;

    // The real server answers with the fleet credentials and reports what 18.16 can do; a wrong password is
    // refused with ClickHouse's code and the password never appears in the error.
    auto fleet = chfleet::topology::loadFleet(dir_ + "/fleet.yaml");
    auto connection = chfleet::topology::connectTo(fleet, *fleet.node("primary-ch-0"));
    auto capabilities = ch::detectCapabilities(*connection);
    EXPECT_EQ(capabilities.major, 18);
    EXPECT_EQ(capabilities.minor, 16);
    EXPECT_FALSE(capabilities.ttl);
    EXPECT_FALSE(capabilities.lightweight_delete);
    EXPECT_FALSE(capabilities.remote_secure);
    EXPECT_FALSE(capabilities.max_insert_threads);
    EXPECT_FALSE(capabilities.system_disks);
    EXPECT_FALSE(capabilities.ttl_only_drop_parts);
    auto endpoint = chfleet::topology::endpointFor(fleet, *fleet.node("primary-ch-0"));
    endpoint.credentials.password = "wrong-secret-4711";
    try {
        ch::HttpConnection wrong(endpoint);
        wrong.execute("SELECT 1");
        FAIL() << "a wrong password was accepted";
    } catch (const chfleet::ServerException& e) {
        EXPECT_EQ(e.serverCode(), 193) << e.what();
        EXPECT_EQ(std::string(e.what()).find("wrong-secret-4711"), std::string::npos) << e.what();
    }

    // The keeper guard: with the DR keeper killed, a DR server is not started (18.16 would leave its
    // Replicated tables out silently).
    ASSERT_EQ(chfleet({"sandbox", "kill", "dr-ch-0", "--dir", dir_}).exit_code, 0);
    ASSERT_EQ(chfleet({"sandbox", "kill", "keeper-dr", "--dir", dir_}).exit_code, 0);
    auto refused = chfleet({"sandbox", "start", "dr-ch-0", "--dir", dir_});
    EXPECT_EQ(refused.exit_code, 9) << refused.output;
    EXPECT_NE(refused.output.find("keeper-dr does not serve"), std::string::npos) << refused.output;
    ASSERT_EQ(chfleet({"sandbox", "start", "keeper-dr", "--dir", dir_}).exit_code, 0);
    auto started = chfleet({"sandbox", "start", "dr-ch-0", "--dir", dir_});
    EXPECT_EQ(started.exit_code, 0) << started.output;
    auto restarted = status();  // held: a range-for over a member of a temporary would dangle
    for (const auto& process : restarted["processes"]) {
        EXPECT_TRUE(process["alive"].get<bool>()) << process.dump();
    }

    // down stops everything by pid, and a second down is harmless.
    auto down = chfleet({"sandbox", "down", "--dir", dir_});
    EXPECT_EQ(down.exit_code, 0) << down.output;
    EXPECT_NE(down.output.find("stopped 4 processes"), std::string::npos) << down.output;
    auto stopped = status();
    for (const auto& process : stopped["processes"]) {
        EXPECT_FALSE(process["alive"].get<bool>()) << process.dump();
    }
    auto twice = chfleet({"sandbox", "down", "--dir", dir_});
    EXPECT_EQ(twice.exit_code, 0) << twice.output;
    EXPECT_NE(twice.output.find("stopped 0 processes"), std::string::npos) << twice.output;
}

TEST_F(SandboxTest, PortsInUseAreNamedBeforeAnythingStarts) {
    // Occupy the first port of the fleet, then ask for that base port.
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    ::listen(fd, 1);
    socklen_t length = sizeof(address);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    int port = ntohs(address.sin_port);
    auto up = chfleet({"sandbox", "up", "-f", std::string(CHFLEET_SOURCE_DIR) + "/examples/pair/fleet.yaml",
                       "--dir", dir_, "--base-port", std::to_string(port)});
    ::close(fd);
    EXPECT_EQ(up.exit_code, 9) << up.output;
    EXPECT_NE(up.output.find("port " + std::to_string(port) + " on 127.0.0.1 is in use"), std::string::npos)
        << up.output;
    EXPECT_FALSE(std::filesystem::exists(dir_ + "/sandbox.json")) << "nothing may start";
}

TEST_F(SandboxTest, StatusOfAFolderWithoutSandboxSaysSo) {
    auto result = chfleet({"sandbox", "status", "--dir", dir_ + "/none"});
    EXPECT_EQ(result.exit_code, 9);
    EXPECT_NE(result.output.find("no sandbox in"), std::string::npos) << result.output;
    auto down = chfleet({"sandbox", "down", "--dir", dir_ + "/none"});
    EXPECT_EQ(down.exit_code, 0) << down.output;
}

}  // namespace
