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

/// Adds the options every subcommand has (--log-level) to `app`.
void addCommonOptions(CLI::App& app);

}  // namespace chfleet
