#pragma once

#include <optional>
#include <string>
#include <vector>

#include "topology/Fleet.h"

namespace chfleet::schema {

struct ApplyOptions {
    std::optional<std::string> site;  ///< only this site's nodes
    bool dry_run = false;             ///< report what would be created; change nothing
};

/// What `schema apply` did on one node.
struct NodeApplyReport {
    std::string node;
    std::string site;
    bool reachable = true;
    std::vector<std::string> created;     ///< object names (or, in a dry run, those that would be)
    std::vector<std::string> statements;  ///< dry run: the statements that would run
    std::vector<std::string> already;     ///< objects that were there already
    std::vector<std::string> failures;  ///< one line per object that could not be created, or the node error

    bool ok() const { return reachable && failures.empty(); }
};

/// Creates the database and every planned object (see planForSite) on every node, node by node and
/// idempotently: a node's existing tables are read first and only the missing ones are created, so a second
/// run creates nothing. A node that is down or fails is reported and does not stop the others. Nodes are
/// worked on in parallel; the reports come back in fleet order.
std::vector<NodeApplyReport> applySchema(const topology::Fleet& fleet, const ApplyOptions& options);

}  // namespace chfleet::schema
