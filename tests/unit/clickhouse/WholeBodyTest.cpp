#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "clickhouse/CityHash.h"
#include "clickhouse/WholeBody.h"

namespace {

namespace ch = chfleet::clickhouse;

uint64_t littleEndian(const std::string& bytes, size_t at, size_t width) {
    uint64_t value = 0;
    for (size_t i = 0; i < width; ++i) {
        value |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[at + i])) << (8 * i);
    }
    return value;
}

// The layout ClickHouse reads (its server checks the checksum: tests/integration/ingest/WholeBodyTest.cpp):
// checksum (low, high), method byte, block size with its 9-byte header, data size, data.
TEST(WholeBody, IsOneStoredBlockWithItsChecksumAndSizes) {
    std::string data = "1\tone\n2\ttwo\n";
    std::string body = ch::wholeBody(data);
    ASSERT_EQ(body.size(), 16 + 9 + data.size());
    EXPECT_EQ(static_cast<unsigned char>(body[16]), 0x02);  // method NONE: stored as it is
    EXPECT_EQ(littleEndian(body, 17, 4), 9 + data.size());
    EXPECT_EQ(littleEndian(body, 21, 4), data.size());
    EXPECT_EQ(body.substr(25), data);
    auto [low, high] = ch::cityHash128(std::string_view(body).substr(16));
    EXPECT_EQ(littleEndian(body, 0, 8), low);
    EXPECT_EQ(littleEndian(body, 8, 8), high);
}

TEST(WholeBody, AnEmptyBodyIsAnEmptyBlock) {
    std::string body = ch::wholeBody("");
    ASSERT_EQ(body.size(), 25u);
    EXPECT_EQ(littleEndian(body, 17, 4), 9u);
    EXPECT_EQ(littleEndian(body, 21, 4), 0u);
}

}  // namespace
