// `chfleet sandbox`: up, status, down, kill, start.
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "common/Command.h"
#include "common/Exception.h"
#include "sandbox/Sandbox.h"

namespace chfleet {

namespace {

constexpr const char* kDefaultDir = ".sandbox";

void printStatus(const sandbox::Sandbox& sandbox, bool json) {
    auto statuses = sandbox.status();
    if (json) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& s : statuses) {
            const auto& r = s.record;
            nlohmann::json entry{{"name", r.name},
                                 {"kind", r.kind == sandbox::ProcessKind::Keeper ? "keeper" : "server"},
                                 {"site", r.site},
                                 {"host", r.host},
                                 {"pid", r.pid},
                                 {"alive", s.alive},
                                 {"rss_bytes", s.rss_bytes}};
            if (r.kind == sandbox::ProcessKind::Keeper) {
                entry["ports"] = {{"client", r.keeper_port}};
            } else {
                entry["region"] = r.region;
                entry["shard"] = r.shard;
                entry["replica"] = r.replica;
                entry["ports"] = {
                    {"http", r.http_port}, {"tcp", r.tcp_port}, {"interserver", r.interserver_port}};
            }
            out.push_back(entry);
        }
        std::cout << nlohmann::json{{"dir", sandbox.dir()},
                                    {"fleet_file", sandbox.fleetPath()},
                                    {"processes", out}}
                         .dump(2)
                  << "\n";
        return;
    }
    uint64_t total_rss = 0;
    int alive = 0;
    std::cout << fmt::format("{:<18} {:<7} {:<8} {:<14} {:>5} {:>7} {:<18} {:>8} {:<6} {:>8}\n", "NAME",
                             "KIND", "SITE", "REGION", "SHARD", "REPLICA", "PORTS", "PID", "ALIVE",
                             "RSS_MIB");
    for (const auto& s : statuses) {
        const auto& r = s.record;
        bool keeper = r.kind == sandbox::ProcessKind::Keeper;
        std::string ports = keeper ? std::to_string(r.keeper_port)
                                   : fmt::format("{}/{}/{}", r.http_port, r.tcp_port, r.interserver_port);
        std::cout << fmt::format("{:<18} {:<7} {:<8} {:<14} {:>5} {:>7} {:<18} {:>8} {:<6} {:>8.1f}\n",
                                 r.name, keeper ? "keeper" : "server", r.site, keeper ? "-" : r.region,
                                 keeper ? "-" : std::to_string(r.shard),
                                 keeper ? "-" : std::to_string(r.replica), ports, r.pid,
                                 s.alive ? "yes" : "no", s.rss_bytes / 1048576.0);
        total_rss += s.rss_bytes;
        alive += s.alive ? 1 : 0;
    }
    std::cout << fmt::format("{} of {} processes alive, {:.0f} MiB resident in all; fleet file: {}\n", alive,
                             statuses.size(), total_rss / 1048576.0, sandbox.fleetPath());
}

}  // namespace

int sandboxMain(const std::vector<std::string>& args) {
    CLI::App app{
        "Runs the whole fleet as real local processes on loopback: one ZooKeeper per site and one "
        "clickhouse-server\n"
        "per node, configured from the fleet file. `up` writes DIR/fleet.yaml, the resolved fleet (every "
        "node's real\n"
        "host and ports); point every other subcommand at it, e.g. `chfleet schema apply -f "
        "DIR/fleet.yaml`.\n"
        "Processes are stopped by pid only, never by name.\n\n"
        "Examples:\n"
        "  chfleet sandbox up -f examples/teei/fleet.yaml --dir /tmp/teei\n"
        "  chfleet sandbox status --dir /tmp/teei --json\n"
        "  chfleet sandbox kill clickhouse-us-1 --dir /tmp/teei && chfleet sandbox start clickhouse-us-1 "
        "--dir /tmp/teei\n"
        "  chfleet sandbox down --dir /tmp/teei",
        "chfleet sandbox"};
    addCommonOptions(app);
    app.require_subcommand(1);
    std::string dir = kDefaultDir;
    if (const char* env = std::getenv("CHFLEET_SANDBOX_DIR")) {
        dir = env;
    }
    auto add_dir = [&dir](CLI::App* sub) {
        sub->add_option("--dir", dir, "sandbox folder (default .sandbox; environment CHFLEET_SANDBOX_DIR)");
    };

    sandbox::UpOptions up_options;
    int base_port = -1;
    int timeout_seconds = 120;
    auto* up = app.add_subcommand("up", "start every keeper and server and wait until all serve");
    addFleetFileOption(*up, up_options.fleet_file);
    add_dir(up);
    up->add_option(
          "--base-port", base_port,
          "first port for nodes and keepers the file does not list (0: pick a free range; default: the "
          "file's base_port)")
        ->check(CLI::Range(0, 65000));
    up->add_option("--timeout", timeout_seconds, "seconds to wait for everything to serve (default 120)")
        ->check(CLI::Range(1, 3600));

    bool json = false;
    auto* status = app.add_subcommand("status",
                                      "list every process: name, site, region, shard, replica, ports, "
                                      "pid, alive, rss");
    add_dir(status);
    status->add_flag("--json", json, "machine-readable output");

    bool purge = false;
    auto* down =
        app.add_subcommand("down", "stop every process the sandbox started (by pid); safe to run twice");
    add_dir(down);
    down->add_flag("--purge", purge, "also delete the sandbox folder (data, logs, secrets)");

    std::string name;
    auto* kill = app.add_subcommand("kill", "SIGKILL one server or keeper (keeper-<site>), as a crash would");
    kill->add_option("name", name, "node or keeper name")->required();
    add_dir(kill);
    auto* start =
        app.add_subcommand("start", "start one stopped server or keeper and wait until it serves again");
    start->add_option("name", name, "node or keeper name")->required();
    add_dir(start);

    return runCommand(app, args, [&]() -> int {
        if (up->parsed()) {
            up_options.dir = dir;
            if (base_port >= 0) {
                up_options.base_port = static_cast<uint16_t>(base_port);
            }
            up_options.timeout = std::chrono::seconds(timeout_seconds);
            auto sandbox = sandbox::Sandbox::up(up_options);
            printStatus(sandbox, false);
            return 0;
        }
        if (status->parsed()) {
            printStatus(sandbox::Sandbox::open(dir), json);
            return 0;
        }
        if (down->parsed()) {
            if (!std::filesystem::exists(std::filesystem::path(dir) / "sandbox.json")) {
                std::cout << "no sandbox in " << dir << ": nothing to stop\n";
                return 0;
            }
            int stopped = sandbox::Sandbox::open(dir).down();
            std::cout << "stopped " << stopped << " processes\n";
            if (purge) {
                std::filesystem::remove_all(dir);
                std::cout << "removed " << dir << "\n";
            }
            return 0;
        }
        auto sandbox = sandbox::Sandbox::open(dir);
        if (kill->parsed()) {
            sandbox.kill(name);
        } else {
            sandbox.start(name);
        }
        return 0;
    });
}

}  // namespace chfleet
