#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace chfleet::backup {

/// Progress of a long transfer on stderr (bytes and files done, rate, ETA), at most once a second, only when
/// enabled (a terminal and no --json). Thread-safe: workers report as they finish files.
class Progress {
  public:
    Progress(std::string what, uint64_t total_bytes, uint64_t total_files, bool enabled);
    ~Progress();
    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;
    void fileDone(uint64_t bytes);

  private:
    void print(bool last);

    std::string what_;
    uint64_t total_bytes_;
    uint64_t total_files_;
    bool enabled_;
    std::chrono::steady_clock::time_point start_;
    std::chrono::steady_clock::time_point printed_;
    std::mutex mutex_;
    uint64_t bytes_ = 0;
    uint64_t files_ = 0;
};

/// Whether progress lines are wanted: stderr is a terminal and the output is not JSON.
bool progressWanted(bool json);

}  // namespace chfleet::backup
