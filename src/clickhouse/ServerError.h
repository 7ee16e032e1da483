#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/Exception.h"

/// Turning ClickHouse's error answers into ServerException. Pure functions (no I/O) so that every format is
/// unit-tested with real server text.
///
/// ClickHouse writes an exception as text in two shapes:
/// - 18.16 .. 21.x:
///   `Code: 60, e.displayText() = DB::Exception: Table default.x doesn't exist., e.what() = DB::Exception`
/// - 21.x .. now:
///   `Code: 60. DB::Exception: Table default.x doesn't exist. (UNKNOWN_TABLE) (version 23.8.1.1)`
///
/// Over HTTP it arrives as the body of a non-200 answer (500, 404 for an unknown table, 401/403 for a failed
/// login, ...), newer servers adding the code in the X-ClickHouse-Exception-Code header. An error that
/// happens after the answer began streaming is appended to a 200 body instead: as plain text on 18.16 ..
/// 24.10, between "__exception__" lines with the transfer cut on 24.11 .. 25.10, and framed by the tag
/// announced in the X-ClickHouse-Exception-Tag header from 25.11. chfleet sends wait_end_of_query=1, so
/// streamed errors are rare.
namespace chfleet::clickhouse {

/// An exception text taken apart: ClickHouse's numeric code and its message.
struct ServerError {
    int code = 0;
    std::string message;  ///< without "DB::Exception: ", ", e.what() = ..." and " (version ...)"
};

/// ClickHouse's own error codes that chfleet tests for, retries on or answers with, named as ClickHouse names
/// them (src/Common/ErrorCodes.cpp of ClickHouse: UNKNOWN_TABLE is kUnknownTable). The one place these
/// numbers are written.
namespace server_code {
inline constexpr int kUnexpectedEndOfFile = 3;
inline constexpr int kCannotParseInputAssertionFailed = 27;
inline constexpr int kBadArguments = 36;
inline constexpr int kNotImplemented = 48;
inline constexpr int kUnknownTable = 60;
inline constexpr int kSyntaxError = 62;
inline constexpr int kUnknownFormat = 73;
inline constexpr int kUnknownDatabase = 81;
inline constexpr int kTimeoutExceeded = 159;
inline constexpr int kReadonly = 164;
inline constexpr int kTooManySimultaneousQueries = 202;
inline constexpr int kNoFreeConnection = 203;
inline constexpr int kSocketTimeout = 209;
inline constexpr int kNetworkError = 210;
inline constexpr int kNoZookeeper = 225;
inline constexpr int kMemoryLimitExceeded = 241;
inline constexpr int kTableIsReadOnly = 242;
inline constexpr int kTooManyParts = 252;
inline constexpr int kAllConnectionTriesFailed = 279;
inline constexpr int kTooFewLiveReplicas = 285;
inline constexpr int kLeadershipChanged = 292;  ///< 18.16 .. 20.x; no longer used by current servers
inline constexpr int kUnknownStatusOfInsert = 319;
inline constexpr int kTooManyRowsOrBytes = 396;
inline constexpr int kSystemError = 425;
inline constexpr int kAuthenticationFailed = 516;
inline constexpr int kKeeperException = 999;
inline constexpr int kStdException = 1001;
inline constexpr int kUnknownException = 1002;  ///< an exception that carries no code of its own
}  // namespace server_code

/// Parses exception text in either shape (surrounding whitespace ignored, multi-line messages kept).
/// nullopt when the text does not start with "Code: <number>".
std::optional<ServerError> parseExceptionText(std::string_view text);

/// The error of a non-200 HTTP answer from `endpoint`: `status`, `body` and the value of the
/// X-ClickHouse-Exception-Code header (empty when absent). nullopt when the answer carries no ClickHouse code
/// at all (a proxy's or load balancer's error page, for example).
std::optional<ServerException> errorFromHttpResponse(long status, std::string_view body,
                                                     std::string_view exception_code_header,
                                                     const std::string& endpoint);

/// The error appended to a 200 body after streaming began: framed by `exception_tag` (25.11+, the value of
/// X-ClickHouse-Exception-Tag; empty when absent), after an "__exception__" line when `transfer_cut` (the
/// server closed the connection mid-answer, 24.11+), or announced by a non-zero X-ClickHouse-Exception-Code
/// (sent as a trailer). nullopt when the body shows none of these. Plain-text errors of older servers cannot
/// be told apart from data here; Result detects them where the result format makes that possible.
std::optional<ServerException> findStreamedException(std::string_view body, std::string_view exception_tag,
                                                     std::string_view exception_code_header,
                                                     bool transfer_cut, const std::string& endpoint);

}  // namespace chfleet::clickhouse
