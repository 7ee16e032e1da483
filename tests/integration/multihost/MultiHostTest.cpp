// The fleet on several hosts, as an operator deploys it: every ClickHouse server and keeper in a network
// namespace of its own with its own address on a private bridge (no address outside these namespaces and
// loopback), each server a stock Debian clickhouse-server config.xml/users.xml plus the files `chfleet config
// render` wrote for it, on the standard ports. chfleet runs in a namespace of its own (a client host the
// fleet file's network.allow admits). Checked across hosts: replication, Distributed reads over both shards,
// ingest routing rows to the shards, sync copying the primary's rows to the DR site, and that a host outside
// the fleet cannot log in as the fleet user. Namespaces and processes are removed by name and pid at the end,
// whatever failed (a test binary that dies leaves namespaces named after its pid, removed by the next run).
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "common/Digest.h"
#include "common/Process.h"
#include "shared/WaitUntil.h"

namespace chfleet::testing {
namespace {

constexpr const char* kPrefix = "chfmh";  ///< namespaces: chfmh<pid>-<host>; the hub holds the bridge
constexpr const char* kIp = "/usr/sbin/ip";
constexpr const char* kPassword = "multi host secret";
constexpr const char* kIngestPassword = "ingest secret";
constexpr std::chrono::seconds kCommandTimeout{180};

struct Host {
    std::string name;     ///< also the node or keeper name in the fleet file
    std::string address;  ///< 10.231.0.x
};

const std::vector<Host> kServers = {{"p-s1-r1", "10.231.0.11"},
                                    {"p-s1-r2", "10.231.0.12"},
                                    {"p-s2-r1", "10.231.0.21"},
                                    {"p-s2-r2", "10.231.0.22"},
                                    {"dr-s1-r1", "10.231.0.31"}};
const Host kKeepers{"keepers", "10.231.0.2"};
const Host kClient{"client", "10.231.0.100"};
const Host kOutsider{"outsider", "10.231.0.200"};

process::Finished run(const std::vector<std::string>& argv,
                      const std::map<std::string, std::string>& env = {}) {
    return process::run(argv, env, {}, kCommandTimeout);
}

/// Runs `argv` inside the namespace of `host`.
process::Finished runOn(const std::string& ns, std::vector<std::string> argv,
                        const std::map<std::string, std::string>& env = {}) {
    argv.insert(argv.begin(), {kIp, "netns", "exec", ns});
    return run(argv, env);
}

/// The namespaces of a run, their processes and files. Removed in the destructor, and left-overs of dead
/// runs (namespaces whose pid is gone) at the start.
class MultiHost {
  public:
    MultiHost() {
        removeLeftovers();
        tag_ = fmt::format("{}{}", kPrefix, ::getpid());
        char pattern[] = "/tmp/chfleet-multihost-XXXXXX";
        if (::mkdtemp(pattern) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        dir_ = pattern;
        try {
            must({kIp, "netns", "add", ns("hub")});
            namespaces_.push_back(ns("hub"));
            must({kIp, "-n", ns("hub"), "link", "add", "br0", "type", "bridge"});
            must({kIp, "-n", ns("hub"), "link", "set", "br0", "up"});
            std::vector<Host> hosts = kServers;
            hosts.insert(hosts.end(), {kKeepers, kClient, kOutsider});
            int index = 0;
            for (const auto& host : hosts) {
                std::string name = ns(host.name);
                std::string outer = fmt::format("v{}", index++);
                must({kIp, "netns", "add", name});
                namespaces_.push_back(name);
                must({kIp, "-n", ns("hub"), "link", "add", outer, "type", "veth", "peer", "name", "eth0",
                      "netns", name});
                must({kIp, "-n", ns("hub"), "link", "set", outer, "master", "br0", "up"});
                must({kIp, "-n", name, "addr", "add", host.address + "/24", "dev", "eth0"});
                must({kIp, "-n", name, "link", "set", "eth0", "up"});
                must({kIp, "-n", name, "link", "set", "lo", "up"});
            }
        } catch (...) {
            cleanUp();  // the destructor does not run for a constructor that threw
            throw;
        }
    }

    ~MultiHost() { cleanUp(); }

    void cleanUp() {
        for (auto it = pids_.rbegin(); it != pids_.rend(); ++it) {
            process::stop(it->first, it->second, std::chrono::seconds(10));
        }
        for (auto it = namespaces_.rbegin(); it != namespaces_.rend(); ++it) {
            run({kIp, "netns", "del", *it});
        }
        pids_.clear();
        namespaces_.clear();
        if (::testing::UnitTest::GetInstance()->failed_test_count() == 0) {
            std::filesystem::remove_all(dir_);
        } else {
            std::cerr << "multihost: files kept in " << dir_ << "\n";
        }
    }

    std::string ns(const std::string& host) const { return tag_ + "-" + host; }
    const std::string& dir() const { return dir_; }

    /// Starts `argv` inside `host`'s namespace as a daemon; stopped by pid (and `marker`) at the end.
    void start(const std::string& host, std::vector<std::string> argv, const std::string& log,
               const std::string& marker, const std::map<std::string, std::string>& env = {}) {
        argv.insert(argv.begin(), {kIp, "netns", "exec", ns(host)});
        pid_t pid = process::spawnDetached(argv, log, dir_, env);
        pids_.emplace_back(pid, marker);
    }

    /// Stops the daemons started with `marker` in their command line.
    void stop(const std::string& marker) {
        for (auto& [pid, its_marker] : pids_) {
            if (its_marker == marker) {
                process::stop(pid, its_marker, std::chrono::seconds(30));
            }
        }
    }

  private:
    static void must(const std::vector<std::string>& argv) {
        auto done = run(argv);
        if (done.exit_code != 0) {
            throw std::runtime_error(
                fmt::format("{}: {}", argv[0] + " " + argv[1] + " " + argv[2], done.output));
        }
    }

    /// Namespaces of earlier runs whose test binary is gone (killed by ctest's timeout, say).
    static void removeLeftovers() {
        auto listed = run({kIp, "netns", "list"});
        std::istringstream lines(listed.output);
        for (std::string line; std::getline(lines, line);) {
            std::string name = line.substr(0, line.find(' '));
            if (name.rfind(kPrefix, 0) != 0) {
                continue;
            }
            pid_t owner = std::atoi(name.c_str() + std::strlen(kPrefix));
            if (owner > 0 && ::kill(owner, 0) != 0) {
                // Its processes first: every pid still in that namespace.
                auto pids = run({kIp, "netns", "pids", name});
                std::istringstream list(pids.output);
                for (pid_t pid; list >> pid;) {
                    ::kill(pid, SIGKILL);
                }
                run({kIp, "netns", "del", name});
            }
        }
    }

    std::string tag_;
    std::string dir_;
    std::vector<std::string> namespaces_;
    std::vector<std::pair<pid_t, std::string>> pids_;
};

std::string fleetFile() {
    auto node = [](const Host& host, int shard, int replica) {
        return fmt::format("{{name: {}, host: {}, shard: {}, replica: {}}}", host.name, host.address, shard,
                           replica);
    };
    return fmt::format(
        R"(fleet: mh
credentials: {{user: chfleet, password_env: CHFLEET_MH_PASSWORD}}
network:
  allow: [{}]            # where chfleet runs; every other host but the servers is refused
sites:
  - name: primary
    global_cluster: mh_primary_global
    keeper_session_timeout_ms: 6000
    keepers: [{{host: {}, port: 2181}}]
    regions:
      - {{name: r, alias: r, cluster: mh_primary_r, shards: 2, replicas: 2,
         nodes: [{}, {}, {}, {}]}}
  - name: dr
    global_cluster: mh_dr_global
    keeper_session_timeout_ms: 6000
    keepers: [{{host: {}, port: 2182}}]
    regions:
      - {{name: r, alias: r, cluster: mh_dr_r, shards: 1, replicas: 1, nodes: [{}]}}
schema:
  database: mh
  tables:
    - name: events
      columns: [{{name: company_id, type: String}}, {{name: day, type: Date}}, {{name: value, type: UInt64}}]
      partition_by: toYYYYMM(day)
      order_by: (company_id, day)
      region_key: company_id
      default_region: r
    - name: company_region_mapping
      columns: [{{name: company_id, type: String}}, {{name: region, type: String}}, {{name: updated_at, type: DateTime}}]
      engine: ReplacingMergeTree(updated_at)
      order_by: company_id
      region_key: company_id
ingest:
  users: [{{name: app, password_sha256: {}}}]
)",
        kClient.address, kKeepers.address, node(kServers[0], 1, 1), node(kServers[1], 1, 2),
        node(kServers[2], 2, 1), node(kServers[3], 2, 2), kKeepers.address, node(kServers[4], 1, 1),
        sha256Hex(kIngestPassword));
}

/// What the operator adds beside the stock config.xml for this machine: where the data and logs go (the
/// test's folder instead of /var/lib/clickhouse). The fleet part is chfleet's config.d/chfleet.xml.
std::string localConfig(const std::string& node_dir) {
    return fmt::format(R"(<?xml version="1.0"?>
<yandex>
    <logger replace="replace"><level>information</level><log>{0}/server.log</log><errorlog>{0}/server.err.log</errorlog></logger>
    <path>{0}/data/</path>
    <tmp_path>{0}/tmp/</tmp_path>
    <user_files_path>{0}/user_files/</user_files_path>
    <format_schema_path>{0}/format_schemas/</format_schema_path>
    <mark_cache_size>134217728</mark_cache_size>
    <uncompressed_cache_size>134217728</uncompressed_cache_size>
</yandex>
)",
                       node_dir);
}

class MultiHostTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        hosts_ = new MultiHost();
        const std::string& dir = hosts_->dir();
        std::ofstream(dir + "/fleet.yaml") << fleetFile();
        env_ = {{"CHFLEET_MH_PASSWORD", kPassword}, {"LOG_LEVEL", "warn"}};

        auto render = chfleet({"config", "render", "-f", dir + "/fleet.yaml", "-o", dir + "/rendered"});
        ASSERT_EQ(render.exit_code, 0) << render.output;

        // ZooKeeper: one per site, both on the keepers host.
        for (int port : {2181, 2182}) {
            std::string zk_dir = fmt::format("{}/zk{}", dir, port);
            std::filesystem::create_directories(zk_dir + "/data");
            std::ofstream(zk_dir + "/zoo.cfg") << fmt::format(
                "tickTime=500\ninitLimit=10\nsyncLimit=5\ndataDir={0}/data\nclientPort={1}\n"
                "clientPortAddress={2}\nmaxClientCnxns=0\n4lw.commands.whitelist=srvr,ruok\n"
                "admin.enableServer=false\n",
                zk_dir, port, kKeepers.address);
            hosts_->start(kKeepers.name,
                          {"/usr/bin/java", "-Xmx128m", "-Dzookeeper.admin.enableServer=false", "-cp",
                           "/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar",
                           "org.apache.zookeeper.server.quorum.QuorumPeerMain", zk_dir + "/zoo.cfg"},
                          zk_dir + "/zookeeper.log", zk_dir);
        }
        for (int port : {2181, 2182}) {
            // Serving (not only answering ruok) as seen from the client host, across the bridge.
            std::string probe =
                fmt::format("exec 3<>/dev/tcp/{}/{} && echo srvr >&3 && cat <&3", kKeepers.address, port);
            ASSERT_TRUE(waitUntil([&] {
                return runOn(hosts_->ns(kClient.name), {"timeout", "5", "bash", "-c", probe})
                           .output.find("Mode:") != std::string::npos;
            })) << "keeper on port "
                << port << " never served";
        }

        for (const auto& server : kServers) {
            std::string node_dir = dir + "/" + server.name;
            std::filesystem::create_directories(node_dir + "/config.d");
            std::filesystem::create_directories(node_dir + "/users.d");
            std::filesystem::copy_file("/etc/clickhouse-server/config.xml", node_dir + "/config.xml");
            std::filesystem::copy_file("/etc/clickhouse-server/users.xml", node_dir + "/users.xml");
            std::ofstream(node_dir + "/config.d/local.xml") << localConfig(node_dir);
            std::filesystem::copy_file(dir + "/rendered/" + server.name + "/config.d/chfleet.xml",
                                       node_dir + "/config.d/chfleet.xml");
            std::filesystem::copy_file(dir + "/rendered/" + server.name + "/users.d/chfleet.xml",
                                       node_dir + "/users.d/chfleet.xml");
            hosts_->start(server.name,
                          {"/usr/sbin/clickhouse-server", "--config-file=" + node_dir + "/config.xml"},
                          node_dir + "/stdout.log", node_dir + "/config.xml");
        }
        for (const auto& server : kServers) {
            ASSERT_TRUE(waitUntil([&] { return query(server, "SELECT 1") == "1"; }))
                << server.name << " never answered the fleet user from the client host";
        }
        auto apply = chfleetOnClient({"schema", "apply", "-f", dir + "/fleet.yaml"});
        ASSERT_EQ(apply.exit_code, 0) << apply.output;
    }

    static void TearDownTestSuite() {
        delete hosts_;
        hosts_ = nullptr;
    }

    static process::Finished chfleet(const std::vector<std::string>& args) {
        std::vector<std::string> argv{CHFLEET_BINARY};
        argv.insert(argv.end(), args.begin(), args.end());
        return run(argv, env_);
    }

    /// chfleet on the client host.
    static process::Finished chfleetOnClient(const std::vector<std::string>& args) {
        std::vector<std::string> argv{CHFLEET_BINARY};
        argv.insert(argv.end(), args.begin(), args.end());
        return runOn(hosts_->ns(kClient.name), argv, env_);
    }

    /// One query as the fleet user over HTTP from `from` (the client host by default); the answer trimmed,
    /// or "ERROR: ..." with the server's text.
    static std::string query(const Host& server, const std::string& sql, const Host& from = kClient) {
        auto done = runOn(hosts_->ns(from.name), {"curl", "-sS", "--connect-timeout", "3", "--max-time", "30",
                                                  "-u", std::string("chfleet:") + kPassword, "--data-binary",
                                                  sql, fmt::format("http://{}:8123/", server.address)});
        std::string out = done.output;
        while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) {
            out.pop_back();
        }
        if (done.exit_code != 0 || out.find("Code: ") != std::string::npos) {
            return "ERROR: " + out;
        }
        return out;
    }

    static MultiHost* hosts_;
    static std::map<std::string, std::string> env_;
};

MultiHost* MultiHostTest::hosts_ = nullptr;
std::map<std::string, std::string> MultiHostTest::env_;

TEST_F(MultiHostTest, ServersListenOnTheirOwnAddressesAndReplicateAcrossHosts) {
    // Written on one replica through its own address, read on the other replica of the shard on another host.
    ASSERT_EQ(query(kServers[0], "INSERT INTO mh.events_local VALUES ('replicated', '2026-11-01', 7)"), "");
    EXPECT_EQ(query(kServers[1], "SYSTEM SYNC REPLICA mh.events_local"), "");
    EXPECT_EQ(query(kServers[1], "SELECT sum(value) FROM mh.events_local WHERE company_id = 'replicated'"),
              "7");
    // The second replica fetched the part from the first at the interserver host that one announces: its
    // own address (a loopback or host-name default would not be reachable from another host).
    EXPECT_EQ(query(kServers[0],
                    "SELECT host_address FROM system.clusters WHERE cluster = 'mh_primary_r' "
                    "ORDER BY shard_num, replica_num FORMAT CSV"),
              "\"10.231.0.11\"\n\"10.231.0.12\"\n\"10.231.0.21\"\n\"10.231.0.22\"");
}

TEST_F(MultiHostTest, IngestRoutesRowsToBothShardsAndDistributedReadsGatherThem) {
    const std::string& dir = hosts_->dir();
    std::string listen = kClient.address + ":8124";
    hosts_->start(
        kClient.name,
        {CHFLEET_BINARY, "ingest", "serve", "-f", dir + "/fleet.yaml", "--listen", listen, "--mode", "sync"},
        dir + "/ingest.log", dir + "/fleet.yaml", env_);
    std::string body;
    for (int company = 0; company < 40; ++company) {
        body += fmt::format("{{\"company_id\":\"company-{}\",\"day\":\"2026-10-{:02}\",\"value\":{}}}\n",
                            company, company % 28 + 1, company + 1);
    }
    std::string url = "http://" + listen + "/?query=INSERT%20INTO%20mh.events%20FORMAT%20JSONEachRow";
    process::Finished posted;
    ASSERT_TRUE(waitUntil([&] {
        posted = runOn(hosts_->ns(kClient.name),
                       {"curl", "-sS", "--fail-with-body", "-u", std::string("app:") + kIngestPassword,
                        "--data-binary", body, url});
        return posted.exit_code == 0;
    })) << posted.output;
    // Each shard got some of the companies, exactly where the server's own sharding puts them, and the global
    // Distributed table on any node gathers all 40 across hosts.
    std::string per_shard_sql =
        "SELECT count() FROM mh.events_local WHERE company_id LIKE 'company-%' AND "
        "cityHash64(company_id) % 2 != {}";
    EXPECT_EQ(query(kServers[0], fmt::format(fmt::runtime(per_shard_sql), 0)), "0")
        << "shard 1 holds only its companies";
    EXPECT_EQ(query(kServers[2], fmt::format(fmt::runtime(per_shard_sql), 1)), "0")
        << "shard 2 holds only its companies";
    EXPECT_NE(query(kServers[0], "SELECT count() FROM mh.events_local WHERE company_id LIKE 'company-%'"),
              "0");
    EXPECT_NE(query(kServers[2], "SELECT count() FROM mh.events_local WHERE company_id LIKE 'company-%'"),
              "0");
    EXPECT_EQ(query(kServers[3],
                    "SELECT count(), sum(value) FROM mh.events_distributed WHERE company_id LIKE "
                    "'company-%' FORMAT CSV"),
              "40,820");
    hosts_->stop(dir + "/fleet.yaml");
}

TEST_F(MultiHostTest, SyncCopiesThePrimarysRowsToTheDrSite) {
    const std::string& dir = hosts_->dir();
    ASSERT_EQ(query(kServers[2],
                    "INSERT INTO mh.events_r_distributed SELECT concat('sync-', toString(number)), "
                    "toDate('2026-09-01') + number % 20, number FROM system.numbers LIMIT 500 "
                    "SETTINGS insert_distributed_sync = 1"),
              "");
    // The insert landed on one replica of each shard; sync reads whichever replica it picks, so the test
    // waits until every primary replica holds its shard's rows (as an operator's check would). Counted:
    // SYSTEM SYNC REPLICA on every replica was not enough on 18.16 (once, a sync right after it read a
    // replica of shard 1 that had none of them yet).
    auto rows = [](size_t server) {
        return query(kServers[server], "SELECT count() FROM mh.events_local WHERE company_id LIKE 'sync-%'");
    };
    ASSERT_TRUE(waitUntil([&] {
        return rows(0) == rows(1) && rows(2) == rows(3) && std::stoi(rows(0)) + std::stoi(rows(2)) == 500;
    })) << "replicas: "
        << rows(0) << " " << rows(1) << " " << rows(2) << " " << rows(3);
    auto synced = chfleetOnClient({"sync", "run", "--once", "-f", dir + "/fleet.yaml", "--active", "primary",
                                   "--state-file", dir + "/sync-state.json"});
    EXPECT_EQ(synced.exit_code, 0) << synced.output;
    std::string primary = query(kServers[0],
                                "SELECT count(), sum(value) FROM mh.events_distributed WHERE "
                                "company_id LIKE 'sync-%' FORMAT CSV");
    EXPECT_EQ(primary, "500,124750");
    EXPECT_EQ(query(kServers[4],
                    "SELECT count(), sum(value) FROM mh.events_local WHERE company_id LIKE "
                    "'sync-%' FORMAT CSV"),
              primary);
    auto check = chfleetOnClient({"sync", "check", "-f", dir + "/fleet.yaml", "--active", "primary"});
    EXPECT_EQ(check.exit_code, 0) << check.output;
}

TEST_F(MultiHostTest, TheFleetUserIsRefusedFromAHostOutsideTheFleet) {
    EXPECT_EQ(query(kServers[0], "SELECT 1", kClient), "1") << "the client host is in network.allow";
    std::string refused = query(kServers[0], "SELECT 1", kOutsider);
    EXPECT_NE(refused.find("is not allowed to connect from address"), std::string::npos) << refused;
    EXPECT_EQ(query(kServers[1], "SELECT 1", kServers[0]), "1") << "the fleet's own servers are admitted";
}

}  // namespace
}  // namespace chfleet::testing
