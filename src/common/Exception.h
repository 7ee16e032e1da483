#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>
#include <string_view>

namespace chfleet {

/// The central list of error codes. A code is also the process exit code of a subcommand that
/// fails with it and the `kind` label of error metrics, so values never change once released.
enum class ErrorCode : int {
    Ok = 0,
    Failed = 1,            ///< a subcommand finished but not everything succeeded (drift, a node down, ...)
    BadArguments = 2,      ///< the command line is wrong
    Differences = 3,       ///< a check found differences (sync check)
    InvalidConfig = 4,     ///< the fleet file or an environment setting is wrong
    ConnectionFailed = 5,  ///< a server could not be reached (refused, reset, DNS, TLS)
    Timeout = 6,           ///< a server did not answer in time
    ServerError = 7,       ///< a server answered with an error
    BadResponse = 8,       ///< a server's answer could not be understood
    SandboxFailed = 9,     ///< a local process could not be started, reached or stopped
    IoError = 10,          ///< a local file could not be read or written
    Critical = 11,         ///< a health check found a critical problem (warnings alone give Failed)
    Interrupted = 130,     ///< SIGINT/SIGTERM stopped the work between steps
};

/// Stable lower-case name of a code, for logs and metric labels.
std::string_view errorCodeName(ErrorCode code);

/// The one exception type of chfleet: a code from the central list and a message written for an
/// administrator (what failed, where, what to do).
class Exception : public std::runtime_error {
  public:
    Exception(ErrorCode code, std::string message) : std::runtime_error(std::move(message)), code_(code) {}

    template <typename... Args>
    Exception(ErrorCode code, fmt::format_string<Args...> format, Args&&... args)
        : Exception(code, fmt::format(format, std::forward<Args>(args)...)) {}

    ErrorCode code() const noexcept { return code_; }

  private:
    ErrorCode code_;
};

/// An error reported by a ClickHouse server: its own numeric code and text, plus where it came from.
class ServerException : public Exception {
  public:
    ServerException(int server_code, std::string server_message, std::string endpoint)
        : Exception(ErrorCode::ServerError, "{}: Code: {}. {}", endpoint, server_code, server_message),
          server_code_(server_code),
          server_message_(std::move(server_message)),
          endpoint_(std::move(endpoint)) {}

    int serverCode() const noexcept { return server_code_; }
    const std::string& serverMessage() const noexcept { return server_message_; }
    const std::string& endpoint() const noexcept { return endpoint_; }

  private:
    int server_code_;
    std::string server_message_;
    std::string endpoint_;
};

}  // namespace chfleet
