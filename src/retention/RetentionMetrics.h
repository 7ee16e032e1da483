#pragma once

#include <string>
#include <string_view>

#include "retention/RetentionRun.h"

// A retention report as Prometheus metrics (chfleet_retention_*), in the text exposition format, for
// node_exporter's textfile collector or any scraper that reads a file: `retention run|status --metrics-file`.
namespace chfleet::retention {

/// The gauge the alert ChfleetRetentionStalled and the dashboard read, per site, region and table (seconds;
/// TableReport::overdue_seconds). `retention --metrics-file` writes it and `chfleet exporter` serves it.
inline constexpr std::string_view kOverdueSecondsMetric = "chfleet_retention_overdue_seconds";

/// The report's figures per site, region and table (horizon, oldest row, expired and waiting partitions,
/// stalled, last run, dropped) and per node (read or not, statements sent), as Prometheus text.
std::string metricsText(const RetentionReport& report);

}  // namespace chfleet::retention
