#include "common/Digest.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <new>

#include "common/Exception.h"

namespace chfleet {

namespace {

std::string hexOf(const unsigned char* digest, unsigned int length) {
    std::string hex;
    for (unsigned int i = 0; i < length; ++i) {
        hex += fmt::format("{:02x}", digest[i]);
    }
    return hex;
}

}  // namespace

std::string sha256Hex(std::string_view text) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
        throw Exception(ErrorCode::Failed, "OpenSSL could not compute a SHA-256 digest");
    }
    return hexOf(digest, length);
}

Sha256Stream::Sha256Stream() : context_(EVP_MD_CTX_new()) {
    if (context_ == nullptr || EVP_DigestInit_ex(context_, EVP_sha256(), nullptr) != 1) {
        EVP_MD_CTX_free(context_);
        throw Exception(ErrorCode::Failed, "OpenSSL could not start a SHA-256 digest");
    }
}

Sha256Stream::~Sha256Stream() {
    EVP_MD_CTX_free(context_);
}

void Sha256Stream::add(std::string_view data) {
    if (EVP_DigestUpdate(context_, data.data(), data.size()) != 1) {
        throw Exception(ErrorCode::Failed, "OpenSSL could not compute a SHA-256 digest");
    }
}

std::string Sha256Stream::hex() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_DigestFinal_ex(context_, digest, &length) != 1) {
        throw Exception(ErrorCode::Failed, "OpenSSL could not compute a SHA-256 digest");
    }
    return hexOf(digest, length);
}

StreamDigest::StreamDigest() : state_(XXH3_createState()) {
    if (state_ == nullptr) {
        throw std::bad_alloc();
    }
    XXH3_128bits_reset(state_);
}

StreamDigest::~StreamDigest() {
    XXH3_freeState(state_);
}

void StreamDigest::add(std::string_view data) {
    XXH3_128bits_update(state_, data.data(), data.size());
}

void StreamDigest::addField(std::string_view field) {
    std::string length = fmt::format("{}:", field.size());
    add(length);
    add(field);
}

std::string StreamDigest::hex() const {
    XXH128_hash_t hash = XXH3_128bits_digest(state_);
    return fmt::format("{:016x}{:016x}", hash.high64, hash.low64);
}

}  // namespace chfleet
