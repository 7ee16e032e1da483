#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace chfleet {

/// Entry function of a top-level subcommand: receives the arguments after its name, returns the exit code.
using CommandMain = int (*)(const std::vector<std::string>& args);

/// Parses `args` with `app`, applies the common options (--log-level, LOG_LEVEL), runs `body` and turns every
/// chfleet::Exception into a logged message and its exit code. The one place where subcommands catch.
/// `body` runs after parsing; the selected sub-subcommand is found through app.got_subcommand(...).
int runCommand(CLI::App& app, const std::vector<std::string>& args, const std::function<int()>& body);

/// True when --log-level was given on the command line (it then wins over any file's log level).
bool logLevelGivenOnCommandLine();

/// Adds the options every subcommand has (--log-level, --stall-timeout) to `app`.
void addCommonOptions(CLI::App& app);

/// The environment variable that gives the fleet file when -f is absent.
inline constexpr const char* kFleetFileVariable = "CHFLEET_FILE";

/// The environment variable (milliseconds) that --stall-timeout sets: how long a server may stay silent in
/// the middle of a statement before it counts as not answering (clickhouse::HttpEndpoint::stall_timeout).
inline constexpr const char* kStallTimeoutVariable = "CHFLEET_STALL_TIMEOUT_MS";

/// Adds `-f,--file FILE` (environment CHFLEET_FILE) to `command`: the one way every subcommand takes the
/// fleet file. Its existence is deliberately not checked here: loading it (topology::loadFleet) reports a
/// missing or unreadable file as IoError (exit 10) and an invalid one as InvalidConfig (exit 4), the same in
/// every subcommand. `required` false for a subcommand that also works without one (sync with a CH-Sync
/// .env).
CLI::Option* addFleetFileOption(CLI::App& command, std::string& file, bool required = true);

/// The exit code of work spread over servers, the same in every subcommand: 0 when nothing failed,
/// ConnectionFailed (5) when not one server could be reached, Failed (1) when some of the work failed.
int serversExitCode(size_t failed, size_t reached);

/// The arguments of main() as the dispatcher hands them on: global options written before the subcommand
/// (`chfleet --log-level debug -f fleet.yaml schema apply`) are accepted like the same options after it:
/// --log-level and --stall-timeout go to the subcommand's own parser, -f/--file sets CHFLEET_FILE (so it
/// reaches whichever sub-subcommand takes the fleet file). Throws Exception(BadArguments) for an unknown
/// global option or one without its value.
struct GlobalArguments {
    std::string subcommand;         ///< empty when none was given
    std::vector<std::string> args;  ///< what follows the subcommand, global options first
};
GlobalArguments splitGlobalArguments(const std::vector<std::string>& argv);

}  // namespace chfleet
