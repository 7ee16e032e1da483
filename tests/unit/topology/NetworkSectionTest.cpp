#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>

#include "common/Command.h"
#include "common/Exception.h"
#include "topology/ConfigRenderer.h"
#include "topology/NetworkSection.h"
#include "topology/NodeConnection.h"

namespace chfleet::topology {
namespace {

/// Two sites of one node each on real addresses (10.77.0.0/24 and an IPv6 one), keepers beside them.
std::string fleetText(const std::string& network) {
    return R"(fleet: n
credentials: {user: chfleet, password_env: N_PASSWORD}
sites:
  - name: a
    global_cluster: a_global
    keepers: [{host: 10.77.0.1, port: 2181}]
    regions:
      - {name: r, alias: r, cluster: a_r, shards: 1, replicas: 2,
         nodes: [{name: a0, host: 10.77.0.2, shard: 1, replica: 1}, {name: a1, host: ch-a1.example, shard: 1, replica: 2}]}
  - name: b
    global_cluster: b_global
    keepers: [{host: 10.77.1.1, port: 2181}]
    regions:
      - {name: r, alias: r, cluster: b_r, shards: 1, replicas: 1, nodes: [{name: b0, host: "fd00::2", shard: 1, replica: 1}]}
)" + network +
           R"(schema:
  database: db
  tables:
    - {name: t, columns: [{name: k, type: String}], order_by: k, region_key: k}
)";
}

std::string usersNetworks(const Fleet& fleet) {
    std::string xml = renderUsersConfig(fleet, "pw");
    size_t open = xml.find("<networks>");
    size_t close = xml.find("</networks>");
    std::string inner = xml.substr(open + 10, close - open - 10);
    std::string compact;
    for (char c : inner) {
        if (c != ' ' && c != '\n') {
            compact += c;
        }
    }
    return compact;
}

TEST(NetworkSection, DefaultsListenOnEveryInterfaceAndAdmitTheFleetsHostsOnly) {
    Fleet fleet = parseFleet(fleetText(""), "fleet.yaml");
    EXPECT_EQ(listenHost(fleet, *fleet.node("a0")), "0.0.0.0");
    EXPECT_EQ(listenHost(fleet, *fleet.node("b0")), "::") << "a node written as an IPv6 address";
    EXPECT_EQ(usersNetworks(fleet),
              "<ip>127.0.0.1</ip><ip>::1</ip><ip>10.77.0.2</ip><host>ch-a1.example</host><ip>fd00::2</ip>");
    std::string xml = renderServerConfig(fleet, *fleet.node("a0"), "pw");
    EXPECT_NE(xml.find("<listen_host>0.0.0.0</listen_host>"), std::string::npos) << xml;
    EXPECT_NE(xml.find("<interserver_http_host>10.77.0.2</interserver_http_host>"), std::string::npos);
}

TEST(NetworkSection, ListenHostAndAllowedClients) {
    Fleet fleet = parseFleet(fleetText("network:\n  listen_host: host\n  allow: [10.77.9.0/24, "
                                       "ingest-1.example, \"fd00::/8\", 10.77.0.2]\n"),
                             "fleet.yaml");
    EXPECT_EQ(listenHost(fleet, *fleet.node("a0")), "10.77.0.2");
    EXPECT_EQ(listenHost(fleet, *fleet.node("b0")), "fd00::2");
    EXPECT_EQ(usersNetworks(fleet),
              "<ip>127.0.0.1</ip><ip>::1</ip><ip>10.77.0.2</ip><host>ch-a1.example</host><ip>fd00::2</ip>"
              "<ip>10.77.9.0/24</ip><host>ingest-1.example</host><ip>fd00::/8</ip>")
        << "each entry once";
    EXPECT_EQ(parseFleet(dumpFleet(fleet), "dumped.yaml"), fleet);

    Fleet literal = parseFleet(fleetText("network: {listen_host: \"::\"}\n"), "fleet.yaml");
    EXPECT_EQ(listenHost(literal, *literal.node("a0")), "::");
}

TEST(NetworkSection, LoopbackNodesListenOnTheirOwnAddressWhateverTheSectionSays) {
    std::string text = fleetText("network: {listen_host: \"::\"}\n");
    for (const char* host : {"10.77.0.2", "ch-a1.example", "fd00::2"}) {
        text.replace(text.find(host), std::string(host).size(), "127.0.0.9");
        break;
    }
    Fleet fleet = parseFleet(text, "fleet.yaml");
    EXPECT_EQ(listenHost(fleet, *fleet.node("a0")), "127.0.0.9");
    EXPECT_EQ(listenHost(fleet, *fleet.node("a1")), "::");
}

TEST(NetworkSection, StallTimeoutFromTheFleetFileUnlessTheCommandLineSetsIt) {
    ::unsetenv(kStallTimeoutVariable);
    ::setenv("N_PASSWORD", "pw", 1);  // endpointFor resolves the fleet password
    Fleet defaults = parseFleet(fleetText(""), "fleet.yaml");
    EXPECT_EQ(endpointFor(defaults, *defaults.node("a0")).stall_timeout, std::chrono::seconds(30));
    Fleet fleet = parseFleet(fleetText("network:\n  stall_timeout_seconds: 7\n"), "fleet.yaml");
    EXPECT_EQ(endpointFor(fleet, *fleet.node("a0")).stall_timeout, std::chrono::seconds(7));
    EXPECT_NE(dumpFleet(fleet).find("stall_timeout_seconds: 7"), std::string::npos)
        << "the resolved fleet keeps it";
    // --stall-timeout (which sets the variable) and the variable itself win over the file.
    ::setenv(kStallTimeoutVariable, "2500", 1);
    EXPECT_EQ(endpointFor(fleet, *fleet.node("a0")).stall_timeout, std::chrono::milliseconds(2500));
    ::unsetenv(kStallTimeoutVariable);
}

TEST(NetworkSection, Problems) {
    FleetCheck check =
        checkFleetText(fleetText("network:\n  listen_host: everywhere\n  allow: [10.0.0.0/33, "
                                 "\"bad host!\", {a: 1}]\n  alow: []\n  stall_timeout_seconds: "
                                 "-1\n"),
                       "fleet.yaml");
    std::string problems = check.describeProblems();
    EXPECT_NE(problems.find("fleet.yaml:18: network.alow: unknown field; did you mean 'allow'?"),
              std::string::npos)
        << problems;
    EXPECT_NE(problems.find(
                  "fleet.yaml:16: network.listen_host: 'everywhere' is not 'all', 'host' or an IP address"),
              std::string::npos)
        << problems;
    EXPECT_NE(problems.find("fleet.yaml:17: network.allow[0]: expected an IP address"), std::string::npos)
        << problems;
    EXPECT_NE(problems.find("network.allow[1]: expected"), std::string::npos) << problems;
    EXPECT_NE(problems.find("network.allow[2]: expected"), std::string::npos) << problems;
    EXPECT_NE(problems.find("fleet.yaml:19: network.stall_timeout_seconds:"), std::string::npos) << problems;
}

TEST(ConfigChange, StartupSettingsNeedARestartTheRestReloads) {
    Fleet fleet = parseFleet(fleetText(""), "fleet.yaml");
    const Node& node = *fleet.node("a0");
    std::string before = renderServerConfig(fleet, node, "pw");
    std::vector<std::string> settings;
    EXPECT_EQ(classifyConfigChange("", before, true, settings), ConfigChange::New);
    EXPECT_EQ(classifyConfigChange(before, before, false, settings), ConfigChange::None);
    EXPECT_EQ(classifyConfigChange(before, before, true, settings), ConfigChange::Reload)
        << "users.d changed";
    EXPECT_TRUE(settings.empty());

    std::string other_password = renderServerConfig(fleet, node, "pw2");
    EXPECT_EQ(classifyConfigChange(before, other_password, false, settings), ConfigChange::Reload)
        << "remote_servers' password is re-read live";

    Fleet moved = parseFleet(fleetText("network: {listen_host: host}\n"), "fleet.yaml");
    std::string after = renderServerConfig(moved, *moved.node("a0"), "pw");
    EXPECT_EQ(classifyConfigChange(before, after, false, settings), ConfigChange::Restart);
    EXPECT_EQ(settings, std::vector<std::string>{"listen_host"});
}

}  // namespace
}  // namespace chfleet::topology
