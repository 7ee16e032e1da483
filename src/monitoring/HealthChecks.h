#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "monitoring/MonitoringSection.h"
#include "monitoring/NodeSnapshot.h"
#include "topology/Fleet.h"

// The health report: a list of findings, each produced by one check from one pass over the fleet
// (NodeSnapshot) and from chfleet's own state (sync's state file, ingest's spool). A check is a function in
// the list healthChecks() returns; adding one is adding an entry there (docs/monitoring.md, "Adding a
// check").
namespace chfleet::monitoring {

enum class Severity { Ok, Info, Warning, Critical };

std::string_view severityName(Severity severity);

/// One thing the report says, about one subject: a node ("clickhouse-us-0"), a shard
/// ("primary/us-east-1/shard 2"), a site, or a capability ("sync").
struct Finding {
    Severity severity = Severity::Info;
    std::string check;    ///< the check that found it, e.g. "replication"
    std::string subject;  ///< what it is about
    std::string message;  ///< what, with the figures and the threshold
    std::string runbook;  ///< the runbook page name (docs/runbooks/<runbook>.md), "" when none applies
};

/// What every check reads.
struct HealthContext {
    const topology::Fleet& fleet;
    const MonitoringConfig& config;
    const std::vector<NodeRead>& reads;
    std::chrono::system_clock::time_point now;
};

using CheckFunction = std::function<void(const HealthContext&, std::vector<Finding>&)>;

struct HealthCheck {
    std::string name;
    CheckFunction run;
};

/// Every check of the report, in report order.
const std::vector<HealthCheck>& healthChecks();

/// Runs every check; a check that throws becomes a warning finding naming it, and the others still run.
std::vector<Finding> runHealthChecks(const HealthContext& context);

/// The worst severity of `findings` (Ok when there are none).
Severity worstSeverity(const std::vector<Finding>& findings);

}  // namespace chfleet::monitoring
