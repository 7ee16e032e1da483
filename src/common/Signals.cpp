#include "common/Signals.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <thread>

namespace chfleet::signals {

namespace {

std::atomic<bool> stop_flag{false};

void onStopSignal(int signal) {
    if (stop_flag.exchange(true)) {
        // Second signal: the operator insists.
        ::signal(signal, SIG_DFL);
        ::raise(signal);
    }
}

}  // namespace

void installStopHandlers() {
    struct sigaction action {};
    action.sa_handler = onStopSignal;
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGTERM, &action, nullptr);
    ::sigaction(SIGINT, &action, nullptr);
}

bool stopRequested() {
    return stop_flag.load();
}

bool sleepUnlessStopped(std::chrono::milliseconds duration) {
    auto deadline = std::chrono::steady_clock::now() + duration;
    while (std::chrono::steady_clock::now() < deadline) {
        if (stop_flag.load()) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return !stop_flag.load();
}

}  // namespace chfleet::signals
