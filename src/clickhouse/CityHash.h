#pragma once

#include <cstdint>
#include <string_view>

namespace chfleet::clickhouse {

/// ClickHouse's cityHash64 of one String argument: CityHash64 as in CityHash 1.0.2, the version ClickHouse
/// keeps for compatibility (later CityHash releases give other values). Whoever places rows on shards without
/// asking the server (ingest routing, sync's shard checks) must hash exactly what the table's sharding key
/// hashes; tests compare this function with the server's own on many values.
uint64_t cityHash64(std::string_view data);

}  // namespace chfleet::clickhouse
