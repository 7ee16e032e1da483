#pragma once

#include <spdlog/sinks/ostream_sink.h>

#include <algorithm>
#include <memory>
#include <sstream>
#include <string>

#include "common/Log.h"

namespace chfleet::testing {

/// Captures what one component's logger writes ("<level> <message>" lines) while it lives.
class LogCapture {
  public:
    explicit LogCapture(const std::string& component = "sync")
        : component_(component), sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(stream_)) {
        sink_->set_pattern("%l %v");
        log::get(component_)->sinks().push_back(sink_);
    }
    ~LogCapture() {
        auto& sinks = log::get(component_)->sinks();
        sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
    }
    LogCapture(const LogCapture&) = delete;
    LogCapture& operator=(const LogCapture&) = delete;

    std::string text() const { return stream_.str(); }

    /// How many lines were logged at `level` ("info", "warning", ...).
    size_t count(const std::string& level) const {
        std::istringstream lines(stream_.str());
        size_t n = 0;
        for (std::string line; std::getline(lines, line);) {
            n += line.rfind(level + " ", 0) == 0 ? 1 : 0;
        }
        return n;
    }

  private:
    std::string component_;
    std::ostringstream stream_;
    std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
};

}  // namespace chfleet::testing
