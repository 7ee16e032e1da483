#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "clickhouse/Connection.h"
#include "common/Process.h"
#include "sandbox/Sandbox.h"

namespace chfleet::testing {

/// A real fleet for integration tests: the sandbox code brings the fleet file up on free loopback ports in a
/// fresh folder, and stops every process by pid at the end. Server logs are printed when a test failed.
class TestFleet {
  public:
    /// `fleet_file` is relative to the source tree, e.g. "examples/teei/fleet.yaml".
    explicit TestFleet(const std::string& fleet_file);
    ~TestFleet();

    sandbox::Sandbox& sandbox() { return *sandbox_; }
    const topology::Fleet& fleet() const { return sandbox_->fleet(); }
    const std::string& fleetPath() const { return fleet_path_; }

    std::unique_ptr<clickhouse::Connection> connect(const std::string& node) const;
    /// One value of a query on a node.
    std::string scalar(const std::string& node, const std::string& sql) const;
    /// How long one chfleet command of a test may run before it is killed (and the test fails on its exit
    /// code): far beyond what any needs, well inside ctest's limit for the binary.
    static constexpr std::chrono::minutes kChfleetTimeout{4};

    /// Runs the chfleet binary with `args` (stdout and stderr together in `output`).
    process::Finished chfleet(const std::vector<std::string>& args) const;
    /// Prints the end of every server's error log (called when a test failed).
    void printLogs() const;

  private:
    std::string dir_;
    std::string fleet_path_;
    std::unique_ptr<sandbox::Sandbox> sandbox_;
};

/// Whether a FleetEnvironment applies the fleet file's schema once the fleet is up.
enum class Schema { NotApplied, Applied };

/// A gtest environment holding one TestFleet for a whole test binary (started once, stopped at exit). With
/// Schema::Applied, `chfleet schema apply --json` runs once the fleet is up (the binary aborts if it fails),
/// so that every test stands alone on the schema.
class FleetEnvironment : public ::testing::Environment {
  public:
    explicit FleetEnvironment(std::string fleet_file, Schema schema = Schema::NotApplied)
        : fleet_file_(std::move(fleet_file)), schema_(schema) {}
    void SetUp() override;
    void TearDown() override;
    static TestFleet& fleet();
    /// What `schema apply --json` answered on the fresh fleet (Schema::Applied).
    static const process::Finished& schemaApply();

  private:
    std::string fleet_file_;
    Schema schema_;
};

}  // namespace chfleet::testing
