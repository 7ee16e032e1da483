#pragma once

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

namespace chfleet::testing {

/// A fresh private folder made by mkdtemp in the system's temporary folder ($TMPDIR, else /tmp), named
/// `<prefix>-XXXXXX`, removed with everything in it when the object goes (also when the test fails half-way).
/// No test uses a fixed name: runs side by side, or after a run that crashed, never meet.
class TempDir {
  public:
    explicit TempDir(const std::string& prefix = "chfleet-unit") {
        std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
        }
        path_ = pattern;
    }
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return path_; }
    std::string string() const { return path_.string(); }
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

  private:
    std::filesystem::path path_;
};

/// A fresh empty file (mode 0600) made by mkstemp in the system's temporary folder, named `<prefix>-XXXXXX`,
/// removed when the object goes.
class TempFile {
  public:
    explicit TempFile(const std::string& prefix = "chfleet-unit") {
        std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
        int fd = ::mkstemp(pattern.data());
        if (fd < 0) {
            throw std::system_error(errno, std::generic_category(), "mkstemp " + pattern);
        }
        ::close(fd);
        path_ = pattern;
    }
    ~TempFile() {
        std::error_code ignored;
        std::filesystem::remove(path_, ignored);
    }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;

    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

}  // namespace chfleet::testing
