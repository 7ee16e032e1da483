#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace chfleet::clickhouse {

/*
 * An INSERT body that ClickHouse takes whole or not at all.
 *
 * ClickHouse 18.16 writes the rows of an INSERT whose body ends early: when the connection drops mid-body
 * (the sender killed, a timeout, a reset), with chunked transfer as with a Content-Length never reached, the
 * server takes the end of what arrived for the end of the data and commits the complete rows read so far (see
 * tests/integration/ingest/WholeBodyTest.cpp). The sender then retries the whole batch, and the rows of the
 * first attempt stay as duplicates that block deduplication cannot recognize: the blocks differ.
 *
 * Sent with the URL parameter decompress=1 as one block of ClickHouse's compression format, a body that ends
 * early is a block shorter than its header says, and the server refuses the INSERT ("Cannot read all data")
 * without writing anything. The block is stored, not compressed (method NONE): a 16-byte checksum
 * (CityHash128 of the rest), the method byte, the block's size with its 9-byte header, the data's size, then
 * the data as it is.
 */

/// The URL parameter that tells the server the body is in the compression format.
inline constexpr const char* kDecompressParameter = "decompress";

/// The largest data one block carries (the server refuses larger blocks as corrupted).
inline constexpr size_t kMaxWholeBodyData = (size_t{1} << 30) - 9;

/// `parts`, one after the other, framed as one stored block (the only copy of the data made: the checksum
/// needs it in one piece). Throws Exception(BadArguments) when they exceed kMaxWholeBodyData.
std::string wholeBody(std::span<const std::string_view> parts);
inline std::string wholeBody(std::string_view data) {
    return wholeBody(std::span<const std::string_view>(&data, 1));
}

}  // namespace chfleet::clickhouse
