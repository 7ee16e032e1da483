// The `topology` and `config` subcommands: validate and summarise a fleet file; render server configs from
// it.
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "common/Command.h"
#include "common/Exception.h"
#include "common/Files.h"
#include "topology/ConfigRenderer.h"
#include "topology/Fleet.h"
#include "topology/FleetSection.h"

namespace chfleet {

namespace {

using topology::Fleet;
using topology::Node;
using topology::Region;
using topology::TableKind;

constexpr const char* kBasePortOptionHelp =
    "first port for nodes and keepers the file does not list, overriding the file's base_port";

topology::LoadOptions loadOptions(int base_port) {
    topology::LoadOptions options;
    if (base_port > 0) {
        options.base_port = static_cast<uint16_t>(base_port);
    }
    return options;
}

std::string address(const std::string& host, uint16_t port) {
    return host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port)
                                               : fmt::format("{}:{}", host, port);
}

/// "1 shard", "3 shards".
std::string counted(size_t n, std::string_view what) {
    return fmt::format("{} {}{}", n, what, n == 1 ? "" : "s");
}

std::string kindName(TableKind kind) {
    return kind == TableKind::MaterializedView ? "materialized_view" : "table";
}

/// The regions of all sites by name, in first-seen order, with one alias each (sites mirror each other).
std::vector<const Region*> distinctRegions(const Fleet& fleet) {
    std::vector<const Region*> regions;
    std::set<std::string> seen;
    for (const auto& site : fleet.sites) {
        for (const auto& region : site.regions) {
            if (seen.insert(region.name).second) {
                regions.push_back(&region);
            }
        }
    }
    return regions;
}

void printSummary(const Fleet& fleet, std::ostream& out) {
    size_t regions = 0;
    size_t keepers = 0;
    for (const auto& site : fleet.sites) {
        regions += site.regions.size();
        keepers += site.keepers.size();
    }
    out << fmt::format("fleet {} ({})\n", fleet.name, fleet.source_path);
    out << fmt::format(
        "credentials: user {}, password {}\n", fleet.credentials.user,
        fleet.credentials.password.empty() ? "none" : "from " + fleet.credentials.password.describe());
    if (fleet.base_port != 0) {
        out << fmt::format(
            "base_port: {} (nodes and keepers the file does not list run on 127.0.0.1 from here)\n",
            fleet.base_port);
    }
    for (const auto& site : fleet.sites) {
        out << fmt::format("\nsite {}\n", site.name);
        out << "  keepers:";
        for (const auto& keeper : site.keepers) {
            out << " " << address(keeper.host, keeper.port) << (keeper.derived ? " (derived)" : "");
        }
        out << fmt::format("; session timeout {} ms\n", site.keeper_session_timeout_ms);
        int global_shard = 1;
        std::vector<std::string> global_parts;
        for (const auto& region : site.regions) {
            out << fmt::format("  region {} (alias {}): cluster {}, {} x {}\n", region.name, region.alias,
                               region.cluster, counted(region.shards, "shard"),
                               counted(region.replicas, "replica"));
            for (const auto& node : region.nodes) {
                out << fmt::format(
                    "    shard {} replica {}  {:<24} {:<16} http {:<5} tcp {:<5} interserver {:<5}{}\n",
                    node.shard, node.replica, node.name, node.host, node.http_port, node.tcp_port,
                    node.interserver_port, node.derived ? "  (derived)" : "");
            }
            if (!region.weights.empty()) {
                std::string weights;
                for (int shard = 1; shard <= region.shards; ++shard) {
                    weights += fmt::format("{}{}", shard == 1 ? "" : ", ", region.weight(shard));
                }
                out << fmt::format("    shard weights: {}\n", weights);
            }
            global_parts.push_back(region.shards == 1
                                       ? fmt::format("{} as shard {}", region.name, global_shard)
                                       : fmt::format("{} as shards {}-{}", region.name, global_shard,
                                                     global_shard + region.shards - 1));
            global_shard += region.shards;
        }
        std::string parts;
        for (const auto& part : global_parts) {
            parts += (parts.empty() ? "" : ", ") + part;
        }
        out << fmt::format("  global cluster {}: {} ({})\n", site.global_cluster,
                           counted(static_cast<size_t>(global_shard - 1), "shard"), parts);
    }
    auto regions_by_name = distinctRegions(fleet);
    out << fmt::format("\nschema: database {}, {}\n", fleet.schema.database,
                       counted(fleet.schema.tables.size(), "table"));
    for (const auto& table : fleet.schema.tables) {
        out << fmt::format(
            "  {}: {}, engine {}, ", table.name,
            table.kind == TableKind::MaterializedView ? "materialized view from " + table.from : "table",
            table.engine);
        out << (table.sharding_key.empty() ? std::string("no sharding key (read only)")
                                           : "sharded by " + table.sharding_key);
        for (const auto& field : topology::tableFields()) {
            if (field.summary) {
                out << field.summary(table);
            }
        }
        std::string regional;
        for (const Region* region : regions_by_name) {
            regional += fmt::format("{}{} ({})", regional.empty() ? "" : ", ", table.regionalName(*region),
                                    region->name);
        }
        out << fmt::format("\n    node {}; region {}; site {}\n", table.localName(), regional,
                           table.globalName());
    }
    out << fmt::format("\n{}: valid; {}, {}, {}, {}, {}\n", fleet.source_path,
                       counted(fleet.sites.size(), "site"), counted(regions, "region"),
                       counted(fleet.nodes().size(), "node"), counted(keepers, "keeper"),
                       counted(fleet.schema.tables.size(), "table"));
}

nlohmann::json summaryJson(const Fleet& fleet) {
    nlohmann::json sites = nlohmann::json::array();
    for (const auto& site : fleet.sites) {
        nlohmann::json keepers = nlohmann::json::array();
        for (const auto& keeper : site.keepers) {
            keepers.push_back({{"host", keeper.host}, {"port", keeper.port}, {"derived", keeper.derived}});
        }
        nlohmann::json regions = nlohmann::json::array();
        for (const auto& region : site.regions) {
            nlohmann::json nodes = nlohmann::json::array();
            for (const auto& node : region.nodes) {
                nodes.push_back({{"name", node.name},
                                 {"shard", node.shard},
                                 {"replica", node.replica},
                                 {"host", node.host},
                                 {"http_port", node.http_port},
                                 {"tcp_port", node.tcp_port},
                                 {"interserver_port", node.interserver_port},
                                 {"derived", node.derived}});
            }
            std::vector<int> weights;
            for (int shard = 1; shard <= region.shards; ++shard) {
                weights.push_back(region.weight(shard));
            }
            regions.push_back({{"name", region.name},
                               {"alias", region.alias},
                               {"cluster", region.cluster},
                               {"shards", region.shards},
                               {"replicas", region.replicas},
                               {"weights", weights},
                               {"nodes", nodes}});
        }
        sites.push_back({{"name", site.name},
                         {"global_cluster", site.global_cluster},
                         {"keepers", keepers},
                         {"keeper_session_timeout_ms", site.keeper_session_timeout_ms},
                         {"regions", regions}});
    }
    nlohmann::json tables = nlohmann::json::array();
    auto regions_by_name = distinctRegions(fleet);
    for (const auto& table : fleet.schema.tables) {
        nlohmann::json regional = nlohmann::json::object();
        for (const Region* region : regions_by_name) {
            regional[region->name] = table.regionalName(*region);
        }
        nlohmann::json entry = {{"name", table.name},
                                {"kind", kindName(table.kind)},
                                {"local", table.localName()},
                                {"regional", regional},
                                {"global", table.globalName()},
                                {"engine", table.engine},
                                {"region_key", table.region_key},
                                {"sharding_key", table.sharding_key}};
        if (table.kind == TableKind::MaterializedView) {
            entry["from"] = table.from;
        }
        for (const auto& field : topology::tableFields()) {
            if (field.summary_json) {
                field.summary_json(table, entry);
            }
        }
        tables.push_back(entry);
    }
    return {{"valid", true},
            {"file", fleet.source_path},
            {"fleet", fleet.name},
            {"credentials",
             {{"user", fleet.credentials.user}, {"password", fleet.credentials.password.describe()}}},
            {"sites", sites},
            {"schema", {{"database", fleet.schema.database}, {"tables", tables}}}};
}

nlohmann::json problemsJson(const topology::FleetCheck& check) {
    nlohmann::json problems = nlohmann::json::array();
    for (const auto& problem : check.problems) {
        problems.push_back({{"file", problem.file},
                            {"line", problem.line},
                            {"path", problem.path},
                            {"message", problem.message}});
    }
    return {{"valid", false}, {"problems", problems}};
}

int runCheck(const std::string& file, int base_port, bool json) {
    topology::FleetCheck check = topology::checkFleet(file, loadOptions(base_port));
    if (!check.valid()) {
        if (json) {
            std::cout << problemsJson(check).dump(2) << "\n";
        } else {
            std::cerr << check.describeProblems() << "\n"
                      << fmt::format("{}: {} problem{} found\n", file, check.problems.size(),
                                     check.problems.size() == 1 ? "" : "s");
        }
        return static_cast<int>(ErrorCode::InvalidConfig);
    }
    if (json) {
        std::cout << summaryJson(*check.fleet).dump(2) << "\n";
    } else {
        printSummary(*check.fleet, std::cout);
    }
    return 0;
}

int runRender(const std::string& file, const std::string& out_dir, const std::vector<std::string>& node_names,
              int base_port, bool json) {
    Fleet fleet = topology::loadFleet(file, loadOptions(base_port));
    std::vector<const Node*> nodes;
    if (node_names.empty()) {
        nodes = fleet.nodes();
    }
    for (const auto& name : node_names) {
        const Node* node = fleet.node(name);
        if (node == nullptr) {
            std::string known;
            for (const Node* candidate : fleet.nodes()) {
                known += (known.empty() ? "" : ", ") + candidate->name;
            }
            throw Exception(ErrorCode::BadArguments, "--node {}: no such node in {} (nodes: {})", name, file,
                            known);
        }
        nodes.push_back(node);
    }
    std::string password = fleet.credentials.password.resolve();
    nlohmann::json written = nlohmann::json::array();
    nlohmann::json changes = nlohmann::json::array();
    std::map<topology::ConfigChange, std::vector<std::string>> by_change;
    for (const Node* node : nodes) {
        // What was there before decides how the server takes the new files (reload or restart).
        auto previous = [&](const std::string& relative) {
            std::string path = (std::filesystem::path(out_dir) / relative).string();
            return std::filesystem::exists(path) ? files::read(path) : std::string();
        };
        std::string old_server = previous(topology::serverConfigPath(*node));
        std::string old_users = previous(topology::usersConfigPath(*node));
        std::vector<std::string> restart_settings;
        auto change = topology::classifyConfigChange(
            old_server, topology::renderServerConfig(fleet, *node, password),
            old_users != topology::renderUsersConfig(fleet, password), restart_settings);
        by_change[change].push_back(node->name);
        changes.push_back({{"node", node->name},
                           {"change", topology::configChangeName(change)},
                           {"restart_settings", restart_settings}});
        for (const auto& path : topology::writeNodeConfig(fleet, *node, out_dir, password)) {
            if (json) {
                written.push_back({{"node", node->name}, {"path", path}});
            } else {
                std::cout << fmt::format("wrote {} (mode 0600)\n", path);
            }
        }
        if (!json && change == topology::ConfigChange::Restart) {
            std::cout << fmt::format("{}: changed {}: restart the server to apply\n", node->name,
                                     fmt::join(restart_settings, ", "));
        }
    }
    if (json) {
        std::cout << nlohmann::json{{"files", written}, {"nodes", changes}}.dump(2) << "\n";
        return 0;
    }
    std::cout << fmt::format(
        "{} node{} rendered into {}. The files hold the fleet's credentials (config.d in clear text for "
        "remote_servers): install them owned by the clickhouse user, mode 0600.\n",
        nodes.size(), nodes.size() == 1 ? "" : "s", out_dir);
    auto list = [&](topology::ConfigChange change) {
        return fmt::format("{}", fmt::join(by_change[change], ", "));
    };
    if (!by_change[topology::ConfigChange::New].empty()) {
        std::cout << "new (install, then start or restart the server): " << list(topology::ConfigChange::New)
                  << "\n";
    }
    if (!by_change[topology::ConfigChange::Reload].empty()) {
        std::cout << "applied live once installed (remote_servers, users.d are re-read within seconds): "
                  << list(topology::ConfigChange::Reload) << "\n";
    }
    if (!by_change[topology::ConfigChange::Restart].empty()) {
        std::cout << "restart needed (one replica per shard at a time): "
                  << list(topology::ConfigChange::Restart) << "\n";
    }
    if (!by_change[topology::ConfigChange::None].empty()) {
        std::cout << "unchanged: " << list(topology::ConfigChange::None) << "\n";
    }
    return 0;
}

}  // namespace

int topologyMain(const std::vector<std::string>& args) {
    CLI::App app{"Validate a fleet file and show the fleet it describes.", "chfleet topology"};
    addCommonOptions(app);
    app.fallthrough();
    app.footer("Run 'chfleet topology check --help' for details.\n");

    std::string file;
    int base_port = 0;
    bool json = false;
    CLI::App* check =
        app.add_subcommand("check", "validate the fleet file; print its sites, clusters, nodes and tables");
    addFleetFileOption(*check, file);
    check->add_option("--base-port", base_port, kBasePortOptionHelp)->check(CLI::Range(1, 65535));
    check->add_flag(
        "--json", json,
        "print the result as JSON on stdout: the resolved fleet, or {\"valid\": false, \"problems\": "
        "[{file, line, path, message}]}");
    check->footer(
        "Reads the fleet file, derives what it leaves out (node names, keepers and ports from base_port) "
        "and\n"
        "checks everything: required and unknown fields, names, duplicate sites, regions, clusters, nodes "
        "and\n"
        "host:port pairs, port ranges, shard/replica counts against the nodes listed, weights, that every "
        "site\n"
        "has the same regions, and that tables name existing columns, regions and source tables.\n\n"
        "When the file is valid, prints the fleet on stdout: per site its keepers, each region's cluster "
        "with\n"
        "shards x replicas and every node with its host and ports, the site's global cluster; then every "
        "table\n"
        "with the names chfleet gives it: <t>_local on each node, <t>_<alias>_distributed per region "
        "(writes),\n"
        "<t>_distributed over the site's global cluster (reads). Otherwise prints every problem on stderr, "
        "one\n"
        "per line, as FILE:LINE: FIELD: PROBLEM. Nothing is contacted and no secret is read.\n\n"
        "Exit codes: 0 valid, 4 invalid (problems printed), 10 the file cannot be read, 2 bad arguments.\n\n"
        "Examples:\n"
        "  chfleet topology check -f examples/teei/fleet.yaml\n"
        "  chfleet topology check -f fleet.yaml --base-port 31000      # where a sandbox on 31000 would put "
        "nodes\n"
        "  chfleet topology check -f fleet.yaml --json | jq -r '.sites[].regions[].nodes[].name'\n");

    return runCommand(app, args, [&]() {
        if (check->parsed()) {
            return runCheck(file, base_port, json);
        }
        std::cerr << app.help();
        return static_cast<int>(ErrorCode::BadArguments);
    });
}

int configMain(const std::vector<std::string>& args) {
    CLI::App app{"Render ClickHouse server configuration from the fleet file.", "chfleet config"};
    addCommonOptions(app);
    app.fallthrough();
    app.footer("Run 'chfleet config render --help' for details.\n");

    std::string file;
    std::string out_dir;
    std::vector<std::string> node_names;
    int base_port = 0;
    bool json = false;
    CLI::App* render = app.add_subcommand(
        "render", "write every node's config.d/chfleet.xml and users.d/chfleet.xml from the fleet file");
    addFleetFileOption(*render, file);
    render->add_option("-o,--output", out_dir, "the directory to write into (created if missing)")
        ->required();
    render->add_option("--node", node_names,
                       "render only this node (repeat for several); default every node");
    render->add_option("--base-port", base_port, kBasePortOptionHelp)->check(CLI::Range(1, 65535));
    render->add_flag("--json", json, "print the files written as JSON: {\"files\": [{node, path}]}");
    render->footer(
        "Writes, for each node, two files to merge into its clickhouse-server configuration:\n"
        "  DIR/<node>/config.d/chfleet.xml  listen_host (network.listen_host: all interfaces by default, "
        "the\n"
        "      node's own address for a loopback node), the node's http, tcp and interserver ports and its\n"
        "      interserver host (the node's host);\n"
        "      remote_servers: one cluster per region of the node's site (shard weights, "
        "internal_replication,\n"
        "      each replica's host, tcp port, fleet user and password) and the site's global cluster (every\n"
        "      shard of every region); macros site, region, cluster, shard (number) and replica (node "
        "name);\n"
        "      zookeeper: the site's keepers and session_timeout_ms; distributed_ddl "
        "/clickhouse/task_queue/ddl.\n"
        "  DIR/<node>/users.d/chfleet.xml   the fleet user: SHA-256 of the password, networks restricted to\n"
        "      loopback, the fleet's servers and network.allow, profile and quota 'default'.\n"
        "Says per node what the new files take, comparing with the files already in DIR: 'new', applied "
        "live\n"
        "(remote_servers and users.d are re-read within seconds), or 'restart needed' (listen_host, ports,\n"
        "interserver host, macros, zookeeper, distributed_ddl are read at start-up); --json gives it as\n"
        "nodes[].change and nodes[].restart_settings.\n"
        "Install them as /etc/clickhouse-server/config.d/chfleet.xml and users.d/chfleet.xml on the node. "
        "The\n"
        "root element is <yandex>, which ClickHouse 18.16 and current versions both accept; clusters, macros "
        "and\n"
        "zookeeper replace what the main config says about them. The password is read from the fleet's\n"
        "password_env or password_file. Files are written atomically with mode 0600 since they hold it; "
        "what\n"
        "is printed never does. Nothing is contacted.\n\n"
        "Exit codes: 0 written, 4 invalid fleet file or password not available, 10 a file cannot be read or\n"
        "written, 2 bad arguments (e.g. an unknown --node).\n\n"
        "Examples:\n"
        "  CHFLEET_PASSWORD=... chfleet config render -f examples/teei/fleet.yaml -o /tmp/teei-config\n"
        "  chfleet config render -f fleet.yaml -o out --node clickhouse-us-0 --node clickhouse-us-1\n");

    return runCommand(app, args, [&]() {
        if (render->parsed()) {
            return runRender(file, out_dir, node_names, base_port, json);
        }
        std::cerr << app.help();
        return static_cast<int>(ErrorCode::BadArguments);
    });
}

}  // namespace chfleet
