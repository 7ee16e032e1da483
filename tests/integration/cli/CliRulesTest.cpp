// One set of rules for the command line, checked on every subcommand the binary lists: each takes the fleet
// file with -f and CHFLEET_FILE alike, and the same failure gives the same exit code everywhere (a missing
// file 10, an invalid one 4, no server reachable 5). The subcommands are read from the binary's own help, so
// a new one is walked as soon as it is in the dispatch table.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "common/Process.h"
#include "shared/FreePort.h"

namespace chfleet::testing {
namespace {

constexpr std::chrono::seconds kCommandTimeout{60};

process::Finished chfleet(const std::vector<std::string>& args,
                          const std::map<std::string, std::string>& env = {}) {
    std::vector<std::string> argv{CHFLEET_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    // The walk decides the fleet file itself: an inherited CHFLEET_FILE must not leak into the -f runs.
    // The erasure salt is configuration like the fleet file: given, so that erase's runs reach the servers.
    std::map<std::string, std::string> environment{
        {"CHFLEET_FILE", ""}, {"LOG_LEVEL", "warn"}, {"CHFLEET_ERASE_SALT", "cli-walk-salt"}};
    for (const auto& [key, value] : env) {
        environment[key] = value;
    }
    return process::run(argv, environment, {}, kCommandTimeout);
}

/// The names listed under `heading` in a help text ("Subcommands:", "Positionals:"): the first word of each
/// line indented by two spaces, until the next unindented line.
std::vector<std::string> section(const std::string& help, const std::string& heading) {
    std::vector<std::string> names;
    std::istringstream lines(help);
    bool inside = false;
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind(heading, 0) == 0) {
            inside = true;
            continue;
        }
        if (!inside) {
            continue;
        }
        if (line.empty() || line[0] != ' ') {
            break;
        }
        if (line.size() > 2 && line[2] != ' ') {
            names.push_back(line.substr(2, line.find(' ', 2) - 2));
        }
    }
    return names;
}

/// Every leaf command: "topology check", "query", ... as word lists, from `chfleet --help` down.
std::vector<std::vector<std::string>> leafCommands() {
    std::vector<std::vector<std::string>> leaves;
    auto top = chfleet({"--help"});
    EXPECT_EQ(top.exit_code, 0) << top.output;
    for (const auto& name : section(top.output, "Subcommands:")) {
        auto help = chfleet({name, "--help"});
        EXPECT_EQ(help.exit_code, 0) << name << ": " << help.output;
        auto children = section(help.output, "Subcommands:");
        if (children.empty()) {
            leaves.push_back({name});
        }
        for (const auto& child : children) {
            leaves.push_back({name, child});
        }
    }
    return leaves;
}

std::string join(const std::vector<std::string>& words) {
    std::string text;
    for (const auto& word : words) {
        text += (text.empty() ? "" : " ") + word;
    }
    return text;
}

class CliRules : public ::testing::Test {
  protected:
    void SetUp() override {
        char pattern[] = "/tmp/chfleet-cli-XXXXXX";
        ASSERT_NE(::mkdtemp(pattern), nullptr);
        dir_ = pattern;
        // A valid fleet of two sites whose servers and keepers are on free loopback ports nobody listens on.
        uint16_t port[8];
        for (auto& p : port) {
            p = freeLoopbackPort();
        }
        std::ofstream(dir_ + "/fleet.yaml") << fmt::format(
            R"(fleet: walk
credentials: {{user: chfleet}}
sites:
  - name: primary
    global_cluster: p_global
    keepers: [{{host: 127.0.0.1, port: {}}}]
    regions:
      - {{name: r, alias: r, cluster: p_r, shards: 1, replicas: 1,
         nodes: [{{name: p0, host: 127.0.0.1, http_port: {}, tcp_port: {}, interserver_port: {}, shard: 1, replica: 1}}]}}
  - name: dr
    global_cluster: d_global
    keepers: [{{host: 127.0.0.1, port: {}}}]
    regions:
      - {{name: r, alias: r, cluster: d_r, shards: 1, replicas: 1,
         nodes: [{{name: d0, host: 127.0.0.1, http_port: {}, tcp_port: {}, interserver_port: {}, shard: 1, replica: 1}}]}}
schema:
  database: db
  tables:
    - {{name: t, columns: [{{name: k, type: String}}, {{name: d, type: Date}}], partition_by: d, order_by: k, region_key: k}}
    - {{name: company_region_mapping, columns: [{{name: k, type: String}}, {{name: region, type: String}},
        {{name: updated_at, type: DateTime}}], engine: ReplacingMergeTree(updated_at), order_by: k, region_key: k}}
)",
            port[0], port[1], port[2], port[3], port[4], port[5], port[6], port[7]);
        std::ofstream(dir_ + "/bad.yaml") << "fleet: [\n";
        std::ofstream(dir_ + "/companies.csv") << "acme,r\n";
    }

    void TearDown() override { std::filesystem::remove_all(dir_); }

    /// The arguments that make `command` runnable apart from the fleet file: its required positionals and
    /// the options a run needs to stay harmless and finite (--dry-run, --once, a scratch state file). A
    /// required positional or option the walk has no value for fails the test: give it one here, by name.
    std::vector<std::string> arguments(const std::vector<std::string>& command, const std::string& help) {
        static const std::map<std::string, std::string> kPositionals = {
            {"node", "p0"}, {"sql", "SELECT 1"}, {"company", "acme"}, {"region", "r"}, {"name", "nightly"}};
        std::vector<std::string> args = command;
        for (const auto& name : section(help, "Positionals:")) {
            if (name == "csv") {
                args.push_back(dir_ + "/companies.csv");
            } else if (kPositionals.count(name) > 0) {
                args.push_back(kPositionals.at(name));
            } else if (help.find("  " + name + " TEXT REQUIRED") != std::string::npos) {
                ADD_FAILURE() << join(command) << ": the walk has no value for the positional '" << name
                              << "'";
            }
        }
        std::map<std::string, std::vector<std::string>> options = {
            {"--dry-run", {"--dry-run"}},
            {"--once", {"--once"}},
            {"--active", {"--active", "primary"}},
            {"--state-file", {"--state-file", dir_ + "/state-" + command.front() + ".json"}},
            {"--verify", {"--verify"}},
            {"-o,--output", {"-o", dir_ + "/out"}},
            {"--listen", {"--listen", "127.0.0.1:0"}},
            {"--repo", {"--repo", dir_ + "/backups"}},
        };
        for (const auto& [option, values] : options) {
            if (help.find("  " + option + " ") != std::string::npos) {
                args.insert(args.end(), values.begin(), values.end());
            }
        }
        std::istringstream lines(help);
        for (std::string line; std::getline(lines, line);) {
            bool option = line.rfind("  -", 0) == 0;
            bool given = std::any_of(options.begin(), options.end(), [&](const auto& entry) {
                return line.rfind("  " + entry.first + " ", 0) == 0;
            });
            if (option && !given && line.find("REQUIRED") != std::string::npos &&
                line.find("--file") == std::string::npos) {
                ADD_FAILURE() << join(command) << ": the walk has no value for the required option: " << line;
            }
        }
        return args;
    }

    std::string dir_;
};

TEST_F(CliRules, EverySubcommandTakesTheFleetFileAlikeAndFailsWithTheSameCodes) {
    auto leaves = leafCommands();
    ASSERT_GE(leaves.size(), 10u) << "the help lists fewer commands than the binary has";
    size_t with_file = 0, reached_for = 0;
    for (const auto& command : leaves) {
        SCOPED_TRACE(join(command));
        std::vector<std::string> help_args = command;
        help_args.push_back("--help");
        auto help = chfleet(help_args);
        ASSERT_EQ(help.exit_code, 0) << help.output;
        if (help.output.find("-f,--file") == std::string::npos) {
            continue;  // sandbox status/down/kill/start, sync status: they work on a directory or a state
                       // file
        }
        ++with_file;
        EXPECT_NE(help.output.find("(Env:CHFLEET_FILE)"), std::string::npos)
            << "-f must also come from CHFLEET_FILE";
        std::vector<std::string> args = arguments(command, help.output);

        auto with_flag = [&](const std::string& file) {
            std::vector<std::string> argv = args;
            argv.insert(argv.end(), {"-f", file});
            return chfleet(argv);
        };
        auto with_env = [&](const std::string& file) { return chfleet(args, {{"CHFLEET_FILE", file}}); };
        auto global = [&](const std::string& file) {
            std::vector<std::string> argv{"--log-level", "warn", "-f", file};
            argv.insert(argv.end(), args.begin(), args.end());
            return chfleet(argv);
        };

        std::string missing = dir_ + "/no-such-fleet.yaml";
        for (const auto& run : {with_flag(missing), with_env(missing), global(missing)}) {
            EXPECT_EQ(run.exit_code, 10) << run.output;
            EXPECT_NE(run.output.find("no-such-fleet.yaml"), std::string::npos) << "the error names the file";
        }
        for (const auto& run : {with_flag(dir_ + "/bad.yaml"), with_env(dir_ + "/bad.yaml")}) {
            EXPECT_EQ(run.exit_code, 4) << run.output;
            EXPECT_NE(run.output.find("bad.yaml:"), std::string::npos) << "the error says file:line";
        }
        if (command == std::vector<std::string>{"sandbox", "up"}) {
            continue;  // it starts the fleet's servers itself rather than reaching them
        }
        if (command == std::vector<std::string>{"exporter", "serve"}) {
            continue;  // serving clickhouse_up 0 for nodes that do not answer is its job (exporter scrape
                       // shows the same pass and is walked)
        }
        // Every server unreachable: 5, or 0 for a command that contacts none (topology check, config render).
        // A backup named on the command line is looked up in the (empty) repository before any server:
        // missing, it is a bad argument (2), whatever the servers.
        auto unreachable = with_flag(dir_ + "/fleet.yaml");
        if (unreachable.output.find("no backup named 'nightly'") != std::string::npos) {
            EXPECT_EQ(unreachable.exit_code, 2) << unreachable.output;
            continue;
        }
        EXPECT_TRUE(unreachable.exit_code == 5 || unreachable.exit_code == 0) << unreachable.exit_code << "\n"
                                                                              << unreachable.output;
        if (unreachable.exit_code == 5) {
            ++reached_for;
            EXPECT_EQ(with_env(dir_ + "/fleet.yaml").exit_code, 5);
        }
    }
    EXPECT_GE(with_file, 12u);
    // schema apply/diff, query, sync check/run, residency list/audit and ingest serve try to reach the
    // servers (residency set/import under --dry-run do not).
    EXPECT_GE(reached_for, 8u);
}

TEST_F(CliRules, GlobalOptionsBeforeTheSubcommand) {
    auto after = chfleet({"topology", "check", "-f", dir_ + "/fleet.yaml", "--log-level", "warn"});
    auto before = chfleet({"--log-level", "warn", "-f", dir_ + "/fleet.yaml", "topology", "check"});
    EXPECT_EQ(before.exit_code, 0) << before.output;
    EXPECT_EQ(before.output, after.output);
    EXPECT_NE(before.output.find("fleet walk"), std::string::npos) << before.output;

    auto unknown = chfleet({"--no-such-option", "topology", "check"});
    EXPECT_EQ(unknown.exit_code, 2);
    EXPECT_NE(unknown.output.find("--no-such-option"), std::string::npos) << unknown.output;
    auto no_value = chfleet({"--log-level"});
    EXPECT_EQ(no_value.exit_code, 2) << no_value.output;
    auto version = chfleet({"--version"});
    EXPECT_EQ(version.exit_code, 0);
    EXPECT_EQ(version.output.rfind("chfleet ", 0), 0u) << version.output;
}

}  // namespace
}  // namespace chfleet::testing
