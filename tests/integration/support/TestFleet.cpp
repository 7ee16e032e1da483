#include "TestFleet.h"

#include <filesystem>
#include <iostream>

#include "clickhouse/Result.h"
#include "common/Exception.h"
#include "topology/NodeConnection.h"

namespace chfleet::testing {

namespace {
TestFleet* shared_fleet = nullptr;
}

TestFleet::TestFleet(const std::string& fleet_file) {
    char pattern[] = "/tmp/chfleet-it-XXXXXX";
    dir_ = ::mkdtemp(pattern);
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
    return process::run(argv);
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
