#include "common/Command.h"

#include <cmath>
#include <cstdlib>
#include <iostream>

#include "common/Exception.h"
#include "common/Log.h"

namespace chfleet {

namespace {
std::string log_level_option;
CLI::Option* log_level_flag = nullptr;
}  // namespace

bool logLevelGivenOnCommandLine() {
    return log_level_flag != nullptr && log_level_flag->count() > 0;
}

void addCommonOptions(CLI::App& app) {
    log_level_flag =
        app.add_option("--log-level", log_level_option,
                       "trace, debug, info, warn, error or off (default info; environment LOG_LEVEL)")
            ->envname("LOG_LEVEL");
    app.add_option_function<double>(
           "--stall-timeout",
           [](double seconds) {
               ::setenv(kStallTimeoutVariable, std::to_string(std::llround(seconds * 1000)).c_str(), 1);
           },
           "seconds a server may stay silent in the middle of a statement (a frozen host, dropped packets) "
           "before it counts as not answering; 0 turns the watch off (default: the fleet file's "
           "network.stall_timeout_seconds, else 30; environment CHFLEET_STALL_TIMEOUT_MS in ms)")
        ->check(CLI::Range(0.0, 86400.0))
        ->type_name("SECONDS");
    app.require_subcommand(0, 1);
    app.fallthrough();  // --log-level also after a sub-subcommand: `chfleet sandbox down --log-level warn`
}

CLI::Option* addFleetFileOption(CLI::App& command, std::string& file, bool required) {
    auto* option = command.add_option("-f,--file", file,
                                      "the fleet file (YAML; reference: docs/fleet-file.md); environment "
                                      "CHFLEET_FILE");
    option->envname(kFleetFileVariable);
    if (required) {
        option->required();
    }
    return option;
}

int serversExitCode(size_t failed, size_t reached) {
    if (failed == 0) {
        return 0;
    }
    return static_cast<int>(reached == 0 ? ErrorCode::ConnectionFailed : ErrorCode::Failed);
}

GlobalArguments splitGlobalArguments(const std::vector<std::string>& argv) {
    GlobalArguments result;
    std::vector<std::string> global;
    size_t i = 0;
    auto value = [&](const std::string& option) {
        if (i + 1 >= argv.size()) {
            throw Exception(ErrorCode::BadArguments, "{} needs a value", option);
        }
        return argv[++i];
    };
    for (; i < argv.size() && argv[i].starts_with("-"); ++i) {
        const std::string& arg = argv[i];
        if (arg == "--log-level" || arg == "--stall-timeout") {
            global.push_back(arg);
            global.push_back(value(arg));
        } else if (arg.starts_with("--log-level=") || arg.starts_with("--stall-timeout=")) {
            global.push_back(arg);
        } else if (arg == "-f" || arg == "--file") {
            ::setenv(kFleetFileVariable, value(arg).c_str(), 1);
        } else if (arg.starts_with("--file=")) {
            ::setenv(kFleetFileVariable, arg.substr(7).c_str(), 1);
        } else {
            throw Exception(ErrorCode::BadArguments,
                            "unknown option {} before the subcommand (global options: --log-level LEVEL, "
                            "--stall-timeout SECONDS, -f FILE; --help, --version)",
                            arg);
        }
    }
    if (i < argv.size()) {
        result.subcommand = argv[i++];
    }
    result.args = std::move(global);
    result.args.insert(result.args.end(), argv.begin() + static_cast<long>(i), argv.end());
    return result;
}

int runCommand(CLI::App& app, const std::vector<std::string>& args, const std::function<int()>& body) {
    try {
        // CLI11 parses a reversed vector (it pops from the back).
        std::vector<std::string> reversed(args.rbegin(), args.rend());
        app.parse(reversed);
    } catch (const CLI::ParseError& e) {
        int code = app.exit(e);
        return code == 0 ? 0 : static_cast<int>(ErrorCode::BadArguments);
    }
    try {
        if (!log_level_option.empty()) {
            log::setLevel(log_level_option);
        }
        return body();
    } catch (const Exception& e) {
        log::get("chfleet")->error("{}", e.what());
        return static_cast<int>(e.code());
    } catch (const std::exception& e) {
        log::get("chfleet")->error("internal error: {}", e.what());
        return static_cast<int>(ErrorCode::Failed);
    }
}

}  // namespace chfleet
