#pragma once

#include <memory>

#include "clickhouse/Connection.h"
#include "topology/Fleet.h"

namespace chfleet::topology {

/// The HTTP endpoint of a node with the fleet's credentials (the password read from its reference once).
clickhouse::HttpEndpoint endpointFor(const Fleet& fleet, const Node& node);

/// A connection to a node's HTTP interface with the fleet's credentials.
std::unique_ptr<clickhouse::Connection> connectTo(const Fleet& fleet, const Node& node);

}  // namespace chfleet::topology
