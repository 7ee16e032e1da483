#include <dlfcn.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "../support/EmbeddedEngine.h"
#include "../support/TempDir.h"
#include "common/Process.h"
#include "shared/EmbeddedConnection.h"
#include "topology/ConfigRenderer.h"
#include "topology/Fleet.h"

// Every node's rendered config.d (and users.d) file, merged into a minimal main config, loads in the embedded
// ClickHouse 26.x engine, which then has exactly the clusters and macros the fleet file says.
//
// Why a child process: chDB runs one engine per process, configured when it is first opened, and the engine
// the other tests of this binary share (EmbeddedConnection) is opened without a configuration; a second
// chdb_connect with --config-file in the same process answers nothing. So this test starts the test binary
// again, filtered to itself, with the main config in kConfigVariable. That child opens the engine with
// --config-file, writes what system.clusters, system.macros and system.users say into the folder named by
// kAnswersVariable and exits; the parent compares those answers with the fleet file.
namespace chfleet::topology {
namespace {

constexpr const char* kConfigVariable = "CHFLEET_TEST_RENDERED_CONFIG";
constexpr const char* kAnswersVariable = "CHFLEET_TEST_RENDERED_CONFIG_ANSWERS";
constexpr const char* kThisTest = "RenderedConfig.LoadsInTheEmbeddedEngineWithTheClustersAndMacrosOfTheFleet";

/// What the child asks the engine, by the name of the file it writes the answer (TabSeparated) to.
const std::map<std::string, std::string> kQueries = {
    {"clusters",
     "SELECT cluster, shard_num, replica_num, host_name, port, user FROM system.clusters ORDER BY cluster, "
     "shard_num, replica_num"},
    {"macros", "SELECT macro, substitution FROM system.macros ORDER BY macro"},
    {"users", "SELECT name, auth_type FROM system.users WHERE name != 'default' ORDER BY name"},
};

/// A password XML must escape, so that the config only loads if the renderer escaped it.
const std::string kPassword = "p<&>\"'x";

// ---- the child ----

/// chDB's C API (as in tests/shared/EmbeddedConnection.cpp, which offers no way to pass a configuration).
struct chdb_result;
struct chdb_connection_;
using chdb_connection = chdb_connection_*;
using ConnectFn = chdb_connection* (*)(int argc, char** argv);
using QueryNFn = chdb_result* (*)(chdb_connection conn, const char* query, size_t query_len,
                                  const char* format, size_t format_len);
using ResultBufferFn = char* (*)(chdb_result* result);
using ResultLengthFn = size_t (*)(chdb_result* result);
using ResultErrorFn = const char* (*)(chdb_result* result);
using SetSignalHandlersFn = void (*)(int enabled);

template <typename Fn>
Fn symbol(void* library, const char* name) {
    void* address = dlsym(library, name);
    if (address == nullptr) {
        throw std::runtime_error(std::string("libchdb.so lacks ") + name);
    }
    return reinterpret_cast<Fn>(address);
}

/// Opens the engine with `config` as its main configuration and writes the answer of each of kQueries into
/// `answers`/<name>.tsv. The engine is never closed: the child exits right after.
void answerFromConfiguredEngine(const std::string& config, const std::string& answers) {
    std::string path = clickhouse::EmbeddedConnection::libraryPath();
    void* library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(library, nullptr) << dlerror();
    if (auto disable =
            reinterpret_cast<SetSignalHandlersFn>(dlsym(library, "chdb_set_signal_handlers_enabled"))) {
        disable(0);
    }
    auto connect = symbol<ConnectFn>(library, "chdb_connect");
    auto query_n = symbol<QueryNFn>(library, "chdb_query_n");
    auto result_buffer = symbol<ResultBufferFn>(library, "chdb_result_buffer");
    auto result_length = symbol<ResultLengthFn>(library, "chdb_result_length");
    auto result_error = symbol<ResultErrorFn>(library, "chdb_result_error");
    std::string program = "chfleet-unit-tests";
    std::string config_argument = "--config-file=" + config;
    char* argv[] = {program.data(), config_argument.data(), nullptr};
    chdb_connection* connection = connect(2, argv);
    ASSERT_TRUE(connection != nullptr && *connection != nullptr)
        << "the engine did not start with " << config << " (its reason is printed above)";
    static constexpr std::string_view kFormat = "TabSeparated";
    for (const auto& [name, sql] : kQueries) {
        chdb_result* result = query_n(*connection, sql.data(), sql.size(), kFormat.data(), kFormat.size());
        ASSERT_NE(result, nullptr) << sql;
        const char* error = result_error(result);
        ASSERT_TRUE(error == nullptr || *error == '\0') << sql << ": " << error;
        const char* buffer = result_buffer(result);
        std::ofstream(answers + "/" + name + ".tsv", std::ios::binary)
            << (buffer == nullptr ? std::string() : std::string(buffer, result_length(result)));
    }
}

// ---- the parent ----

/// The lines of `text`.
std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> result;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        result.push_back(line);
    }
    return result;
}

std::string readFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream content;
    content << in.rdbuf();
    return content.str();
}

/// The rows system.clusters should have on a node of `site`, as the fleet file says (not as the renderer
/// writes them): every region's cluster of every site, shards x replicas with the address of the node of that
/// shard and replica, and the site's global cluster, which numbers the shards of its regions one after the
/// other. Sorted.
std::vector<std::string> expectedClusterRows(const Fleet& fleet, const Site& site) {
    std::vector<std::string> rows;
    auto add_shard = [&](const std::string& cluster, const Region& region, int shard_num, int shard) {
        for (int replica = 1; replica <= region.replicas; ++replica) {
            const Node* node = region.node(shard, replica);
            rows.push_back(fmt::format("{}\t{}\t{}\t{}\t{}\t{}", cluster, shard_num, replica, node->host,
                                       node->tcp_port, fleet.credentials.user));
        }
    };
    for (const auto& any_site : fleet.sites) {
        for (const auto& region : any_site.regions) {
            for (int shard = 1; shard <= region.shards; ++shard) {
                add_shard(region.cluster, region, shard, shard);
            }
        }
    }
    int global_shard = 0;
    for (const auto& region : site.regions) {
        for (int shard = 1; shard <= region.shards; ++shard) {
            add_shard(site.global_cluster, region, ++global_shard, shard);
        }
    }
    std::sort(rows.begin(), rows.end());
    return rows;
}

/// cluster -> the number of replicas of each of its shards, from system.clusters rows.
std::map<std::string, std::vector<int>> clusterShapes(const std::vector<std::string>& rows) {
    std::map<std::string, std::vector<int>> shapes;
    for (const auto& row : rows) {
        std::istringstream fields(row);
        std::string cluster;
        int shard_num = 0;
        std::getline(fields, cluster, '\t');
        fields >> shard_num;
        auto& shards = shapes[cluster];
        if (shard_num >= 1) {
            shards.resize(std::max<size_t>(shards.size(), static_cast<size_t>(shard_num)));
            ++shards[shard_num - 1];
        }
    }
    return shapes;
}

/// One node of each region of each site: the last (highest shard and replica).
std::vector<const Node*> oneNodePerRegion(const Fleet& fleet) {
    std::vector<const Node*> nodes;
    for (const auto& site : fleet.sites) {
        for (const auto& region : site.regions) {
            nodes.push_back(&region.nodes.back());
        }
    }
    return nodes;
}

TEST(RenderedConfig, LoadsInTheEmbeddedEngineWithTheClustersAndMacrosOfTheFleet) {
    if (const char* config = std::getenv(kConfigVariable)) {
        const char* answers = std::getenv(kAnswersVariable);
        ASSERT_NE(answers, nullptr) << kAnswersVariable << " is not set";
        answerFromConfiguredEngine(config, answers);
        return;
    }
    CHFLEET_REQUIRE_EMBEDDED_ENGINE();
    for (const char* example : {"teei", "pair"}) {
        Fleet fleet = loadFleet(std::string(CHFLEET_SOURCE_DIR) + "/examples/" + example + "/fleet.yaml");
        for (const Node* node : oneNodePerRegion(fleet)) {
            SCOPED_TRACE(fmt::format("{}: node {}", example, node->name));
            const Site& site = *fleet.site(node->site);
            const Region& region = *site.region(node->region);
            chfleet::testing::TempDir dir("chfleet-rendered-config");
            writeNodeConfig(fleet, *node, dir.string(), kPassword);
            // A minimal main config beside the rendered config.d/ and users.d/, which the engine merges into
            // it as a server does: users.xml holds only the engine's own `default` user.
            std::string node_dir = (dir / node->name).string();
            std::ofstream(node_dir + "/config.xml") << "<clickhouse>\n    <users_config>" << node_dir
                                                    << "/users.xml</users_config>\n</clickhouse>\n";
            std::ofstream(node_dir + "/users.xml")
                << "<clickhouse><profiles><default/></profiles><quotas><default/></quotas><users><default>"
                   "<password></password><networks><ip>::/0</ip></networks><profile>default</profile><quota>"
                   "default</quota><access_management>1</access_management></default></users></clickhouse>\n";
            std::string answers = (dir / "answers").string();
            std::filesystem::create_directories(answers);
            auto child = process::run({"/proc/self/exe", std::string("--gtest_filter=") + kThisTest},
                                      {{kConfigVariable, node_dir + "/config.xml"},
                                       {kAnswersVariable, answers},
                                       {"GTEST_OUTPUT", ""}},
                                      {}, std::chrono::minutes(2));
            ASSERT_EQ(child.exit_code, 0) << child.output;

            std::vector<std::string> clusters = lines(readFile(answers + "/clusters.tsv"));
            std::sort(clusters.begin(), clusters.end());
            std::vector<std::string> expected = expectedClusterRows(fleet, site);
            EXPECT_EQ(clusterShapes(clusters), clusterShapes(expected));
            EXPECT_EQ(clusters, expected);

            EXPECT_EQ(lines(readFile(answers + "/macros.tsv")),
                      (std::vector<std::string>{
                          "cluster\t" + region.cluster, "region\t" + region.name, "replica\t" + node->name,
                          fmt::format("shard\t{}", node->shard), "site\t" + site.name}));
            EXPECT_EQ(lines(readFile(answers + "/users.tsv")),
                      (std::vector<std::string>{fleet.credentials.user + "\t['sha256_password']"}));
        }
    }
}

}  // namespace
}  // namespace chfleet::topology
