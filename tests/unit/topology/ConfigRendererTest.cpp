#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "../support/TempDir.h"
#include "common/Digest.h"
#include "common/Exception.h"
#include "topology/ConfigRenderer.h"

namespace chfleet::topology {
namespace {

Fleet teei() {
    return loadFleet(std::string(CHFLEET_SOURCE_DIR) + "/examples/teei/fleet.yaml");
}

/// The text between `<name ...>` and `</name>` (the first such element).
std::string element(const std::string& xml, const std::string& name) {
    size_t open = xml.find("<" + name + ">");
    if (open == std::string::npos) {
        open = xml.find("<" + name + " ");
    }
    size_t close = xml.find("</" + name + ">", open);
    if (open == std::string::npos || close == std::string::npos) {
        return {};
    }
    return xml.substr(open, close - open + name.size() + 3);
}

size_t count(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) {
        ++n;
    }
    return n;
}

/// A small well-formedness check: one root, every tag closed in order, only the five predefined entities, no
/// markup characters in text.
bool wellFormed(const std::string& xml, std::string& why) {
    std::vector<std::string> open;
    size_t i = 0;
    int roots = 0;
    while (i < xml.size()) {
        if (xml[i] == '<') {
            size_t end = xml.find('>', i);
            if (end == std::string::npos) {
                why = "unterminated tag";
                return false;
            }
            std::string tag = xml.substr(i + 1, end - i - 1);
            i = end + 1;
            if (tag.rfind("?", 0) == 0 || tag.rfind("!--", 0) == 0) {
                continue;
            }
            if (tag[0] == '/') {
                if (open.empty() || open.back() != tag.substr(1)) {
                    why = "mismatched </" + tag.substr(1) + ">";
                    return false;
                }
                open.pop_back();
                continue;
            }
            std::string name = tag.substr(0, tag.find(' '));
            if (count(tag, "\"") % 2 != 0 || tag.find('<') != std::string::npos) {
                why = "bad attributes in <" + tag + ">";
                return false;
            }
            if (open.empty()) {
                ++roots;
            }
            if (tag.back() != '/') {
                open.push_back(name);
            }
        } else if (xml[i] == '&') {
            size_t end = xml.find(';', i);
            std::string entity = end == std::string::npos ? "" : xml.substr(i, end - i + 1);
            if (entity != "&amp;" && entity != "&lt;" && entity != "&gt;" && entity != "&quot;" &&
                entity != "&apos;") {
                why = "bad entity at " + std::to_string(i);
                return false;
            }
            i = end + 1;
        } else {
            if (xml[i] == '>' || xml[i] == '"' || xml[i] == '\'') {
                why = std::string("raw ") + xml[i] + " in text at " + std::to_string(i);
                return false;
            }
            ++i;
        }
    }
    if (!open.empty() || roots != 1) {
        why = "unclosed elements or not one root";
        return false;
    }
    return true;
}

TEST(ConfigRenderer, ServerConfigOfAPrimaryNode) {
    Fleet fleet = teei();
    std::string xml = renderServerConfig(fleet, *fleet.node("clickhouse-us-0"), "pw");
    std::string why;
    EXPECT_TRUE(wellFormed(xml, why)) << why << "\n" << xml;
    EXPECT_EQ(xml.rfind("<?xml version=\"1.0\"?>\n", 0), 0u);
    EXPECT_NE(xml.find("\n<yandex>\n"), std::string::npos);
    EXPECT_NE(xml.find("    <listen_host remove=\"remove\"/>\n    <listen_host remove=\"remove\"/>\n"
                       "    <listen_host>127.0.0.1</listen_host>\n"
                       "    <http_port>21001</http_port>\n    <tcp_port>21002</tcp_port>\n"
                       "    <interserver_http_port>21003</interserver_http_port>\n"
                       "    <interserver_http_host>127.0.0.1</interserver_http_host>\n"),
              std::string::npos);

    std::string us = element(xml, "teei_us_cluster");
    EXPECT_EQ(us.rfind("<teei_us_cluster replace=\"replace\">", 0), 0u);
    EXPECT_EQ(count(us, "<shard>"), 3u);
    EXPECT_EQ(count(us, "<replica>"), 6u);
    EXPECT_EQ(count(us, "<internal_replication>true</internal_replication>"), 3u);
    EXPECT_EQ(count(us, "<weight>1</weight>"), 3u);
    EXPECT_EQ(count(us, "<user>chfleet</user>"), 6u);
    EXPECT_EQ(count(us, "<password>pw</password>"), 6u);
    // Shard 1 is clickhouse-us-0 then clickhouse-us-1 (tcp ports 21002, 21005), in that order.
    EXPECT_NE(us.find("<shard>\n                <weight>1</weight>\n"
                      "                <internal_replication>true</internal_replication>\n"
                      "                <replica>\n                    <host>127.0.0.1</host>\n"
                      "                    <port>21002</port>\n                    <user>chfleet</user>\n"
                      "                    <password>pw</password>\n                </replica>\n"
                      "                <replica>\n                    <host>127.0.0.1</host>\n"
                      "                    <port>21005</port>\n"),
              std::string::npos)
        << us;

    std::string eu = element(xml, "teei_eu_cluster");
    EXPECT_EQ(count(eu, "<shard>"), 2u);
    EXPECT_EQ(count(eu, "<replica>"), 4u);

    std::string global = element(xml, "teei_global_cluster");
    EXPECT_EQ(count(global, "<shard>"), 5u);
    EXPECT_EQ(count(global, "<replica>"), 10u);
    // US shards first (site region order): the first replica is clickhouse-us-0, the last clickhouse-eu-3.
    EXPECT_LT(global.find("<port>21002</port>"), global.find("<port>21020</port>"));
    EXPECT_NE(global.find("<port>21029</port>"), std::string::npos);

    // The other site's region clusters too (sync reads the peer site through them), after the node's own, but
    // not the other site's global cluster.
    EXPECT_EQ(count(element(xml, "teei_dr_us_cluster"), "<shard>"), 1u);
    EXPECT_LT(xml.find("<teei_eu_cluster"), xml.find("<teei_dr_us_cluster"));
    EXPECT_EQ(xml.find("teei_dr_global_cluster"), std::string::npos);

    EXPECT_NE(xml.find("    <macros replace=\"replace\">\n"
                       "        <site>primary</site>\n"
                       "        <region>us-east-1</region>\n"
                       "        <cluster>teei_us_cluster</cluster>\n"
                       "        <shard>1</shard>\n"
                       "        <replica>clickhouse-us-0</replica>\n"
                       "    </macros>\n"),
              std::string::npos)
        << xml;
    EXPECT_NE(xml.find("    <zookeeper replace=\"replace\">\n"
                       "        <node index=\"1\">\n"
                       "            <host>127.0.0.1</host>\n"
                       "            <port>21000</port>\n"
                       "        </node>\n"
                       "        <session_timeout_ms>30000</session_timeout_ms>\n"
                       "    </zookeeper>\n"),
              std::string::npos)
        << xml;
    EXPECT_NE(xml.find("    <distributed_ddl>\n        <path>/clickhouse/task_queue/ddl</path>\n    "
                       "</distributed_ddl>\n"),
              std::string::npos);
}

TEST(ConfigRenderer, MacrosOfAnotherShardAndADrNode) {
    Fleet fleet = teei();
    std::string us3 = renderServerConfig(fleet, *fleet.node("clickhouse-us-3"), "pw");
    EXPECT_NE(us3.find("<shard>2</shard>\n        <replica>clickhouse-us-3</replica>"), std::string::npos);

    std::string dr = renderServerConfig(fleet, *fleet.node("dr-eu-0"), "pw");
    EXPECT_NE(dr.find("<site>dr</site>\n        <region>eu-central-1</region>\n"
                      "        <cluster>teei_dr_eu_cluster</cluster>"),
              std::string::npos)
        << dr;
    EXPECT_EQ(count(element(dr, "teei_dr_global_cluster"), "<shard>"), 2u);
    EXPECT_EQ(count(element(dr, "teei_dr_us_cluster"), "<shard>"), 1u);
    EXPECT_NE(dr.find("<port>21031</port>\n        </node>"), std::string::npos)
        << "the DR site's own keeper";
    EXPECT_EQ(count(element(dr, "teei_us_cluster"), "<shard>"), 3u) << "the primary's clusters, for sync";
    EXPECT_EQ(dr.find("<teei_global_cluster"), std::string::npos);
}

TEST(ConfigRenderer, UsersConfig) {
    Fleet fleet = teei();
    std::string xml = renderUsersConfig(fleet, "secret");
    std::string why;
    EXPECT_TRUE(wellFormed(xml, why)) << why;
    EXPECT_NE(
        xml.find("<yandex>\n"
                 "    <users>\n"
                 "        <chfleet replace=\"replace\">\n"
                 "            <password_sha256_hex>"
                 "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b</password_sha256_hex>\n"
                 "            <networks>\n"
                 "                <ip>127.0.0.1</ip>\n"
                 "                <ip>::1</ip>\n"
                 "                <ip>10.0.0.0/8</ip>\n"
                 "            </networks>\n"
                 "            <profile>default</profile>\n"
                 "            <quota>default</quota>\n"
                 "        </chfleet>\n"
                 "    </users>\n"
                 "</yandex>\n"),
        std::string::npos)
        << xml;
    EXPECT_EQ(xml.find("secret"), std::string::npos);
    EXPECT_NE(renderUsersConfig(fleet, "").find("<password></password>"), std::string::npos);
    EXPECT_EQ(renderServerConfig(fleet, *fleet.node("clickhouse-eu-0"), "").find("<password>"),
              std::string::npos);
}

TEST(ConfigRenderer, HostileValuesAreEscaped) {
    Fleet fleet = loadFleet(std::string(CHFLEET_SOURCE_DIR) + "/examples/pair/fleet.yaml");
    Node& node = fleet.sites[0].regions[0].nodes[0];
    node.host = "h<&\"'>";
    fleet.sites[0].keepers[0].host = "</host><evil/>";
    std::string hostile = "p<&\"'>]]>";
    std::string xml = renderServerConfig(fleet, node, hostile);
    std::string why;
    EXPECT_TRUE(wellFormed(xml, why)) << why << "\n" << xml;
    EXPECT_NE(xml.find("<host>h&lt;&amp;&quot;&apos;&gt;</host>"), std::string::npos) << xml;
    EXPECT_NE(xml.find("<interserver_http_host>h&lt;&amp;&quot;&apos;&gt;</interserver_http_host>"),
              std::string::npos);
    EXPECT_NE(xml.find("<password>p&lt;&amp;&quot;&apos;&gt;]]&gt;</password>"), std::string::npos) << xml;
    EXPECT_NE(xml.find("<host>&lt;/host&gt;&lt;evil/&gt;</host>"), std::string::npos);
    EXPECT_EQ(xml.find("<evil"), std::string::npos);
    EXPECT_EQ(xml.find(hostile), std::string::npos);
    EXPECT_EQ(xmlEscape("<&\"'>", "test"), "&lt;&amp;&quot;&apos;&gt;");
}

TEST(ConfigRenderer, NamesThatCannotBeElementsAreRefused) {
    Fleet fleet = teei();
    fleet.sites[0].regions[0].cluster = "bad<cluster>";
    try {
        renderServerConfig(fleet, fleet.sites[0].regions[0].nodes[0], "pw");
        FAIL() << "no exception";
    } catch (const Exception& e) {
        EXPECT_EQ(e.code(), ErrorCode::InvalidConfig);
        EXPECT_NE(std::string(e.what()).find("cluster name 'bad<cluster>'"), std::string::npos) << e.what();
    }
    fleet = teei();
    fleet.credentials.user = "a b";
    EXPECT_THROW(renderUsersConfig(fleet, "pw"), Exception);
}

TEST(ConfigRenderer, ControlCharactersAreRefusedWithoutShowingTheSecret) {
    Fleet fleet = teei();
    try {
        renderServerConfig(fleet, *fleet.node("clickhouse-us-0"), std::string("top\x01secret"));
        FAIL() << "no exception";
    } catch (const Exception& e) {
        EXPECT_EQ(e.code(), ErrorCode::InvalidConfig);
        EXPECT_STREQ(e.what(),
                     "the fleet password contains a control character, which an XML config cannot hold");
    }
}

TEST(ConfigRenderer, Sha256) {
    EXPECT_EQ(sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(sha256Hex("secret"), "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b");
}

TEST(ConfigRenderer, WritesPrivateFilesForEveryNode) {
    Fleet fleet = teei();
    chfleet::testing::TempDir temp("chfleet-render-test");
    auto dir = temp / "configs";  // not there yet: the writer makes it
    auto written = writeNodeConfig(fleet, *fleet.node("clickhouse-eu-1"), dir.string(), "pw");
    ASSERT_EQ(written.size(), 2u);
    EXPECT_EQ(written[0], (dir / "clickhouse-eu-1/config.d/chfleet.xml").string());
    EXPECT_EQ(written[1], (dir / "clickhouse-eu-1/users.d/chfleet.xml").string());
    for (const auto& path : written) {
        struct stat status {};
        ASSERT_EQ(::stat(path.c_str(), &status), 0) << path;
        EXPECT_EQ(status.st_mode & 0777, 0600u) << path;
    }
    std::ifstream in(written[0]);
    std::stringstream content;
    content << in.rdbuf();
    EXPECT_EQ(content.str(), renderServerConfig(fleet, *fleet.node("clickhouse-eu-1"), "pw"));

    // An existing, more open file is replaced by a private one.
    std::filesystem::permissions(written[1], std::filesystem::perms::all);
    renderFleet(fleet, dir.string(), "pw");
    size_t nodes = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        EXPECT_TRUE(std::filesystem::exists(entry.path() / "config.d/chfleet.xml")) << entry.path();
        EXPECT_TRUE(std::filesystem::exists(entry.path() / "users.d/chfleet.xml")) << entry.path();
        ++nodes;
    }
    EXPECT_EQ(nodes, fleet.nodes().size());
    struct stat status {};
    ASSERT_EQ(::stat(written[1].c_str(), &status), 0);
    EXPECT_EQ(status.st_mode & 0777, 0600u);
}

}  // namespace
}  // namespace chfleet::topology
