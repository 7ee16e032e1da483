#include "topology/NodeConnection.h"

#include "clickhouse/HttpConnection.h"
#include "topology/NetworkSection.h"

namespace chfleet::topology {

clickhouse::HttpEndpoint endpointFor(const Fleet& fleet, const Node& node) {
    clickhouse::HttpEndpoint endpoint;
    endpoint.host = node.host;
    endpoint.port = node.http_port;
    endpoint.stall_timeout = clickhouse::HttpEndpoint::stallTimeoutOverride().value_or(
        std::chrono::seconds(networkPolicy(fleet).stall_timeout_seconds));
    endpoint.credentials.user = fleet.credentials.user;
    if (!fleet.credentials.password.empty()) {
        endpoint.credentials.password = fleet.credentials.password.resolve();
    }
    return endpoint;
}

std::unique_ptr<clickhouse::Connection> connectTo(const Fleet& fleet, const Node& node) {
    return std::make_unique<clickhouse::HttpConnection>(endpointFor(fleet, node));
}

}  // namespace chfleet::topology
