// `chfleet schema`: apply, diff.
#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>

#include "common/Command.h"
#include "common/Exception.h"
#include "schema/SchemaApplier.h"
#include "schema/SchemaDiff.h"

namespace chfleet {

namespace {

int printApply(const std::vector<schema::NodeApplyReport>& reports, bool dry_run, bool json) {
    size_t created = 0, already = 0, failed_nodes = 0, reached = 0;
    for (const auto& report : reports) {
        reached += report.reachable ? 1 : 0;
        created += report.created.size();
        already += report.already.size();
        failed_nodes += report.ok() ? 0 : 1;
    }
    if (json) {
        nlohmann::json nodes = nlohmann::json::array();
        for (const auto& r : reports) {
            nodes.push_back({{"node", r.node},
                             {"site", r.site},
                             {"reachable", r.reachable},
                             {dry_run ? "would_create" : "created", r.created},
                             {"already_present", r.already},
                             {"failures", r.failures}});
        }
        std::cout << nlohmann::json{{"dry_run", dry_run},
                                    {"nodes", nodes},
                                    {"created", created},
                                    {"already_present", already},
                                    {"failed_nodes", failed_nodes}}
                         .dump(2)
                  << "\n";
    } else {
        for (const auto& r : reports) {
            std::cout << fmt::format("{:<18} {:<8} {}: {} {}, {} already present{}\n", r.node, r.site,
                                     r.ok() ? "ok" : "FAILED", dry_run ? "would create" : "created",
                                     r.created.size(), r.already.size(), r.reachable ? "" : " (unreachable)");
            for (const auto& failure : r.failures) {
                std::cout << "    error: " << failure << "\n";
            }
            if (dry_run) {
                for (const auto& statement : r.statements) {
                    std::cout << "    " << statement << ";\n";
                }
            }
        }
        if (created == 0 && failed_nodes == 0) {
            std::cout << fmt::format("nothing to do: every object is present on all {} nodes\n",
                                     reports.size());
        } else {
            std::cout << fmt::format(
                "schema apply{}: {} nodes, {} objects {}, {} already present, {} nodes failed\n",
                dry_run ? " (dry run)" : "", reports.size(), created, dry_run ? "to create" : "created",
                already, failed_nodes);
        }
    }
    return serversExitCode(failed_nodes, reached);
}

int printDiff(const topology::Fleet& fleet, const std::vector<schema::DriftFinding>& findings, bool json) {
    if (json) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& f : findings) {
            out.push_back({{"node", f.node},
                           {"site", f.site},
                           {"table", f.table},
                           {"against", f.against},
                           {"what", f.what},
                           {"expected", f.expected},
                           {"actual", f.actual}});
        }
        std::cout << nlohmann::json{{"drift", !findings.empty()},
                                    {"nodes", fleet.nodes().size()},
                                    {"findings", out}}
                         .dump(2)
                  << "\n";
    } else {
        std::string current_node;
        for (const auto& f : findings) {
            if (f.node != current_node) {
                current_node = f.node;
                std::cout << f.node << " (" << f.site << ")\n";
            }
            std::cout << fmt::format(
                "  {}: {} [against {}]: expected {}, found {}\n", f.table.empty() ? "(node)" : f.table,
                f.what, f.against, f.expected.empty() ? "-" : f.expected, f.actual.empty() ? "-" : f.actual);
        }
        std::set<std::string> nodes;
        for (const auto& f : findings) {
            nodes.insert(f.node);
        }
        if (findings.empty()) {
            std::cout << fmt::format(
                "no drift: {} nodes match the fleet file, their replicas and their peer site\n",
                fleet.nodes().size());
        } else {
            std::cout << fmt::format("drift: {} differences on {} of {} nodes\n", findings.size(),
                                     nodes.size(), fleet.nodes().size());
        }
    }
    size_t unreachable = std::count_if(findings.begin(), findings.end(),
                                       [](const auto& f) { return f.what == "unreachable"; });
    return serversExitCode(findings.size(), fleet.nodes().size() - unreachable);
}

}  // namespace

int schemaMain(const std::vector<std::string>& args) {
    CLI::App app{
        "Creates the fleet file's schema on every node, and finds drift.\n\n"
        "On every node of every site: the database; <table>_local as Replicated*MergeTree at\n"
        "/clickhouse/tables/{region}/{shard}/<table>; the materialized views; per region "
        "<table>_<alias>_distributed\n"
        "sharded by the table's sharding key (write through these); <table>_distributed over the site's "
        "global\n"
        "cluster with no sharding key (reads only: an insert through it fails instead of mixing regions).\n\n"
        "Examples:\n"
        "  chfleet schema apply -f .sandbox/fleet.yaml --dry-run\n"
        "  chfleet schema apply -f .sandbox/fleet.yaml --site dr\n"
        "  chfleet schema diff -f .sandbox/fleet.yaml --json\n\n"
        "Exit codes: 0 all nodes done / no drift; 1 a node failed / drift found; 2 bad arguments; 4 invalid "
        "fleet "
        "file.",
        "chfleet schema"};
    addCommonOptions(app);
    app.require_subcommand(1);
    std::string file;
    bool json = false;

    schema::ApplyOptions apply_options;
    std::string site;
    auto* apply = app.add_subcommand(
        "apply",
        "create the database and every missing table and view, node by node; a second run changes nothing");
    addFleetFileOption(*apply, file);
    apply->add_option("--site", site, "only this site's nodes");
    apply->add_flag("--dry-run", apply_options.dry_run,
                    "print what would be created on each node; change nothing");
    apply->add_flag("--json", json, "machine-readable output");

    auto* diff = app.add_subcommand(
        "diff",
        "compare every node's tables (columns, types, engine, keys) with the file, with the other replicas "
        "of its shard and with the peer site; exit 1 on any drift");
    addFleetFileOption(*diff, file);
    diff->add_flag("--json", json, "machine-readable output");

    return runCommand(app, args, [&]() -> int {
        auto fleet = topology::loadFleet(file);
        if (apply->parsed()) {
            if (!site.empty()) {
                apply_options.site = site;
            }
            return printApply(schema::applySchema(fleet, apply_options), apply_options.dry_run, json);
        }
        return printDiff(fleet, schema::diffSchema(fleet), json);
    });
}

}  // namespace chfleet
