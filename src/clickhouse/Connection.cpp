#include "clickhouse/Connection.h"

#include <fmt/format.h>

#include <charconv>
#include <cstdlib>
#include <cstring>

#include "common/Command.h"

namespace chfleet::clickhouse {

std::string HttpEndpoint::describe() const {
    // An IPv6 address needs brackets so that the port stays distinguishable.
    if (host.find(':') != std::string::npos) {
        return fmt::format("[{}]:{}", host, port);
    }
    return fmt::format("{}:{}", host, port);
}

std::optional<std::chrono::milliseconds> HttpEndpoint::stallTimeoutOverride() {
    // Read at each endpoint's construction (cheap beside a connection): --stall-timeout sets the variable
    // while the command line is parsed, before any endpoint exists.
    const char* text = std::getenv(kStallTimeoutVariable);
    if (text == nullptr || *text == '\0') {
        return std::nullopt;
    }
    int64_t ms = 0;
    const char* end = text + std::strlen(text);
    auto [at, error] = std::from_chars(text, end, ms);
    if (error != std::errc() || at != end || ms < 0) {
        return std::nullopt;
    }
    return std::chrono::milliseconds(ms);
}

}  // namespace chfleet::clickhouse
