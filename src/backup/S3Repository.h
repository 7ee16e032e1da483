#pragma once

#include "backup/Repository.h"

namespace chfleet::backup {

/// An S3-compatible bucket (AWS, MinIO, s3rver...) addressed path-style (endpoint/bucket/key). Requests are
/// signed by libcurl's own AWS SigV4 (CURLOPT_AWS_SIGV4); chfleet sends x-amz-content-sha256 itself (libcurl
/// 7.88 does not) as UNSIGNED-PAYLOAD. Files larger than kMultipartThreshold go up as a multipart upload,
/// which becomes visible only when completed: an interrupted upload leaves no object. The keys never carry a
/// credential, and the secret is only handed to libcurl.
class S3Repository final : public Repository {
  public:
    static constexpr uint64_t kPartSize = 8ull << 20;
    static constexpr uint64_t kMultipartThreshold = kPartSize;

    S3Repository(RepositorySpec spec, std::string access_key, std::string secret_key);

    std::string describe() const override;
    bool exists(const std::string& key) override;
    std::optional<uint64_t> sizeOf(const std::string& key) override;
    void putFile(const std::string& key, const std::string& local_path) override;
    void putText(const std::string& key, std::string_view content) override;
    std::string getText(const std::string& key) override;
    void getFile(const std::string& key, const std::string& local_path) override;
    std::vector<ObjectInfo> list(const std::string& prefix) override;
    void remove(const std::string& key) override;

  private:
    struct Response {
        long status = 0;
        std::string body;
        std::string etag;
        int64_t length = -1;  ///< Content-Length of the answer (HEAD: the object's size)
    };
    /// One signed request on `key` (the bucket itself when empty). `query` is already encoded; the body is
    /// `body` or, when `file` is set, `length` bytes of it from `offset`; a GET's body goes to `sink` when
    /// set.
    Response request(const std::string& method, const std::string& key, const std::string& query,
                     std::string_view body, std::FILE* file = nullptr, uint64_t offset = 0,
                     uint64_t length = 0, std::FILE* sink = nullptr);
    std::string urlFor(const std::string& key, const std::string& query) const;
    [[noreturn]] void fail(const std::string& what, const std::string& key, const Response& response) const;
    void putMultipart(const std::string& key, std::FILE* file, uint64_t size);

    RepositorySpec spec_;
    std::string user_password_;  ///< "access:secret" for CURLOPT_USERPWD
};

}  // namespace chfleet::backup
