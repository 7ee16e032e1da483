#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace chfleet::log {

/// A named logger per component ("sandbox", "schema", "clickhouse", ...), all writing to stderr
/// so that stdout carries only a subcommand's result (tables, JSON).
std::shared_ptr<spdlog::logger> get(const std::string& component);

/// Sets the level of every logger: trace, debug, info, warn, error, off.
void setLevel(const std::string& level);

}  // namespace chfleet::log
