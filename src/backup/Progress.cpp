#include "backup/Progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>

namespace chfleet::backup {

Progress::Progress(std::string what, uint64_t total_bytes, uint64_t total_files, bool enabled)
    : what_(std::move(what)),
      total_bytes_(total_bytes),
      total_files_(total_files),
      enabled_(enabled),
      start_(std::chrono::steady_clock::now()),
      printed_(start_) {}

Progress::~Progress() {
    if (enabled_) {
        std::lock_guard lock(mutex_);
        print(true);
    }
}

void Progress::fileDone(uint64_t bytes) {
    std::lock_guard lock(mutex_);
    bytes_ += bytes;
    ++files_;
    if (enabled_ && std::chrono::steady_clock::now() - printed_ >= std::chrono::seconds(1)) {
        print(false);
    }
}

void Progress::print(bool last) {
    auto now = std::chrono::steady_clock::now();
    printed_ = now;
    double seconds = std::chrono::duration<double>(now - start_).count();
    double rate = seconds > 0 ? static_cast<double>(bytes_) / seconds : 0;
    double eta = rate > 0 ? static_cast<double>(total_bytes_ - std::min(bytes_, total_bytes_)) / rate : 0;
    std::fprintf(
        stderr, "\r%s",
        fmt::format("{}: {:.1f}/{:.1f} MiB, {}/{} files, {:.1f} MiB/s, ETA {:.0f} s   ", what_,
                    bytes_ / 1048576.0, total_bytes_ / 1048576.0, files_, total_files_, rate / 1048576.0, eta)
            .c_str());
    if (last) {
        std::fprintf(stderr, "\n");
    }
}

bool progressWanted(bool json) {
    return !json && ::isatty(STDERR_FILENO) != 0;
}

}  // namespace chfleet::backup
