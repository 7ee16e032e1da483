#include "common/Log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <mutex>

#include "common/Exception.h"

namespace chfleet::log {

namespace {
std::mutex registry_mutex;
spdlog::level::level_enum current_level = spdlog::level::info;
}  // namespace

std::shared_ptr<spdlog::logger> get(const std::string& component) {
    std::lock_guard lock(registry_mutex);
    if (auto existing = spdlog::get(component)) {
        return existing;
    }
    auto logger = spdlog::stderr_color_mt(component);
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ [%n] %v");
    logger->set_level(current_level);
    return logger;
}

void setLevel(const std::string& level) {
    auto parsed = spdlog::level::from_str(level);
    if (parsed == spdlog::level::off && level != "off") {
        throw Exception(ErrorCode::BadArguments,
                        "unknown log level '{}' (trace, debug, info, warn, error, off)", level);
    }
    std::lock_guard lock(registry_mutex);
    current_level = parsed;
    spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& logger) { logger->set_level(parsed); });
}

}  // namespace chfleet::log
