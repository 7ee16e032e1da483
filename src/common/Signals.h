#pragma once

#include <chrono>

namespace chfleet::signals {

/// Makes SIGTERM and SIGINT set a flag instead of killing the process, so a daemon stops between steps (never
/// in the middle of one). A second signal of either kind ends the process at once.
void installStopHandlers();

/// True once SIGTERM or SIGINT arrived.
bool stopRequested();

/// Sleeps up to `duration`, returning early (false) when a stop is requested.
bool sleepUnlessStopped(std::chrono::milliseconds duration);

}  // namespace chfleet::signals
