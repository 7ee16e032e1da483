#include "sandbox/Sandbox.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "clickhouse/Connection.h"
#include "clickhouse/HttpConnection.h"
#include "clickhouse/Result.h"
#include "common/Exception.h"
#include "common/Files.h"
#include "common/Log.h"
#include "common/Process.h"
#include "topology/ConfigRenderer.h"
#include "topology/NodeConnection.h"

namespace chfleet::sandbox {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

auto logger() {
    return log::get("sandbox");
}

std::string envOr(const char* name, const std::string& fallback) {
    const char* value = std::getenv(name);
    return value != nullptr && *value != '\0' ? value : fallback;
}

/// A loopback TCP connection with a deadline, closed on destruction.
class Socket {
  public:
    Socket(const std::string& host, uint16_t port, std::chrono::milliseconds timeout) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(port);
        if (fd_ < 0 || ::inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1) {
            return;
        }
        int rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address));
        if (rc != 0 && errno != EINPROGRESS) {
            return;
        }
        pollfd pfd{fd_, POLLOUT, 0};
        int error = 0;
        socklen_t length = sizeof(error);
        connected_ = ::poll(&pfd, 1, static_cast<int>(timeout.count())) == 1 &&
                     ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error == 0;
    }
    ~Socket() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;

    bool connected() const { return connected_; }

    /// Sends `request` and reads until the peer closes or the deadline passes.
    std::string exchange(const std::string& request, std::chrono::milliseconds timeout) {
        if (!connected_ ||
            ::send(fd_, request.data(), request.size(), MSG_NOSIGNAL) != ssize_t(request.size())) {
            return {};
        }
        std::string answer;
        auto deadline = Clock::now() + timeout;
        char buffer[4096];
        while (Clock::now() < deadline) {
            pollfd pfd{fd_, POLLIN, 0};
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            if (::poll(&pfd, 1, static_cast<int>(std::max<int64_t>(left.count(), 1))) != 1) {
                break;
            }
            ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
            if (n <= 0) {
                break;
            }
            answer.append(buffer, static_cast<size_t>(n));
        }
        return answer;
    }

  private:
    int fd_ = -1;
    bool connected_ = false;
};

bool portFree(uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return false;
    }
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
    ::close(fd);
    return free;
}

bool isLoopback(const std::string& host) {
    return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

std::string randomSecret() {
    std::random_device device;
    static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    std::string secret;
    for (int i = 0; i < 32; ++i) {
        secret += kAlphabet[device() % (sizeof(kAlphabet) - 1)];
    }
    return secret;
}

int64_t unixMillis() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string kindName(ProcessKind kind) {
    return kind == ProcessKind::Keeper ? "keeper" : "server";
}

nlohmann::json toJson(const ProcessRecord& r) {
    return {{"name", r.name},
            {"kind", kindName(r.kind)},
            {"site", r.site},
            {"region", r.region},
            {"shard", r.shard},
            {"replica", r.replica},
            {"host", r.host},
            {"http_port", r.http_port},
            {"tcp_port", r.tcp_port},
            {"interserver_port", r.interserver_port},
            {"keeper_port", r.keeper_port},
            {"pid", r.pid},
            {"config_path", r.config_path},
            {"log_path", r.log_path},
            {"error_log_path", r.error_log_path},
            {"killed_at_ms", r.killed_at_ms}};
}

ProcessRecord recordFromJson(const nlohmann::json& j) {
    ProcessRecord r;
    r.name = j.at("name");
    r.kind = j.at("kind") == "keeper" ? ProcessKind::Keeper : ProcessKind::Server;
    r.site = j.at("site");
    r.region = j.at("region");
    r.shard = j.at("shard");
    r.replica = j.at("replica");
    r.host = j.at("host");
    r.http_port = j.at("http_port");
    r.tcp_port = j.at("tcp_port");
    r.interserver_port = j.at("interserver_port");
    r.keeper_port = j.at("keeper_port");
    r.pid = j.at("pid");
    r.config_path = j.at("config_path");
    r.log_path = j.at("log_path");
    r.error_log_path = j.at("error_log_path");
    r.killed_at_ms = j.value("killed_at_ms", int64_t{0});
    return r;
}

std::string zooConfig(const std::string& data_dir, const std::string& host, uint16_t port) {
    // tickTime 1000 allows sessions of 2..20 s; the servers ask for 6 s so that a replica killed with -9
    // is free to rejoin about 6 s later instead of 30.
    return fmt::format(
        "tickTime=1000\ninitLimit=10\nsyncLimit=5\ndataDir={}\nclientPort={}\nclientPortAddress={}\n"
        "maxClientCnxns=0\n4lw.commands.whitelist=srvr,ruok,stat,mntr\nadmin.enableServer=false\n"
        "autopurge.purgeInterval=1\n",
        data_dir, port, host);
}

/// The part of a server's config that is about this machine, not the fleet: paths, ports, logs, caches.
/// The fleet part (remote_servers, macros, zookeeper, distributed_ddl) is in config.d/chfleet.xml.
std::string serverConfig(const std::string& node_dir, const topology::Node& node) {
    return fmt::format(R"(<?xml version="1.0"?>
<!-- Written by chfleet sandbox: paths and ports of one local server. The fleet part is in config.d/. -->
<yandex>
    <logger>
        <level>information</level>
        <log>{0}/log/server.log</log>
        <errorlog>{0}/log/server.err.log</errorlog>
        <size>50M</size>
        <count>2</count>
    </logger>
    <display_name>{1}</display_name>
    <listen_host>{2}</listen_host>
    <http_port>{3}</http_port>
    <tcp_port>{4}</tcp_port>
    <interserver_http_port>{5}</interserver_http_port>
    <interserver_http_host>{2}</interserver_http_host>
    <max_connections>1024</max_connections>
    <keep_alive_timeout>10</keep_alive_timeout>
    <max_concurrent_queries>100</max_concurrent_queries>
    <uncompressed_cache_size>268435456</uncompressed_cache_size>
    <mark_cache_size>134217728</mark_cache_size>
    <path>{0}/data/</path>
    <tmp_path>{0}/tmp/</tmp_path>
    <user_files_path>{0}/user_files/</user_files_path>
    <format_schema_path>{0}/format_schemas/</format_schema_path>
    <users_config>{0}/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <mlock_executable>false</mlock_executable>
</yandex>
)",
                       node_dir, node.name, node.host, node.http_port, node.tcp_port, node.interserver_port);
}

/// users.xml of a sandbox server: the `default` user for local debugging (loopback only, no password) and the
/// profiles and quotas the fleet user from users.d/ refers to.
constexpr const char* kUsersConfig = R"(<?xml version="1.0"?>
<yandex>
    <profiles>
        <default>
            <max_memory_usage>4000000000</max_memory_usage>
            <load_balancing>in_order</load_balancing>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas><default></default></quotas>
</yandex>
)";

}  // namespace

uint16_t findFreePortRange(size_t count) {
    std::mt19937 random(std::random_device{}());
    // Below the kernel's ephemeral range: an outgoing connection (curl, a server's interserver fetch) takes a
    // port from that range at any moment and would collide with a server about to bind it.
    int ephemeral_low = 32768;
    std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> ephemeral_low;
    int high = std::max(ephemeral_low, 10000 + static_cast<int>(count) + 1) - static_cast<int>(count) - 1;
    std::uniform_int_distribution<int> pick(10000, high);
    for (int attempt = 0; attempt < 200; ++attempt) {
        auto base = static_cast<uint16_t>(pick(random));
        bool all_free = true;
        for (size_t i = 0; i < count && all_free; ++i) {
            all_free = portFree(static_cast<uint16_t>(base + i));
        }
        if (all_free) {
            return base;
        }
    }
    throw Exception(ErrorCode::SandboxFailed,
                    "found no {} consecutive free loopback ports between 10000 and the ephemeral range",
                    count);
}

bool keeperServes(const std::string& host, uint16_t port) {
    Socket socket(host, port, std::chrono::milliseconds(500));
    return socket.connected() &&
           socket.exchange("srvr", std::chrono::milliseconds(1000)).find("Mode:") != std::string::npos;
}

Sandbox Sandbox::up(const UpOptions& options) {
    std::string dir = files::absolute(options.dir);
    if (fs::exists(fs::path(dir) / "sandbox.json")) {
        auto previous = open(dir);
        for (const auto& status : previous.status()) {
            if (status.alive) {
                throw Exception(
                    ErrorCode::SandboxFailed,
                    "a sandbox is already running in {} ({} is alive, pid {}); stop it first with "
                    "`chfleet sandbox down --dir {}`",
                    dir, status.record.name, status.record.pid, dir);
            }
        }
    }

    topology::LoadOptions load;
    load.base_port = options.base_port;
    if (options.base_port && *options.base_port == 0) {
        load.base_port = 20000;  // only to count the ports; the real base is picked below
        load.base_port = findFreePortRange(topology::loadFleet(options.fleet_file, load).ports().size());
    }
    topology::Fleet fleet = topology::loadFleet(options.fleet_file, load);
    for (auto& site : fleet.sites) {
        // Short keeper sessions: a server killed with -9 can rejoin ~6 s later instead of ~30 s.
        if (site.keeper_session_timeout_ms == topology::Site::kDefaultKeeperSessionTimeoutMs) {
            site.keeper_session_timeout_ms = 6000;
        }
        if (site.keepers.size() != 1) {
            throw Exception(
                ErrorCode::InvalidConfig,
                "{}: site {} lists {} keepers; the sandbox runs one ZooKeeper per site (list one, or "
                "none to derive it from base_port)",
                fleet.source_path, site.name, site.keepers.size());
        }
    }
    for (const auto* node : fleet.nodes()) {
        if (!isLoopback(node->host)) {
            throw Exception(
                ErrorCode::InvalidConfig,
                "{}: node {} is on {}; the sandbox runs on loopback only (omit nodes to derive them, "
                "or give 127.0.0.1 addresses)",
                fleet.source_path, node->name, node->host);
        }
    }
    for (uint16_t port : fleet.ports()) {
        if (!portFree(port)) {
            throw Exception(
                ErrorCode::SandboxFailed,
                "port {} on 127.0.0.1 is in use; choose another range with --base-port N (0 picks a "
                "free one)",
                port);
        }
    }

    // The fleet password: the one the file refers to when it resolves here, else a new one; kept in a 0600
    // file the resolved fleet file refers to, so no later command needs it in its environment or arguments.
    files::makeDirectories(dir + "/secrets", 0700);
    std::string password;
    if (!fleet.credentials.password.empty()) {
        try {
            password = fleet.credentials.password.resolve();
        } catch (const Exception&) {
            logger()->info(
                "the fleet password reference does not resolve here; generating one for the sandbox");
        }
    }
    if (password.empty()) {
        password = randomSecret();
    }
    std::string password_path = dir + "/secrets/password";
    files::writeAtomically(password_path, password, 0600);
    fleet.credentials.password = topology::SecretRef{"", password_path};
    fleet.source_path = dir + "/fleet.yaml";
    files::writeAtomically(fleet.source_path, topology::dumpFleet(fleet));

    Sandbox sandbox(dir, fleet);
    auto started_at = Clock::now();
    auto deadline = started_at + options.timeout;
    try {
        for (const auto& site : fleet.sites) {
            const auto& keeper = site.keepers.front();
            ProcessRecord record;
            record.name = "keeper-" + site.name;
            record.kind = ProcessKind::Keeper;
            record.site = site.name;
            record.host = keeper.host;
            record.keeper_port = keeper.port;
            std::string keeper_dir = dir + "/keepers/" + site.name;
            files::makeDirectories(keeper_dir + "/data");
            record.config_path = keeper_dir + "/zoo.cfg";
            record.log_path = keeper_dir + "/zookeeper.log";
            record.error_log_path = record.log_path;
            files::writeAtomically(record.config_path,
                                   zooConfig(keeper_dir + "/data", keeper.host, keeper.port));
            sandbox.processes_.push_back(record);
        }
        topology::renderFleet(fleet, dir + "/nodes", password);
        for (const auto* node : fleet.nodes()) {
            ProcessRecord record;
            record.name = node->name;
            record.kind = ProcessKind::Server;
            record.site = node->site;
            record.region = node->region;
            record.shard = node->shard;
            record.replica = node->replica;
            record.host = node->host;
            record.http_port = node->http_port;
            record.tcp_port = node->tcp_port;
            record.interserver_port = node->interserver_port;
            std::string node_dir = dir + "/nodes/" + node->name;
            for (const char* sub : {"/data", "/tmp", "/user_files", "/format_schemas", "/log"}) {
                files::makeDirectories(node_dir + sub);
            }
            record.config_path = node_dir + "/config.xml";
            record.log_path = node_dir + "/log/stdout.log";
            record.error_log_path = node_dir + "/log/server.err.log";
            files::writeAtomically(record.config_path, serverConfig(node_dir, *node));
            files::writeAtomically(node_dir + "/users.xml", kUsersConfig);
            sandbox.processes_.push_back(record);
        }

        // Keepers first, all at once; servers only once their keeper really serves.
        for (auto kind : {ProcessKind::Keeper, ProcessKind::Server}) {
            for (auto& record : sandbox.processes_) {
                if (record.kind == kind) {
                    sandbox.spawn(record);
                }
            }
            for (const auto& record : sandbox.processes_) {
                if (record.kind == kind) {
                    sandbox.waitServing(record, deadline);
                }
            }
        }
    } catch (const Exception&) {
        logger()->error("sandbox up failed; stopping what was started");
        sandbox.down();
        throw;
    }
    auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started_at);
    logger()->info("sandbox up in {:.1f} s: {} processes, fleet file {}", elapsed.count() / 1000.0,
                   sandbox.processes_.size(), sandbox.fleetPath());
    return sandbox;
}

Sandbox Sandbox::open(const std::string& dir_argument) {
    std::string dir = files::absolute(dir_argument);
    std::string state_path = dir + "/sandbox.json";
    if (!fs::exists(state_path)) {
        throw Exception(ErrorCode::SandboxFailed,
                        "no sandbox in {} (no sandbox.json); start one with `chfleet "
                        "sandbox up -f FLEET --dir {}`",
                        dir, dir);
    }
    nlohmann::json state;
    try {
        state = nlohmann::json::parse(files::read(state_path));
    } catch (const nlohmann::json::exception& e) {
        throw Exception(ErrorCode::SandboxFailed, "{} is not valid sandbox state: {}", state_path, e.what());
    }
    Sandbox sandbox(dir, topology::loadFleet(dir + "/fleet.yaml"));
    try {
        for (const auto& entry : state.at("processes")) {
            sandbox.processes_.push_back(recordFromJson(entry));
        }
    } catch (const nlohmann::json::exception& e) {
        throw Exception(ErrorCode::SandboxFailed, "{} is not valid sandbox state: {}", state_path, e.what());
    }
    return sandbox;
}

std::string Sandbox::fleetPath() const {
    return dir_ + "/fleet.yaml";
}

std::string Sandbox::password() const {
    return files::read(dir_ + "/secrets/password");
}

void Sandbox::saveState() const {
    nlohmann::json processes = nlohmann::json::array();
    for (const auto& record : processes_) {
        processes.push_back(toJson(record));
    }
    nlohmann::json state{{"fleet", fleet_.name}, {"fleet_file", fleetPath()}, {"processes", processes}};
    files::writeAtomically(dir_ + "/sandbox.json", state.dump(2) + "\n");
}

const ProcessRecord& Sandbox::process(const std::string& name) const {
    for (const auto& record : processes_) {
        if (record.name == name) {
            return record;
        }
    }
    std::string known;
    for (const auto& record : processes_) {
        known += (known.empty() ? "" : ", ") + record.name;
    }
    throw Exception(ErrorCode::BadArguments, "no process named '{}' in the sandbox {} (known: {})", name,
                    dir_, known);
}

ProcessRecord& Sandbox::mutableProcess(const std::string& name) {
    return const_cast<ProcessRecord&>(process(name));
}

const ProcessRecord& Sandbox::keeperOf(const std::string& site) const {
    return process("keeper-" + site);
}

void Sandbox::spawn(ProcessRecord& record) {
    std::vector<std::string> argv;
    if (record.kind == ProcessKind::Keeper) {
        argv = {envOr("CHFLEET_JAVA", "/usr/bin/java"),
                "-Xmx192m",
                "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1",
                "-Dzookeeper.admin.enableServer=false",
                "-cp",
                envOr("CHFLEET_ZOOKEEPER_CLASSPATH",
                      "/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar"),
                "org.apache.zookeeper.server.quorum.QuorumPeerMain",
                record.config_path};
    } else {
        argv = {envOr("CHFLEET_CLICKHOUSE_SERVER", "/usr/sbin/clickhouse-server"),
                "--config-file=" + record.config_path};
    }
    auto folder = fs::path(record.config_path).parent_path().string();
    record.pid = process::spawnDetached(argv, record.log_path, folder);
    logger()->debug("started {} {} (pid {})", kindName(record.kind), record.name, record.pid);
    saveState();
}

void Sandbox::waitServing(const ProcessRecord& record, Clock::time_point deadline) const {
    std::string last_error;
    while (Clock::now() < deadline) {
        if (!process::isRunning(record.pid, record.config_path)) {
            throw Exception(ErrorCode::SandboxFailed, "{} {} exited during start-up; end of {}:\n{}",
                            kindName(record.kind), record.name, record.error_log_path, logTail(record.name));
        }
        if (record.kind == ProcessKind::Keeper) {
            if (keeperServes(record.host, record.keeper_port)) {
                return;
            }
            last_error = "srvr shows no Mode yet";
        } else {
            auto endpoint = topology::endpointFor(fleet_, *fleet_.node(record.name));
            endpoint.connect_timeout = std::chrono::milliseconds(500);
            endpoint.total_timeout = std::chrono::milliseconds(3000);
            try {
                clickhouse::HttpConnection connection(endpoint);
                connection.execute("SELECT 1");
                return;
            } catch (const Exception& e) {
                last_error = e.what();
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    throw Exception(ErrorCode::SandboxFailed, "{} {} did not serve in time (last: {}); end of {}:\n{}",
                    kindName(record.kind), record.name, last_error, record.error_log_path,
                    logTail(record.name));
}

void Sandbox::waitReplicasWritable(const ProcessRecord& record, Clock::time_point deadline) const {
    clickhouse::HttpConnection connection(topology::endpointFor(fleet_, *fleet_.node(record.name)));
    std::string last;
    while (Clock::now() < deadline) {
        try {
            // A replica restarted after kill -9 stays read-only until its old keeper session expires.
            last = clickhouse::scalar(
                connection, "SELECT count() FROM system.replicas WHERE is_readonly OR is_session_expired");
            if (last == "0") {
                return;
            }
        } catch (const Exception& e) {
            last = e.what();
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    throw Exception(ErrorCode::SandboxFailed, "{} serves but its replicas are still read-only ({})",
                    record.name, last);
}

std::vector<ProcessStatus> Sandbox::status() const {
    std::vector<ProcessStatus> result;
    for (const auto& record : processes_) {
        ProcessStatus status{record, process::isRunning(record.pid, record.config_path), 0};
        if (status.alive) {
            status.rss_bytes = process::residentBytes(record.pid);
        }
        result.push_back(status);
    }
    return result;
}

int Sandbox::down() {
    int running = 0;
    // Servers before keepers, so no server sees its keeper vanish while it shuts down.
    for (auto kind : {ProcessKind::Server, ProcessKind::Keeper}) {
        std::vector<std::thread> stoppers;
        for (const auto& record : processes_) {
            if (record.kind != kind || !process::isRunning(record.pid, record.config_path)) {
                continue;
            }
            ++running;
            logger()->info("stopping {} {} (pid {})", kindName(kind), record.name, record.pid);
            stoppers.emplace_back(
                [&record] { process::stop(record.pid, record.config_path, std::chrono::seconds(15)); });
        }
        for (auto& stopper : stoppers) {
            stopper.join();
        }
    }
    return running;
}

void Sandbox::kill(const std::string& name) {
    auto& record = mutableProcess(name);
    if (!process::signalIfRunning(record.pid, record.config_path, SIGKILL)) {
        throw Exception(ErrorCode::SandboxFailed, "{} is not running (pid {} is gone)", name, record.pid);
    }
    for (int i = 0; i < 100 && process::isRunning(record.pid, record.config_path); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    record.killed_at_ms = unixMillis();
    saveState();
    logger()->info("killed {} (pid {}) with SIGKILL", name, record.pid);
}

void Sandbox::start(const std::string& name) {
    auto& record = mutableProcess(name);
    if (process::isRunning(record.pid, record.config_path)) {
        throw Exception(ErrorCode::SandboxFailed, "{} is already running (pid {})", name, record.pid);
    }
    if (record.kind == ProcessKind::Server) {
        const auto& keeper = keeperOf(record.site);
        if (!keeperServes(keeper.host, keeper.keeper_port)) {
            throw Exception(
                ErrorCode::SandboxFailed,
                "refusing to start {}: its keeper {} does not serve, and a server started without "
                "its keeper silently leaves its Replicated tables out; start {} first",
                name, keeper.name, keeper.name);
        }
    }
    if (record.kind == ProcessKind::Server) {
        // A server that died without closing its keeper session leaves its replicas marked active until that
        // session expires; started earlier, they stay inactive ("appears to be already active") and refuse
        // replicated work. Wait out the session: from the kill if the sandbox did it, else a full timeout.
        auto timeout = static_cast<int64_t>(fleet_.site(record.site)->keeper_session_timeout_ms) + 1000;
        auto since = record.killed_at_ms > 0 ? unixMillis() - record.killed_at_ms : 0;
        if (since < timeout) {
            logger()->info("waiting {:.1f} s for {}'s old keeper session to expire",
                           (timeout - since) / 1000.0, name);
            std::this_thread::sleep_for(std::chrono::milliseconds(timeout - since));
        }
        record.killed_at_ms = 0;
    }
    auto deadline = Clock::now() + std::chrono::seconds(90);
    spawn(record);
    waitServing(record, deadline);
    if (record.kind == ProcessKind::Server) {
        waitReplicasWritable(record, deadline);
    }
    logger()->info("{} is serving again (pid {})", name, record.pid);
}

std::string Sandbox::logTail(const std::string& name, size_t lines) const {
    const auto& record = process(name);
    std::string text;
    for (const auto& path : {record.error_log_path, record.log_path}) {
        std::ifstream in(path);
        std::deque<std::string> tail;
        std::string line;
        while (std::getline(in, line)) {
            tail.push_back(line);
            if (tail.size() > lines) {
                tail.pop_front();
            }
        }
        for (const auto& kept : tail) {
            text += "  " + kept + "\n";
        }
        if (!text.empty() || record.error_log_path == record.log_path) {
            break;
        }
    }
    return text.empty() ? "  (empty)\n" : text;
}

}  // namespace chfleet::sandbox
