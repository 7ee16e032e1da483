// chfleet: one binary, one subcommand per capability. This file only dispatches.
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "common/Command.h"

namespace chfleet {
int topologyMain(const std::vector<std::string>& args);
int configMain(const std::vector<std::string>& args);
int sandboxMain(const std::vector<std::string>& args);
int schemaMain(const std::vector<std::string>& args);
int queryMain(const std::vector<std::string>& args);
int syncMain(const std::vector<std::string>& args);
int ingestMain(const std::vector<std::string>& args);
int residencyMain(const std::vector<std::string>& args);
int healthMain(const std::vector<std::string>& args);
int exporterMain(const std::vector<std::string>& args);
int monitoringMain(const std::vector<std::string>& args);
}  // namespace chfleet

namespace {

struct Subcommand {
    std::string_view name;
    chfleet::CommandMain main;
    std::string_view summary;
};

constexpr Subcommand subcommands[] = {
    {"topology", chfleet::topologyMain, "validate a fleet file and summarise it"},
    {"config", chfleet::configMain, "render every server's config.d/users.d XML from the fleet file"},
    {"sandbox", chfleet::sandboxMain,
     "run the whole fleet as real local processes (ZooKeeper + clickhouse-server)"},
    {"schema", chfleet::schemaMain, "create the schema on every node; detect drift"},
    {"query", chfleet::queryMain, "run one SQL statement on one node of the fleet"},
    {"sync", chfleet::syncMain, "keep two sites' data in step (DR): check, repair, daemon, status"},
    {"ingest", chfleet::ingestMain,
     "a ClickHouse-compatible HTTP endpoint that writes each row to its company's region and shard"},
    {"residency", chfleet::residencyMain,
     "manage the company -> region mapping; audit that no row sits outside its region"},
    {"health", chfleet::healthMain,
     "the fleet's daily health check: findings per node, exit code by severity"},
    {"exporter", chfleet::exporterMain, "Prometheus exporter of every node (system tables; works on 18.16)"},
    {"monitoring", chfleet::monitoringMain,
     "render alert rules, their promtool tests, scrape config, dashboard"},
};

void printUsage(std::ostream& out) {
    out << "chfleet " << CHFLEET_VERSION
        << " - run a multi-region, multi-site ClickHouse fleet from one file\n\n"
        << "Usage: chfleet <subcommand> [options]   (chfleet <subcommand> --help for "
           "details)\n\nSubcommands:\n";
    for (const auto& sub : subcommands) {
        out << "  " << sub.name << std::string(12 - sub.name.size(), ' ') << sub.summary << "\n";
    }
    out << "\nExit codes: 0 ok, 1 finished with failures or drift, 2 bad arguments, 3 differences found,\n"
        << "4 invalid configuration, 5 connection failed, 6 timeout, 7 server error, 8 bad response,\n"
        << "9 sandbox failure, 10 file error, 11 critical (health), 130 interrupted.\n";
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
        printUsage(argc < 2 ? std::cerr : std::cout);
        return argc < 2 ? 2 : 0;
    }
    if (std::strcmp(argv[1], "--version") == 0) {
        std::cout << "chfleet " << CHFLEET_VERSION << "\n";
        return 0;
    }
    for (const auto& sub : subcommands) {
        if (sub.name == argv[1]) {
            return sub.main(std::vector<std::string>(argv + 2, argv + argc));
        }
    }
    std::cerr << "chfleet: unknown subcommand '" << argv[1] << "'\n\n";
    printUsage(std::cerr);
    return 2;
}
