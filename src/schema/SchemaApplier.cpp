#include "schema/SchemaApplier.h"

#include <algorithm>
#include <future>
#include <set>

#include "clickhouse/Capabilities.h"
#include "clickhouse/Quoting.h"
#include "clickhouse/Result.h"
#include "clickhouse/RetryPolicy.h"
#include "common/Exception.h"
#include "common/Log.h"
#include "schema/SchemaPlan.h"
#include "topology/NodeConnection.h"

namespace chfleet::schema {

namespace {

std::set<std::string> existingTables(clickhouse::Connection& connection, const std::string& database) {
    auto result = clickhouse::query(
        connection, "SELECT name FROM system.tables WHERE database = " + clickhouse::quoteString(database));
    std::set<std::string> names;
    for (size_t row = 0; row < result.rowCount(); ++row) {
        names.insert(result.getString(row, "name"));
    }
    return names;
}

NodeApplyReport applyOnNode(const topology::Fleet& fleet, const topology::Node& node,
                            const topology::Site& site, bool dry_run) {
    NodeApplyReport report;
    report.node = node.name;
    report.site = node.site;
    std::set<std::string> existing;
    std::unique_ptr<clickhouse::Connection> connection;
    // The node's server decides whether tables carry its region's TTL (servers with TTL) or are left to
    // `chfleet retention run` (18.16).
    NodeTraits traits;
    traits.region = node.region;
    std::vector<PlannedObject> plan;
    try {
        connection = topology::connectTo(fleet, node);
        auto capabilities = clickhouse::detectCapabilities(*connection);
        traits.ttl = capabilities.ttl;
        traits.ttl_only_drop_parts = capabilities.ttl_only_drop_parts;
        plan = planForNode(fleet, site, traits);
        existing = existingTables(*connection, fleet.schema.database);
    } catch (const Exception& e) {
        plan = planForNode(fleet, site, traits);
        report.reachable = false;
        report.failures.push_back(e.what());
        if (dry_run) {
            // Still show what would run on a node we cannot see.
            report.statements.push_back(createDatabaseSql(fleet));
            for (const auto& object : plan) {
                report.created.push_back(object.shape.name);
                report.statements.push_back(object.create_sql);
            }
        }
        return report;
    }
    clickhouse::RetryPolicy retry;
    auto run = [&](const std::string& sql) {
        clickhouse::withRetry(retry, node.name, [&] { return connection->execute(sql); });
    };
    if (existing.empty()) {
        if (dry_run) {
            report.statements.push_back(createDatabaseSql(fleet));
        } else {
            try {
                run(createDatabaseSql(fleet));
            } catch (const Exception& e) {
                report.failures.push_back(e.what());
                return report;
            }
        }
    }
    for (const auto& object : plan) {
        if (existing.count(object.shape.name) > 0) {
            report.already.push_back(object.shape.name);
            continue;
        }
        if (dry_run) {
            report.created.push_back(object.shape.name);
            report.statements.push_back(object.create_sql);
            continue;
        }
        try {
            run(object.create_sql);
            report.created.push_back(object.shape.name);
        } catch (const Exception& e) {
            report.failures.push_back(object.shape.name + ": " + e.what());
        }
    }
    return report;
}

}  // namespace

std::vector<NodeApplyReport> applySchema(const topology::Fleet& fleet, const ApplyOptions& options) {
    if (options.site && fleet.site(*options.site) == nullptr) {
        throw Exception(ErrorCode::BadArguments, "no site named '{}' in {}", *options.site,
                        fleet.source_path);
    }
    // Nodes work in parallel, but the replicas of one shard one after the other (waves by replica number):
    // two replicas creating the same keeper path at the same instant is a race 18.16 does not always win.
    std::vector<std::pair<const topology::Node*, const topology::Site*>> targets;
    int max_replica = 0;
    for (const auto& site : fleet.sites) {
        if (options.site && site.name != *options.site) {
            continue;
        }
        planForSite(fleet, site);  // a plan error (a view of an unknown table) stops before any node
        for (const auto* node : site.nodes()) {
            targets.emplace_back(node, &site);
            max_replica = std::max(max_replica, node->replica);
        }
    }
    std::vector<NodeApplyReport> reports(targets.size());
    for (int wave = 1; wave <= max_replica; ++wave) {
        std::vector<std::pair<size_t, std::future<NodeApplyReport>>> pending;
        for (size_t i = 0; i < targets.size(); ++i) {
            const auto& [node, site] = targets[i];
            if (node->replica == wave) {
                pending.emplace_back(i, std::async(std::launch::async, [&fleet, node, site, &options] {
                                         return applyOnNode(fleet, *node, *site, options.dry_run);
                                     }));
            }
        }
        for (auto& [index, future] : pending) {
            reports[index] = future.get();
        }
    }
    return reports;
}

}  // namespace chfleet::schema
