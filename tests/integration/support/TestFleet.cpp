#include "TestFleet.h"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "clickhouse/Result.h"
#include "common/Exception.h"
#include "topology/NodeConnection.h"

namespace chfleet::testing {

namespace {

TestFleet* shared_fleet = nullptr;
process::Finished schema_apply;

constexpr const char* kFleetDirPrefix = "chfleet-it-";
constexpr const char* kOwnerFile = "owner.pid";
/// Every integration test binary is named chfleet_it_<capability>: what an owner pid must still run.
constexpr const char* kTestBinaryMarker = "chfleet_it_";

/// Ends what a test binary that died without tearing down (killed by ctest's timeout, a crash, kill -9) left
/// running: every process whose working folder lies in that run's fleet folder (its servers, keepers, ingest
/// and sync daemons all start there), found and killed by pid; then the folder goes.
void cleanUpDeadRuns() {
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator("/tmp", error)) {
        std::string name = entry.path().filename().string();
        auto owner_file = entry.path() / kOwnerFile;
        if (name.rfind(kFleetDirPrefix, 0) != 0 || !std::filesystem::exists(owner_file, error)) {
            continue;
        }
        pid_t owner = 0;
        std::ifstream(owner_file) >> owner;
        if (owner <= 0 || process::isRunning(owner, kTestBinaryMarker)) {
            continue;
        }
        std::string dead_dir = entry.path().string();
        for (const auto& proc : std::filesystem::directory_iterator("/proc", error)) {
            std::error_code unreadable;
            auto cwd = std::filesystem::read_symlink(proc.path() / "cwd", unreadable).string();
            if (!unreadable && cwd.rfind(dead_dir, 0) == 0) {
                pid_t pid = std::atoi(proc.path().filename().c_str());
                if (pid > 0 && pid != ::getpid()) {
                    std::cerr << "stopping pid " << pid << ", left running by a dead test run in " << dead_dir
                              << "\n";
                    ::kill(pid, SIGKILL);
                }
            }
        }
        std::filesystem::remove_all(dead_dir, error);
    }
}

}  // namespace

TestFleet::TestFleet(const std::string& fleet_file) {
    cleanUpDeadRuns();
    std::string pattern_text = std::string("/tmp/") + kFleetDirPrefix + "XXXXXX";
    std::vector<char> pattern(pattern_text.begin(), pattern_text.end());
    pattern.push_back('\0');
    dir_ = ::mkdtemp(pattern.data());
    std::ofstream(dir_ + "/" + kOwnerFile) << ::getpid() << "\n";
    sandbox::UpOptions options;
    options.fleet_file = std::string(CHFLEET_SOURCE_DIR) + "/" + fleet_file;
    options.dir = dir_;
    options.base_port = 0;  // a free range
    sandbox_ = std::make_unique<sandbox::Sandbox>(sandbox::Sandbox::up(options));
    fleet_path_ = sandbox_->fleetPath();
}

TestFleet::~TestFleet() {
    if (sandbox_) {
        sandbox_->down();
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
}

std::unique_ptr<clickhouse::Connection> TestFleet::connect(const std::string& node) const {
    const auto* found = fleet().node(node);
    if (found == nullptr) {
        throw Exception(ErrorCode::BadArguments, "test asked for unknown node {}", node);
    }
    return topology::connectTo(fleet(), *found);
}

std::string TestFleet::scalar(const std::string& node, const std::string& sql) const {
    auto connection = connect(node);
    return clickhouse::scalar(*connection, sql);
}

process::Finished TestFleet::chfleet(const std::vector<std::string>& args) const {
    std::vector<std::string> argv{CHFLEET_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    return process::run(argv, {}, {}, kChfleetTimeout);
}

void TestFleet::printLogs() const {
    for (const auto& record : sandbox_->processes()) {
        std::cerr << "---- " << record.name << " (" << record.error_log_path << ")\n"
                  << sandbox_->logTail(record.name, 15);
    }
}

void FleetEnvironment::SetUp() {
    try {
        shared_fleet = new TestFleet(fleet_file_);
    } catch (const std::exception& e) {
        std::cerr << "could not bring the test fleet up: " << e.what() << "\n";
        std::abort();
    }
    if (schema_ == Schema::Applied) {
        schema_apply = shared_fleet->chfleet({"schema", "apply", "-f", shared_fleet->fleetPath(), "--json"});
        if (schema_apply.exit_code != 0) {
            std::cerr << "schema apply failed:\n" << schema_apply.output;
            std::abort();
        }
    }
}

const process::Finished& FleetEnvironment::schemaApply() {
    return schema_apply;
}

void FleetEnvironment::TearDown() {
    if (shared_fleet != nullptr) {
        if (!::testing::UnitTest::GetInstance()->Passed()) {
            shared_fleet->printLogs();
        }
        delete shared_fleet;
        shared_fleet = nullptr;
    }
}

TestFleet& FleetEnvironment::fleet() {
    return *shared_fleet;
}

}  // namespace chfleet::testing
