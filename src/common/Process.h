#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace chfleet::process {

/// Starts `argv` as a daemon: in its own session, not a child of this process (double fork), so it outlives
/// chfleet and never becomes a zombie of ours. stdout and stderr go to `log_path` (appended), stdin is
/// /dev/null. `env` entries are added to this process's environment. Returns the daemon's pid; throws
/// Exception(SandboxFailed) naming the program when it cannot be executed.
pid_t spawnDetached(const std::vector<std::string>& argv, const std::string& log_path, const std::string& cwd,
                    const std::map<std::string, std::string>& env = {});

/// True when `pid` is a live (not zombie) process whose command line contains `marker` (a path only this
/// process was given). The marker protects against pid reuse: a pid is never signalled unless it matches.
bool isRunning(pid_t pid, const std::string& marker);

/// Resident set size in bytes, 0 when the process is gone.
uint64_t residentBytes(pid_t pid);

/// Sends `signal` to `pid` if isRunning(pid, marker). Returns whether it was sent.
bool signalIfRunning(pid_t pid, const std::string& marker, int signal);

/// SIGTERM, then SIGKILL after `grace`; returns once the process is gone (or after a final 5 s).
void stop(pid_t pid, const std::string& marker, std::chrono::milliseconds grace);

/// Result of a finished child.
struct Finished {
    int exit_code = -1;  ///< exit status, or 128 + signal number
    std::string output;  ///< stdout and stderr interleaved
};

/// How long run() lets a child take by default: far more than any command of the tests needs, and bounded,
/// so that a hung child fails its test instead of holding the caller (and the servers of its fixture)
/// forever.
inline constexpr std::chrono::minutes kDefaultRunTimeout{10};

/// Runs `argv` (no shell) to completion with stdin from `input`, capturing stdout+stderr.
/// `env` entries are added to (or replace in) this process's environment. A child still running after
/// `timeout` is killed with its process group (exit code 128 + SIGKILL) and the output says so.
Finished run(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {},
             const std::string& input = {}, std::chrono::milliseconds timeout = kDefaultRunTimeout);

}  // namespace chfleet::process
