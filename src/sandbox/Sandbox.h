#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "topology/Fleet.h"

namespace chfleet::sandbox {

enum class ProcessKind { Keeper, Server };

/// One process the sandbox started: enough to find it again (pid + marker), reach it (ports) and say what it
/// is.
struct ProcessRecord {
    std::string name;  ///< node name, or keeper-<site>
    ProcessKind kind = ProcessKind::Server;
    std::string site;
    std::string region;  ///< servers only
    int shard = 0;
    int replica = 0;
    std::string host;
    uint16_t http_port = 0;
    uint16_t tcp_port = 0;
    uint16_t interserver_port = 0;
    uint16_t keeper_port = 0;  ///< keepers only
    pid_t pid = 0;
    std::string config_path;  ///< also the marker: it appears in the process's command line
    std::string log_path;     ///< stdout/stderr of the process
    std::string error_log_path;
    int64_t killed_at_ms =
        0;  ///< servers: when `kill` sent SIGKILL (unix ms), 0 when not killed by the sandbox
};

struct ProcessStatus {
    ProcessRecord record;
    bool alive = false;
    uint64_t rss_bytes = 0;
};

struct UpOptions {
    std::string fleet_file;
    std::string dir;  ///< where configs, data, logs and the state live
    std::optional<uint16_t>
        base_port;  ///< 0: pick a free range; unset: the file's base_port / explicit ports
    std::chrono::seconds timeout{120};  ///< for every keeper and server to serve
};

/// The whole fleet as real local processes on loopback: one ZooKeeper per site and one clickhouse-server per
/// node, configured from the fleet file (config.d/users.d rendered by topology::ConfigRenderer).
///
/// Layout of DIR: fleet.yaml (the resolved fleet: every node's real host and ports; what every other
/// subcommand is pointed at), sandbox.json (the processes started: pid, marker, ports), secrets/password
/// (0600), keepers/<site>/, nodes/<name>/{config.xml,users.xml,config.d,users.d,data,log}.
///
/// Start order follows the 18.16 traps: keepers first, and a server is started only when its site's keeper
/// answers `srvr` with a Mode (ZooKeeper answers ruok before it really serves; a server started then, or
/// while the keeper is down, silently leaves its Replicated tables out). Processes are stopped by pid only,
/// and only when the pid's command line still holds the config path the sandbox gave it.
class Sandbox {
  public:
    /// Starts everything and waits until every keeper and server serves. If anything fails, what was started
    /// is stopped again and the error names the process and the end of its log.
    static Sandbox up(const UpOptions& options);
    /// Attaches to a sandbox started earlier (reads DIR/sandbox.json).
    static Sandbox open(const std::string& dir);

    std::vector<ProcessStatus> status() const;
    /// Stops every process (servers first, then keepers): SIGTERM, then SIGKILL after a grace period.
    /// Safe to call twice; returns how many processes were running.
    int down();
    /// SIGKILL of one server or keeper (a crash, for fault tests).
    void kill(const std::string& name);
    /// Starts one stopped server or keeper again and waits until it serves (a server: until its replicas are
    /// writable again). Refuses to start a server whose keeper does not serve.
    void start(const std::string& name);

    const std::string& dir() const { return dir_; }
    std::string fleetPath() const;
    const topology::Fleet& fleet() const { return fleet_; }
    /// The fleet account's password (from the sandbox's secrets file).
    std::string password() const;
    const std::vector<ProcessRecord>& processes() const { return processes_; }
    const ProcessRecord& process(const std::string& name) const;
    /// The last `lines` lines of a process's error log (servers) or output (keepers), for failure reports.
    std::string logTail(const std::string& name, size_t lines = 20) const;

  private:
    Sandbox(std::string dir, topology::Fleet fleet) : dir_(std::move(dir)), fleet_(std::move(fleet)) {}

    void saveState() const;
    ProcessRecord& mutableProcess(const std::string& name);
    void spawn(ProcessRecord& record);
    void waitServing(const ProcessRecord& record, std::chrono::steady_clock::time_point deadline) const;
    void waitReplicasWritable(const ProcessRecord& record,
                              std::chrono::steady_clock::time_point deadline) const;
    const ProcessRecord& keeperOf(const std::string& site) const;

    std::string dir_;
    topology::Fleet fleet_;
    std::vector<ProcessRecord> processes_;
};

/// First port of `count` consecutive loopback TCP ports that are free now (for tests and --base-port 0).
uint16_t findFreePortRange(size_t count);

/// True when a ZooKeeper at host:port answers the four-letter command `srvr` with a Mode (really serving).
bool keeperServes(const std::string& host, uint16_t port);

}  // namespace chfleet::sandbox
