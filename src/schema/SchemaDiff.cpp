#include "schema/SchemaDiff.h"

#include <future>
#include <set>

#include "clickhouse/Quoting.h"
#include "clickhouse/Result.h"
#include "common/Exception.h"
#include "topology/NodeConnection.h"

namespace chfleet::schema {

namespace {

constexpr std::string_view kInnerPrefix = ".inner.";

/// A node's snapshot, or the error that kept it from being read.
struct NodeState {
    const topology::Node* node = nullptr;
    std::optional<NodeSnapshot> snapshot;
    std::string error;
};

void addFindings(std::vector<DriftFinding>& out, std::vector<DriftFinding> found, const topology::Node& node,
                 const std::string& table, const std::string& against) {
    for (auto& finding : found) {
        finding.node = node.name;
        finding.site = node.site;
        finding.table = table;
        finding.against = against;
        out.push_back(std::move(finding));
    }
}

/// Compares two snapshots table by table (tables missing on either side included).
std::vector<std::pair<std::string, std::vector<DriftFinding>>> compareSnapshots(
    const NodeSnapshot& reference, const NodeSnapshot& actual, const std::string& reference_name,
    bool with_distribution) {
    std::vector<std::pair<std::string, std::vector<DriftFinding>>> out;
    for (const auto& [name, shape] : reference) {
        auto it = actual.find(name);
        if (it == actual.end()) {
            out.push_back(
                {name,
                 {DriftFinding{
                     {}, {}, {}, {}, "table missing here", "present on " + reference_name, "missing"}}});
        } else {
            auto found = compareShapes(shape, it->second, with_distribution);
            if (!found.empty()) {
                out.push_back({name, std::move(found)});
            }
        }
    }
    for (const auto& [name, shape] : actual) {
        if (reference.count(name) == 0) {
            out.push_back(
                {name,
                 {DriftFinding{
                     {}, {}, {}, {}, "table only here", "missing on " + reference_name, "present"}}});
        }
    }
    return out;
}

}  // namespace

NodeSnapshot readSnapshot(clickhouse::Connection& connection, const std::string& database) {
    auto quoted = clickhouse::quoteString(database);
    auto tables =
        clickhouse::query(connection,
                          "SELECT name, engine, partition_key, sorting_key, engine_full FROM system.tables "
                          "WHERE database = " +
                              quoted);
    std::map<std::string, TableShape> all;
    for (size_t row = 0; row < tables.rowCount(); ++row) {
        TableShape shape;
        shape.name = tables.getString(row, "name");
        shape.engine = tables.getString(row, "engine");
        shape.partition_key = normalizeExpression(tables.getString(row, "partition_key"));
        shape.sorting_key = normalizeExpression(tables.getString(row, "sorting_key"));
        if (shape.engine == "Distributed") {
            shape.distribution = distributionFromEngineFull(tables.getString(row, "engine_full"));
        }
        all[shape.name] = std::move(shape);
    }
    auto columns = clickhouse::query(
        connection, "SELECT table, name, type FROM system.columns WHERE database = " + quoted);
    for (size_t row = 0; row < columns.rowCount(); ++row) {
        auto it = all.find(columns.getString(row, "table"));
        if (it != all.end()) {
            it->second.columns.push_back(
                {columns.getString(row, "name"), normalizeType(columns.getString(row, "type"))});
        }
    }
    NodeSnapshot snapshot;
    for (auto& [name, shape] : all) {
        if (name.rfind(kInnerPrefix, 0) == 0) {
            continue;
        }
        if (shape.engine == "MaterializedView") {
            // A view's storage (and so its keys) is its inner table.
            auto inner = all.find(std::string(kInnerPrefix) + name);
            if (inner != all.end()) {
                shape.partition_key = inner->second.partition_key;
                shape.sorting_key = inner->second.sorting_key;
            }
        }
        snapshot[name] = std::move(shape);
    }
    return snapshot;
}

std::vector<DriftFinding> compareShapes(const TableShape& expected, const TableShape& actual,
                                        bool with_distribution) {
    std::vector<DriftFinding> found;
    auto differ = [&](std::string what, const std::string& want, const std::string& have) {
        if (want != have) {
            found.push_back(DriftFinding{{}, {}, {}, {}, std::move(what), want, have});
        }
    };
    differ("engine differs", expected.engine, actual.engine);
    differ("PARTITION BY differs", expected.partition_key, actual.partition_key);
    differ("ORDER BY differs", expected.sorting_key, actual.sorting_key);
    if (with_distribution) {
        differ("Distributed cluster/sharding key differs", expected.distribution, actual.distribution);
    }
    std::map<std::string, std::string> actual_types;
    for (const auto& column : actual.columns) {
        actual_types[column.name] = column.type;
    }
    std::set<std::string> expected_names;
    for (const auto& column : expected.columns) {
        expected_names.insert(column.name);
        auto it = actual_types.find(column.name);
        if (it == actual_types.end()) {
            found.push_back(
                DriftFinding{{}, {}, {}, {}, "column " + column.name + " missing", column.type, "missing"});
        } else {
            differ("type of column " + column.name + " differs", column.type, it->second);
        }
    }
    for (const auto& column : actual.columns) {
        if (expected_names.count(column.name) == 0) {
            found.push_back(DriftFinding{
                {}, {}, {}, {}, "column " + column.name + " unexpected", "missing", column.type});
        }
    }
    return found;
}

std::vector<DriftFinding> diffSchema(const topology::Fleet& fleet) {
    std::vector<NodeState> states;
    std::vector<std::future<void>> pending;
    for (const auto* node : fleet.nodes()) {
        states.push_back(NodeState{node, std::nullopt, {}});
    }
    for (auto& state : states) {
        pending.push_back(std::async(std::launch::async, [&fleet, &state] {
            try {
                auto connection = topology::connectTo(fleet, *state.node);
                state.snapshot = readSnapshot(*connection, fleet.schema.database);
            } catch (const Exception& e) {
                state.error = e.what();
            }
        }));
    }
    for (auto& future : pending) {
        future.get();
    }

    std::vector<DriftFinding> findings;
    std::map<std::string, const NodeState*> by_name;
    for (const auto& state : states) {
        by_name[state.node->name] = &state;
        if (!state.snapshot) {
            findings.push_back(
                DriftFinding{state.node->name, state.node->site, "", "node", "unreachable", "", state.error});
        }
    }

    // 1. Every node against the fleet file.
    for (const auto& site : fleet.sites) {
        NodeSnapshot expected;
        for (auto& object : planForSite(fleet, site)) {
            expected[object.shape.name] = object.shape;
        }
        for (const auto* node : site.nodes()) {
            const auto* state = by_name[node->name];
            if (!state->snapshot) {
                continue;
            }
            for (auto& [table, found] : compareSnapshots(expected, *state->snapshot, "file", true)) {
                for (auto& finding : found) {
                    if (finding.what == "table missing here") {
                        finding.what = "table missing";
                        finding.expected = "in the fleet file";
                    } else if (finding.what == "table only here") {
                        finding.what = "table not in the fleet file";
                        finding.expected = "absent";
                    }
                }
                addFindings(findings, std::move(found), *node, table, "file");
            }
        }
    }

    // 2. Every replica against the first reachable replica of its shard.
    auto first_reachable = [&](const std::vector<const topology::Node*>& nodes) -> const NodeState* {
        for (const auto* node : nodes) {
            if (by_name[node->name]->snapshot) {
                return by_name[node->name];
            }
        }
        return nullptr;
    };
    for (const auto& site : fleet.sites) {
        for (const auto& region : site.regions) {
            for (int shard = 1; shard <= region.shards; ++shard) {
                std::vector<const topology::Node*> replicas;
                for (const auto& node : region.nodes) {
                    if (node.shard == shard) {
                        replicas.push_back(&node);
                    }
                }
                const auto* reference = first_reachable(replicas);
                for (const auto* node : replicas) {
                    const auto* state = by_name[node->name];
                    if (reference == nullptr || state == reference || !state->snapshot) {
                        continue;
                    }
                    std::string against = "replica " + reference->node->name;
                    for (auto& [table, found] : compareSnapshots(*reference->snapshot, *state->snapshot,
                                                                 reference->node->name, true)) {
                        addFindings(findings, std::move(found), *node, table, against);
                    }
                }
            }
        }
    }

    // 3. Each region of every other site against the same region of the first site (no cluster names: they
    //    differ between sites by design).
    if (fleet.sites.size() > 1) {
        const auto& first = fleet.sites.front();
        for (size_t i = 1; i < fleet.sites.size(); ++i) {
            for (const auto& region : fleet.sites[i].regions) {
                const auto* peer_region = first.region(region.name);
                if (peer_region == nullptr) {
                    continue;
                }
                std::vector<const topology::Node*> here, there;
                for (const auto& node : region.nodes) {
                    here.push_back(&node);
                }
                for (const auto& node : peer_region->nodes) {
                    there.push_back(&node);
                }
                const auto* mine = first_reachable(here);
                const auto* peer = first_reachable(there);
                if (mine == nullptr || peer == nullptr) {
                    continue;
                }
                std::string against = "site " + first.name + " (" + peer->node->name + ")";
                for (auto& [table, found] :
                     compareSnapshots(*peer->snapshot, *mine->snapshot, peer->node->name, false)) {
                    addFindings(findings, std::move(found), *mine->node, table, against);
                }
            }
        }
    }
    return findings;
}

}  // namespace chfleet::schema
