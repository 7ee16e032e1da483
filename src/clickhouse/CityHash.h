#pragma once

#include <cstdint>
#include <string_view>
#include <utility>

namespace chfleet::clickhouse {

/// ClickHouse's cityHash64 of one String argument: CityHash64 as in CityHash 1.0.2, the version ClickHouse
/// keeps for compatibility (later CityHash releases give other values). Whoever places rows on shards without
/// asking the server (ingest routing, sync's shard checks) must hash exactly what the table's sharding key
/// hashes; tests compare this function with the server's own on many values.
uint64_t cityHash64(std::string_view data);

/// CityHash128 as in CityHash 1.0.2: the checksum of a block in ClickHouse's compression format, which the
/// server verifies before it reads the block. `first` is the low half, written first.
std::pair<uint64_t, uint64_t> cityHash128(std::string_view data);

/*
 * cityHash64 of arguments that are not one String, as ClickHouse's FunctionsHashing computes it (identical on
 * 18.16 and 26.5 wherever 18.16 accepts the argument; tests compare both engines on thousands of values):
 *
 * - String and FixedString(N): cityHash64 of the bytes (a FixedString's all N bytes, trailing zeros
 * included).
 * - Integers (UInt8..UInt64, Int8..Int64) and types stored as one (Date: UInt16 days, DateTime: UInt32
 *   seconds, Enum8/16: Int8/16): intHash64 of the value's own bytes zero-extended to 64 bits. The bytes, not
 *   the number: Int8 -1 hashes as UInt8 255 (0xFF), not as UInt64 0xFFFF...FF. See integerBits().
 * - UUID (26.5; 18.16 refuses with Code 43): cityHash64 of its 16 bytes in memory order, which is each half
 *   of the text (8 bytes each) as a little-endian UInt64. See cityHash64Uuid().
 * - Several arguments: the first argument's hash, then for each next one combined = Hash128to64(combined,
 *   next), CityHash's 128-to-64 bit mix. See cityHash64Combine().
 */

/// The intHash64 SQL function of a UInt64 argument; other integer arguments are converted to UInt64 first the
/// way C++ converts them (a signed value sign-extended: intHash64(toInt8(-1)) = intHash64(2^64 - 1)).
uint64_t intHash64(uint64_t value);

/// A `width_bytes`-byte integer's two's complement bytes, zero-extended to 64 bits: integerBits(-1, 1) =
/// 0xFF. What cityHash64 hashes for an integer argument, and what a Distributed table's selector divides for
/// a bare signed integer sharding key.
constexpr uint64_t integerBits(int64_t value, int width_bytes) {
    return width_bytes >= 8 ? static_cast<uint64_t>(value)
                            : static_cast<uint64_t>(value) & ((uint64_t{1} << (8 * width_bytes)) - 1);
}

/// cityHash64 of one integer argument whose bytes, zero-extended, are `bits` (see integerBits()).
uint64_t cityHash64Integer(uint64_t bits);

/// cityHash64 of one UUID argument; `high` and `low` are the numbers the first and the last 16 hex digits of
/// its text spell.
uint64_t cityHash64Uuid(uint64_t high, uint64_t low);

/// cityHash64(a1, ..., an, b) from cityHash64(a1, ..., an) and the hash of b as a single argument.
uint64_t cityHash64Combine(uint64_t combined, uint64_t next);

}  // namespace chfleet::clickhouse
