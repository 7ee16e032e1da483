#pragma once

#include <openssl/types.h>
#include <xxhash.h>

#include <string>
#include <string_view>

namespace chfleet {

/// Lower-case hex SHA-256 of `text` (ClickHouse's <password_sha256_hex>, the fleet file's password hashes).
std::string sha256Hex(std::string_view text);

/// SHA-256 of a stream (backup manifests: every file's digest, as tools outside chfleet can check it).
class Sha256Stream {
  public:
    Sha256Stream();
    ~Sha256Stream();
    Sha256Stream(const Sha256Stream&) = delete;
    Sha256Stream& operator=(const Sha256Stream&) = delete;
    void add(std::string_view data);
    /// 64 lower-case hex digits; the stream cannot be added to afterwards.
    std::string hex();

  private:
    EVP_MD_CTX* context_;
};

/// A 128-bit XXH3 digest of a stream, for identifying content (not for secrets): it runs at memory speed,
/// where SHA-256 costs ~3 ms per MB on a core without SHA instructions. Like ClickHouse's SipHash128 block
/// ids, it tells apart different data by accident with certainty, not against someone forging a collision.
class StreamDigest {
  public:
    StreamDigest();
    ~StreamDigest();
    StreamDigest(const StreamDigest&) = delete;
    StreamDigest& operator=(const StreamDigest&) = delete;

    void add(std::string_view data);
    /// A field preceded by its length, so that ("ab","c") and ("a","bc") differ.
    void addField(std::string_view field);
    /// 32 lower-case hex digits.
    std::string hex() const;

  private:
    XXH3_state_t* state_;
};

}  // namespace chfleet
