#include "clickhouse/Connection.h"

#include <fmt/format.h>

namespace chfleet::clickhouse {

std::string HttpEndpoint::describe() const {
    // An IPv6 address needs brackets so that the port stays distinguishable.
    if (host.find(':') != std::string::npos) {
        return fmt::format("[{}]:{}", host, port);
    }
    return fmt::format("{}:{}", host, port);
}

}  // namespace chfleet::clickhouse
