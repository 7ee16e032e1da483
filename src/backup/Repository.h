#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "backup/BackupSection.h"

// Where backups are kept: a folder or an S3-compatible bucket, seen as a flat store of objects by key.
//
// Layout of a repository (keys relative to its root or prefix):
//   blobs/<aa>/<sha256>                      one file of a part, by the SHA-256 of its content; shared by
//   every
//                                            backup that holds the same file (incremental by immutable part)
//   backups/<name>/<region>/started.json     written first: a backup of this region is under way or died
//   backups/<name>/<region>/manifest.json    written last: the region's backup is complete
//   stats/<region>.json                      last success, duration, size, failures (for monitoring)
// A put is whole or absent (a temporary file renamed, or one S3 PUT / completed multipart upload), so a
// killed run leaves at most unreferenced blobs and a started.json without manifest: never a complete-looking
// backup.
namespace chfleet::backup {

/// One object of a listing.
struct ObjectInfo {
    std::string key;
    uint64_t size = 0;
};

/// A store of objects by key. Thread-safe: transfers run in parallel on one repository.
class Repository {
  public:
    virtual ~Repository() = default;
    /// "dir /var/backups/teei" or "s3://bucket/prefix (endpoint)", never a credential.
    virtual std::string describe() const = 0;
    virtual bool exists(const std::string& key) = 0;
    /// The stored size of an object, nullopt when absent. A store that keeps what a dropped upload sent
    /// (s3rver does) shows a short object here, which a rerun then sends again.
    virtual std::optional<uint64_t> sizeOf(const std::string& key) = 0;
    /// Stores a local file under `key`, whole or not at all.
    virtual void putFile(const std::string& key, const std::string& local_path) = 0;
    virtual void putText(const std::string& key, std::string_view content) = 0;
    /// Throws Exception(IoError) naming the key when it is absent.
    virtual std::string getText(const std::string& key) = 0;
    virtual void getFile(const std::string& key, const std::string& local_path) = 0;
    /// Every object whose key starts with `prefix`.
    virtual std::vector<ObjectInfo> list(const std::string& prefix) = 0;
    /// Removes an object; an absent one is not an error.
    virtual void remove(const std::string& key) = 0;
};

/// The repository a spec describes (a folder or an S3 bucket); S3 credentials are read from their references.
std::unique_ptr<Repository> openRepository(const RepositorySpec& spec);

/// `--repo PATH` or `--repo s3://bucket/prefix` as a spec (S3 endpoint, region and credentials from the
/// environment: AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY).
RepositorySpec parseRepositoryArgument(const std::string& argument);

/// The key of a blob holding content of this SHA-256.
std::string blobKey(const std::string& sha256);

}  // namespace chfleet::backup
