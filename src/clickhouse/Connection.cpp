#include "clickhouse/Connection.h"

#include <fmt/format.h>

#include <charconv>
#include <cstdlib>
#include <cstring>

namespace chfleet::clickhouse {

std::string HttpEndpoint::describe() const {
    // An IPv6 address needs brackets so that the port stays distinguishable.
    if (host.find(':') != std::string::npos) {
        return fmt::format("[{}]:{}", host, port);
    }
    return fmt::format("{}:{}", host, port);
}

std::chrono::milliseconds HttpEndpoint::defaultStallTimeout() {
    static const std::chrono::milliseconds value = [] {
        constexpr std::chrono::milliseconds kDefault{30000};
        const char* text = std::getenv("CHFLEET_STALL_TIMEOUT_MS");
        if (text == nullptr || *text == '\0') {
            return kDefault;
        }
        int64_t ms = 0;
        const char* end = text + std::strlen(text);
        auto [at, error] = std::from_chars(text, end, ms);
        return error == std::errc() && at == end && ms >= 0 ? std::chrono::milliseconds(ms) : kDefault;
    }();
    return value;
}

}  // namespace chfleet::clickhouse
