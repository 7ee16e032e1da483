#include "clickhouse/WholeBody.h"

#include <cstdint>
#include <cstring>

#include "clickhouse/CityHash.h"
#include "common/Exception.h"

namespace chfleet::clickhouse {

namespace {

constexpr size_t kChecksumBytes = 16;
constexpr size_t kHeaderBytes = 9;
constexpr uint8_t kMethodNone = 0x02;

void storeLittleEndian(char* at, uint64_t value, size_t bytes) {
    for (size_t i = 0; i < bytes; ++i) {
        at[i] = static_cast<char>((value >> (8 * i)) & 0xff);
    }
}

}  // namespace

std::string wholeBody(std::span<const std::string_view> parts) {
    size_t size = 0;
    for (auto part : parts) {
        size += part.size();
    }
    if (size > kMaxWholeBodyData) {
        throw Exception(ErrorCode::BadArguments,
                        "an INSERT body of {} bytes is over the {} bytes one compressed block may carry",
                        size, kMaxWholeBodyData);
    }
    std::string body(kChecksumBytes + kHeaderBytes + size, '\0');
    char* block = body.data() + kChecksumBytes;
    block[0] = static_cast<char>(kMethodNone);
    storeLittleEndian(block + 1, kHeaderBytes + size, 4);
    storeLittleEndian(block + 5, size, 4);
    char* at = block + kHeaderBytes;
    for (auto part : parts) {
        std::memcpy(at, part.data(), part.size());
        at += part.size();
    }
    auto [low, high] = cityHash128(std::string_view(block, kHeaderBytes + size));
    storeLittleEndian(body.data(), low, 8);
    storeLittleEndian(body.data() + 8, high, 8);
    return body;
}

}  // namespace chfleet::clickhouse
