// chfleet: one binary, one subcommand per capability. This file only dispatches.
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "common/Command.h"
#include "common/Exception.h"

namespace chfleet {
int topologyMain(const std::vector<std::string>& args);
int configMain(const std::vector<std::string>& args);
int sandboxMain(const std::vector<std::string>& args);
int schemaMain(const std::vector<std::string>& args);
int queryMain(const std::vector<std::string>& args);
int syncMain(const std::vector<std::string>& args);
int ingestMain(const std::vector<std::string>& args);
int residencyMain(const std::vector<std::string>& args);
int retentionMain(const std::vector<std::string>& args);
int backupMain(const std::vector<std::string>& args);
int eraseMain(const std::vector<std::string>& args);
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
    {"retention", chfleet::retentionMain,
     "apply each table's retention per region: drop expired partitions, status"},
    {"erase", chfleet::eraseMain,
     "erase a company from every replica of every site, with a receipt in a ledger"},
    {"backup", chfleet::backupMain, "back up a site to a folder or S3, verify, restore, clean up"},
    {"health", chfleet::healthMain,
     "the fleet's daily health check: findings per node, exit code by severity"},
    {"exporter", chfleet::exporterMain, "Prometheus exporter of every node (system tables; works on 18.16)"},
    {"monitoring", chfleet::monitoringMain,
     "render alert rules, their promtool tests, scrape config, dashboard"},
};

void printUsage(std::ostream& out) {
    out << "chfleet " << CHFLEET_VERSION
        << " - run a multi-region, multi-site ClickHouse fleet from one file\n\n"
        << "Usage: chfleet [--log-level LEVEL] [--stall-timeout SECONDS] [-f FILE] <subcommand> [options]   "
           "(chfleet <subcommand> "
           "--help for details)\n\nSubcommands:\n";
    for (const auto& sub : subcommands) {
        out << "  " << sub.name << std::string(12 - sub.name.size(), ' ') << sub.summary << "\n";
    }
    out << "\nExit codes: 0 ok, 1 finished with failures or drift, 2 bad arguments, 3 differences found,\n"
        << "4 invalid configuration, 5 connection failed, 6 timeout, 7 server error, 8 bad response,\n"
        << "9 sandbox failure, 10 file error, 11 critical (health), 130 interrupted. The same failure gives "
           "the same code in "
           "every\n"
        << "subcommand: a missing or unreadable fleet file 10, an invalid one 4, no server reachable 5.\n"
        << "\nGlobal options (also accepted after the subcommand): --log-level LEVEL (environment "
           "LOG_LEVEL),\n"
        << "--stall-timeout SECONDS (a server silent this long mid-statement counts as not answering; "
           "default\n"
        << "the fleet file's network.stall_timeout_seconds, else 30; 0 off), -f FILE (the fleet file,\n"
        << "environment CHFLEET_FILE), --help, --version.\n";
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
    chfleet::GlobalArguments global;
    try {
        global = chfleet::splitGlobalArguments(std::vector<std::string>(argv + 1, argv + argc));
    } catch (const chfleet::Exception& e) {
        std::cerr << "chfleet: " << e.what() << "\n";
        return static_cast<int>(e.code());
    }
    for (const auto& sub : subcommands) {
        if (sub.name == global.subcommand) {
            return sub.main(global.args);
        }
    }
    std::cerr << "chfleet: "
              << (global.subcommand.empty() ? "no subcommand given"
                                            : "unknown subcommand '" + global.subcommand + "'")
              << "\n\n";
    printUsage(std::cerr);
    return 2;
}
