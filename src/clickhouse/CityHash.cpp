#include "clickhouse/CityHash.h"

#include <cstddef>
#include <cstring>
#include <utility>

namespace chfleet::clickhouse {

namespace {

// The mixing constants of CityHash.
constexpr uint64_t k0 = 0xc3a5c85c97cb3127ULL;
constexpr uint64_t k1 = 0xb492b66fbe98f273ULL;
constexpr uint64_t k2 = 0x9ae16a3b2f90404fULL;
constexpr uint64_t k3 = 0xc949d7c7509e6557ULL;

uint64_t fetch64(const char* p) {
    uint64_t value;
    std::memcpy(&value, p, sizeof(value));  // little-endian machines only, as ClickHouse itself
    return value;
}

uint32_t fetch32(const char* p) {
    uint32_t value;
    std::memcpy(&value, p, sizeof(value));
    return value;
}

uint64_t rotate(uint64_t value, int shift) {
    return shift == 0 ? value : (value >> shift) | (value << (64 - shift));
}

uint64_t rotateByAtLeast1(uint64_t value, int shift) {
    return (value >> shift) | (value << (64 - shift));
}

uint64_t shiftMix(uint64_t value) {
    return value ^ (value >> 47);
}

uint64_t hashLen16(uint64_t u, uint64_t v) {
    constexpr uint64_t kMultiplier = 0x9ddfea08eb382d69ULL;
    uint64_t a = (u ^ v) * kMultiplier;
    a ^= (a >> 47);
    uint64_t b = (v ^ a) * kMultiplier;
    b ^= (b >> 47);
    return b * kMultiplier;
}

uint64_t hashLen0to16(const char* s, size_t len) {
    if (len > 8) {
        uint64_t a = fetch64(s);
        uint64_t b = fetch64(s + len - 8);
        return hashLen16(a, rotateByAtLeast1(b + len, static_cast<int>(len))) ^ b;
    }
    if (len >= 4) {
        uint64_t a = fetch32(s);
        return hashLen16(len + (a << 3), fetch32(s + len - 4));
    }
    if (len > 0) {
        auto a = static_cast<uint8_t>(s[0]);
        auto b = static_cast<uint8_t>(s[len >> 1]);
        auto c = static_cast<uint8_t>(s[len - 1]);
        uint32_t y = static_cast<uint32_t>(a) + (static_cast<uint32_t>(b) << 8);
        uint32_t z = static_cast<uint32_t>(len) + (static_cast<uint32_t>(c) << 2);
        return shiftMix(y * k2 ^ z * k3) * k2;
    }
    return k2;
}

uint64_t hashLen17to32(const char* s, size_t len) {
    uint64_t a = fetch64(s) * k1;
    uint64_t b = fetch64(s + 8);
    uint64_t c = fetch64(s + len - 8) * k2;
    uint64_t d = fetch64(s + len - 16) * k0;
    return hashLen16(rotate(a - b, 43) + rotate(c, 30) + d, a + rotate(b ^ k3, 20) - c + len);
}

std::pair<uint64_t, uint64_t> weakHashLen32WithSeeds(uint64_t w, uint64_t x, uint64_t y, uint64_t z,
                                                     uint64_t a, uint64_t b) {
    a += w;
    b = rotate(b + a + z, 21);
    uint64_t c = a;
    a += x;
    a += y;
    b += rotate(a, 44);
    return {a + z, b + c};
}

std::pair<uint64_t, uint64_t> weakHashLen32WithSeeds(const char* s, uint64_t a, uint64_t b) {
    return weakHashLen32WithSeeds(fetch64(s), fetch64(s + 8), fetch64(s + 16), fetch64(s + 24), a, b);
}

/// One 64-byte round of the loop over long inputs, the same in CityHash64 and CityHash128: mixes the chunk at
/// `s` into the state (x, y, z, v, w) and moves `s` past it.
void longRound(const char*& s, uint64_t& x, uint64_t& y, uint64_t& z, std::pair<uint64_t, uint64_t>& v,
               std::pair<uint64_t, uint64_t>& w) {
    x = rotate(x + y + v.first + fetch64(s + 16), 37) * k1;
    y = rotate(y + v.second + fetch64(s + 48), 42) * k1;
    x ^= w.second;
    y ^= v.first;
    z = rotate(z ^ w.first, 33);
    v = weakHashLen32WithSeeds(s, v.second * k1, x + w.first);
    w = weakHashLen32WithSeeds(s + 32, z + w.second, y);
    std::swap(z, x);
    s += 64;
}

uint64_t hashLen33to64(const char* s, size_t len) {
    uint64_t z = fetch64(s + 24);
    uint64_t a = fetch64(s) + (len + fetch64(s + len - 16)) * k0;
    uint64_t b = rotate(a + z, 52);
    uint64_t c = rotate(a, 37);
    a += fetch64(s + 8);
    c += rotate(a, 7);
    a += fetch64(s + 16);
    uint64_t vf = a + z;
    uint64_t vs = b + rotate(a, 31) + c;
    a = fetch64(s + 16) + fetch64(s + len - 32);
    z = fetch64(s + len - 8);
    b = rotate(a + z, 52);
    c = rotate(a, 37);
    a += fetch64(s + len - 24);
    c += rotate(a, 7);
    a += fetch64(s + len - 16);
    uint64_t wf = a + z;
    uint64_t ws = b + rotate(a, 31) + c;
    uint64_t r = shiftMix((vf + ws) * k2 + (wf + vs) * k0);
    return shiftMix(r * k0 + vs) * k2;
}

using Hash128 = std::pair<uint64_t, uint64_t>;  // low, high

// CityHash128 of inputs under 128 bytes (CityHash 1.0.2's CityMurmur).
Hash128 cityMurmur(const char* s, size_t len, Hash128 seed) {
    uint64_t a = seed.first;
    uint64_t b = seed.second;
    uint64_t c = 0;
    uint64_t d = 0;
    if (len <= 16) {
        a = shiftMix(a * k1) * k1;
        c = b * k1 + hashLen0to16(s, len);
        d = shiftMix(a + (len >= 8 ? fetch64(s) : c));
    } else {
        c = hashLen16(fetch64(s + len - 8) + k1, a);
        d = hashLen16(b + len, c + fetch64(s + len - 16));
        a += d;
        auto left = static_cast<std::ptrdiff_t>(len) - 16;
        do {
            a ^= shiftMix(fetch64(s) * k1) * k1;
            a *= k1;
            b ^= a;
            c ^= shiftMix(fetch64(s + 8) * k1) * k1;
            c *= k1;
            d ^= c;
            s += 16;
            left -= 16;
        } while (left > 0);
    }
    a = hashLen16(a, c);
    b = hashLen16(d, b);
    return {a ^ b, hashLen16(b, a)};
}

Hash128 cityHash128WithSeed(const char* s, size_t len, Hash128 seed) {
    if (len < 128) {
        return cityMurmur(s, len, seed);
    }
    // 128 bytes at a time with 56 bytes of state (v, w, x, y, z), then the last 0 to 127 bytes from the end.
    uint64_t x = seed.first;
    uint64_t y = seed.second;
    uint64_t z = len * k1;
    std::pair<uint64_t, uint64_t> v;
    std::pair<uint64_t, uint64_t> w;
    v.first = rotate(y ^ k1, 49) * k1 + fetch64(s);
    v.second = rotate(v.first, 42) * k1 + fetch64(s + 8);
    w.first = rotate(y + z, 35) * k1 + x;
    w.second = rotate(x + fetch64(s + 88), 53) * k1;
    do {
        longRound(s, x, y, z, v, w);
        longRound(s, x, y, z, v, w);
        len -= 128;
    } while (len >= 128);
    y += rotate(w.first, 37) * k0 + z;
    x += rotate(v.first + z, 49) * k0;
    for (size_t tail_done = 0; tail_done < len;) {
        tail_done += 32;
        y = rotate(y - x, 42) * k0 + v.second;
        w.first += fetch64(s + len - tail_done + 16);
        x = rotate(x, 49) * k0 + w.first;
        w.first += v.first;
        v = weakHashLen32WithSeeds(s + len - tail_done, v.first, v.second);
    }
    x = hashLen16(x, v.first);
    y = hashLen16(y, w.first);
    return {hashLen16(x + v.second, w.second) + y, hashLen16(x + w.second, y + v.second)};
}

// ClickHouse's intHash64: MurmurHash3's 64-bit finalizer.
uint64_t murmurFinalizer(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

}  // namespace

uint64_t intHash64(uint64_t value) {
    // The SQL function mixes a fixed seed in before the finalizer.
    return murmurFinalizer(value ^ 0x4cf2d2baae6da887ULL);
}

uint64_t cityHash64Integer(uint64_t bits) {
    return intHash64(bits);
}

uint64_t cityHash64Uuid(uint64_t high, uint64_t low) {
    char bytes[16];
    std::memcpy(bytes, &high, sizeof(high));  // little-endian machines only, as ClickHouse itself
    std::memcpy(bytes + 8, &low, sizeof(low));
    return cityHash64(std::string_view(bytes, sizeof(bytes)));
}

uint64_t cityHash64Combine(uint64_t combined, uint64_t next) {
    return hashLen16(combined, next);  // CityHash's Hash128to64 of the pair (low = combined, high = next)
}

uint64_t cityHash64(std::string_view data) {
    const char* s = data.data();
    size_t len = data.size();
    if (len <= 16) {
        return hashLen0to16(s, len);
    }
    if (len <= 32) {
        return hashLen17to32(s, len);
    }
    if (len <= 64) {
        return hashLen33to64(s, len);
    }
    // Longer strings: the end is hashed first, then 64-byte chunks with 56 bytes of state (v, w, x, y, z).
    uint64_t x = fetch64(s);
    uint64_t y = fetch64(s + len - 16) ^ k1;
    uint64_t z = fetch64(s + len - 56) ^ k0;
    auto v = weakHashLen32WithSeeds(s + len - 64, len, y);
    auto w = weakHashLen32WithSeeds(s + len - 32, len * k1, k0);
    z += shiftMix(v.second) * k1;
    x = rotate(z + x, 39) * k1;
    y = rotate(y, 33) * k1;
    len = (len - 1) & ~static_cast<size_t>(63);
    do {
        longRound(s, x, y, z, v, w);
        len -= 64;
    } while (len != 0);
    return hashLen16(hashLen16(v.first, w.first) + shiftMix(y) * k1 + z, hashLen16(v.second, w.second) + x);
}

std::pair<uint64_t, uint64_t> cityHash128(std::string_view data) {
    const char* s = data.data();
    size_t len = data.size();
    if (len >= 16) {
        return cityHash128WithSeed(s + 16, len - 16, {fetch64(s) ^ k3, fetch64(s + 8)});
    }
    if (len >= 8) {
        return cityHash128WithSeed(nullptr, 0, {fetch64(s) ^ (len * k0), fetch64(s + len - 8) ^ k1});
    }
    return cityHash128WithSeed(s, len, {k0, k1});
}

}  // namespace chfleet::clickhouse
