#include "common/Files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/Exception.h"

namespace chfleet::files {

std::string read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw Exception(ErrorCode::IoError, "cannot read {}: {}", path, std::strerror(errno));
    }
    std::stringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

void writeAtomically(const std::string& path, const std::string& content, unsigned mode) {
    std::string tmp = path + ".tmp";
    // Created with `mode` (and set to it, whatever the umask) before a byte is written: a secret is never
    // readable by others, not even for a moment.
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        throw Exception(ErrorCode::IoError, "cannot write {}: {}", tmp, std::strerror(errno));
    }
    // A failure leaves no temporary file behind.
    auto fail = [&](const char* what, const std::string& message_path) {
        int error = errno;
        if (fd >= 0) {
            ::close(fd);
        }
        ::unlink(tmp.c_str());
        throw Exception(ErrorCode::IoError, "cannot {} {}: {}", what, message_path, std::strerror(error));
    };
    if (::fchmod(fd, mode) != 0) {
        fail("set the mode of", tmp);
    }
    const char* p = content.data();
    size_t left = content.size();
    while (left > 0) {
        ssize_t n = ::write(fd, p, left);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            fail("write", tmp);
        }
        p += n;
        left -= static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0) {
        fail("flush", tmp);
    }
    int closed = ::close(fd);
    fd = -1;
    if (closed != 0) {
        fail("flush", tmp);
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        fail("rename", tmp + " to " + path);
    }
    auto folder = std::filesystem::path(path).parent_path();
    int dir_fd = ::open(folder.empty() ? "." : folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd >= 0) {
        ::fsync(dir_fd);
        ::close(dir_fd);
    }
}

void makeDirectories(const std::string& path, unsigned mode) {
    std::error_code error;
    std::filesystem::create_directories(path, error);
    if (error) {
        throw Exception(ErrorCode::IoError, "cannot create folder {}: {}", path, error.message());
    }
    ::chmod(path.c_str(), mode);
}

std::string absolute(const std::string& path) {
    return std::filesystem::absolute(path).lexically_normal().string();
}

}  // namespace chfleet::files
