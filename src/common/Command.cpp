#include "common/Command.h"

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
    app.require_subcommand(0, 1);
    app.fallthrough();  // --log-level also after a sub-subcommand: `chfleet sandbox down --log-level warn`
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
