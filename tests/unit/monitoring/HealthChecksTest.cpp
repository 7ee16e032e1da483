// The backups health check read from a real folder repository (stats/<region>.json as `backup create`
// writes it): not configured, fresh, too old, failed after the last success. No server is needed.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "../support/TempDir.h"
#include "common/Files.h"
#include "monitoring/HealthChecks.h"
#include "topology/Fleet.h"

namespace chfleet::monitoring {
namespace {

const std::string kFleet = R"(fleet: t
base_port: 30000
sites:
  - name: a
    global_cluster: a_global
    regions:
      - {name: us-east-1, alias: us, cluster: a_us, shards: 2, replicas: 1}
schema:
  database: db
  tables:
    - name: t
      columns:
        - {name: k, type: String}
      order_by: k
      region_key: k
)";

using Clock = std::chrono::system_clock;

int64_t msAgo(Clock::time_point now, std::chrono::hours hours) {
    return std::chrono::duration_cast<std::chrono::milliseconds>((now - hours).time_since_epoch()).count();
}

/// The findings of the backups check alone.
std::vector<Finding> backupFindings(const topology::Fleet& fleet, Clock::time_point now) {
    std::vector<NodeRead> reads;
    HealthContext context{fleet, monitoringConfig(fleet), reads, now};
    std::vector<Finding> findings;
    for (const auto& check : healthChecks()) {
        if (check.name == "backups") {
            check.run(context, findings);
        }
    }
    return findings;
}

class BackupsCheck : public ::testing::Test {
  protected:
    void writeStats(int64_t success_ms, int64_t failure_ms, uint64_t failures) {
        files::makeDirectories((dir_ / "repo" / "stats").string());
        files::writeAtomically((dir_ / "repo" / "stats" / "us-east-1.json").string(),
                               nlohmann::json{{"last_success_ms", success_ms},
                                              {"last_failure_ms", failure_ms},
                                              {"last_duration_seconds", 1.5},
                                              {"last_size_bytes", 4096},
                                              {"failures", failures}}
                                   .dump());
    }
    topology::Fleet fleet() const {
        return topology::parseFleet(
            kFleet + "backup:\n  repositories:\n    us-east-1: {path: " + (dir_ / "repo").string() + "}\n",
            "fleet.yaml");
    }
    testing::TempDir dir_{"chfleet-health"};
    Clock::time_point now_ = Clock::now();
};

TEST_F(BackupsCheck, NoRepositoryIsInfo) {
    auto findings = backupFindings(topology::parseFleet(kFleet, "fleet.yaml"), now_);
    ASSERT_EQ(findings.size(), 1u);
    EXPECT_EQ(findings[0].severity, Severity::Info);
    EXPECT_NE(findings[0].message.find("not configured"), std::string::npos);
}

TEST_F(BackupsCheck, AFreshBackupIsOkAndAnOldOneCritical) {
    writeStats(msAgo(now_, std::chrono::hours(2)), 0, 0);
    auto fresh = backupFindings(fleet(), now_);
    ASSERT_EQ(fresh.size(), 1u);
    EXPECT_EQ(fresh[0].severity, Severity::Ok) << fresh[0].message;
    EXPECT_EQ(fresh[0].subject, "us-east-1");

    writeStats(msAgo(now_, std::chrono::hours(27)), 0, 0);
    auto old = backupFindings(fleet(), now_);
    ASSERT_EQ(old.size(), 1u);
    EXPECT_EQ(old[0].severity, Severity::Critical);
    EXPECT_EQ(old[0].message, "the last good backup is 27 h old (threshold 26 h)");
    EXPECT_EQ(old[0].runbook, "backup-failed");
}

TEST_F(BackupsCheck, AFailureAfterTheLastSuccessIsAWarning) {
    writeStats(msAgo(now_, std::chrono::hours(3)), msAgo(now_, std::chrono::hours(1)), 2);
    auto failed = backupFindings(fleet(), now_);
    ASSERT_EQ(failed.size(), 1u);
    EXPECT_EQ(failed[0].severity, Severity::Warning);
    EXPECT_EQ(failed[0].message, "the last backup failed (2 failures in all)");

    // A success after the failure clears it.
    writeStats(msAgo(now_, std::chrono::hours(1)), msAgo(now_, std::chrono::hours(3)), 2);
    auto recovered = backupFindings(fleet(), now_);
    ASSERT_EQ(recovered.size(), 1u);
    EXPECT_EQ(recovered[0].severity, Severity::Ok);
}

TEST_F(BackupsCheck, NeverASuccessIsCritical) {
    writeStats(0, msAgo(now_, std::chrono::hours(1)), 1);
    auto findings = backupFindings(fleet(), now_);
    ASSERT_EQ(findings.size(), 2u);
    EXPECT_EQ(findings[0].severity, Severity::Warning);
    EXPECT_EQ(findings[0].message, "the last backup failed (1 failures in all), and none ever succeeded");
    EXPECT_EQ(findings[1].severity, Severity::Critical);
}

}  // namespace
}  // namespace chfleet::monitoring
