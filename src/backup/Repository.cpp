#include "backup/Repository.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "backup/S3Repository.h"
#include "common/Exception.h"
#include "common/Files.h"

namespace chfleet::backup {

namespace fs = std::filesystem;

namespace {

/// A folder: each key a file under it. A put writes a temporary file beside the target, fsyncs it and renames
/// it over the target, so an object is whole or absent after a crash.
class LocalRepository final : public Repository {
  public:
    explicit LocalRepository(std::string root) : root_(std::move(root)) {}

    std::string describe() const override { return "dir " + root_; }

    bool exists(const std::string& key) override { return fs::exists(pathOf(key)); }

    std::optional<uint64_t> sizeOf(const std::string& key) override {
        std::error_code error;
        auto size = fs::file_size(pathOf(key), error);
        return error ? std::nullopt : std::optional<uint64_t>(size);
    }

    void putFile(const std::string& key, const std::string& local_path) override {
        auto target = pathOf(key);
        files::makeDirectories(fs::path(target).parent_path().string());
        auto temporary = temporaryFor(target);
        std::error_code error;
        fs::copy_file(local_path, temporary, fs::copy_options::overwrite_existing, error);
        if (error) {
            throw Exception(ErrorCode::IoError, "cannot copy {} to {}: {}", local_path, temporary,
                            error.message());
        }
        syncAndRename(temporary, target);
    }

    void putText(const std::string& key, std::string_view content) override {
        auto target = pathOf(key);
        files::makeDirectories(fs::path(target).parent_path().string());
        files::writeAtomically(target, std::string(content));
    }

    std::string getText(const std::string& key) override {
        if (!exists(key)) {
            throw Exception(ErrorCode::IoError, "{}: no object {}", describe(), key);
        }
        return files::read(pathOf(key));
    }

    void getFile(const std::string& key, const std::string& local_path) override {
        std::error_code error;
        fs::copy_file(pathOf(key), local_path, fs::copy_options::overwrite_existing, error);
        if (error) {
            throw Exception(ErrorCode::IoError, "{}: cannot read {} into {}: {}", describe(), key, local_path,
                            error.message());
        }
    }

    std::vector<ObjectInfo> list(const std::string& prefix) override {
        std::vector<ObjectInfo> out;
        auto folder = fs::path(pathOf(prefix)).parent_path();
        std::error_code error;
        if (!fs::exists(folder, error)) {
            return out;
        }
        for (auto it = fs::recursive_directory_iterator(folder, error);
             it != fs::recursive_directory_iterator(); it.increment(error)) {
            if (error) {
                throw Exception(ErrorCode::IoError, "cannot list {}: {}", folder.string(), error.message());
            }
            if (!it->is_regular_file()) {
                continue;
            }
            auto key = fs::relative(it->path(), root_).generic_string();
            if (key.starts_with(prefix) && key.find(".tmp.") == std::string::npos) {
                out.push_back({key, static_cast<uint64_t>(it->file_size())});
            }
        }
        return out;
    }

    void remove(const std::string& key) override {
        std::error_code error;
        fs::remove(pathOf(key), error);
        if (error) {
            throw Exception(ErrorCode::IoError, "cannot remove {}: {}", pathOf(key), error.message());
        }
    }

  private:
    std::string pathOf(const std::string& key) const { return root_ + "/" + key; }

    static std::string temporaryFor(const std::string& target) {
        return target + ".tmp." + std::to_string(::getpid()) + "." +
               std::to_string(std::hash<std::thread::id>{}(std::this_thread::get_id()));
    }

    static void syncAndRename(const std::string& temporary, const std::string& target) {
        int fd = ::open(temporary.c_str(), O_RDONLY);
        if (fd < 0 || ::fsync(fd) != 0) {
            if (fd >= 0) {
                ::close(fd);
            }
            throw Exception(ErrorCode::IoError, "cannot sync {}", temporary);
        }
        ::close(fd);
        if (::rename(temporary.c_str(), target.c_str()) != 0) {
            throw Exception(ErrorCode::IoError, "cannot rename {} to {}", temporary, target);
        }
    }

    std::string root_;
};

}  // namespace

std::unique_ptr<Repository> openRepository(const RepositorySpec& spec) {
    if (!spec.s3()) {
        files::makeDirectories(spec.path);
        return std::make_unique<LocalRepository>(files::absolute(spec.path));
    }
    return std::make_unique<S3Repository>(spec, spec.access_key.resolve(), spec.secret_key.resolve());
}

RepositorySpec parseRepositoryArgument(const std::string& argument) {
    RepositorySpec spec;
    if (!argument.starts_with("s3://")) {
        if (argument.empty()) {
            throw Exception(ErrorCode::BadArguments, "--repo: expected a folder or s3://bucket/prefix");
        }
        spec.path = files::absolute(argument);
        return spec;
    }
    auto rest = argument.substr(5);
    auto slash = rest.find('/');
    spec.bucket = rest.substr(0, slash);
    spec.prefix = slash == std::string::npos ? "" : rest.substr(slash + 1);
    while (spec.prefix.ends_with('/')) {
        spec.prefix.pop_back();
    }
    if (spec.bucket.empty()) {
        throw Exception(ErrorCode::BadArguments, "--repo {}: no bucket after s3://", argument);
    }
    const char* endpoint = std::getenv("AWS_ENDPOINT_URL");
    spec.endpoint = endpoint != nullptr ? endpoint : "https://s3.amazonaws.com";
    const char* region = std::getenv("AWS_REGION");
    if (region != nullptr) {
        spec.region = region;
    }
    return spec;
}

std::string blobKey(const std::string& sha256) {
    return "blobs/" + sha256.substr(0, 2) + "/" + sha256;
}

}  // namespace chfleet::backup
