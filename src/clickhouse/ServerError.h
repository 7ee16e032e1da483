#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/Exception.h"

/// Turning ClickHouse's error answers into ServerException. Pure functions (no I/O) so that every format is
/// unit-tested with real server text.
///
/// ClickHouse writes an exception as text in two shapes:
///   18.16 .. 21.x  "Code: 60, e.displayText() = DB::Exception: Table default.x doesn't exist., e.what() =
///   DB::Exception" 21.x .. now    "Code: 60. DB::Exception: Table default.x doesn't exist. (UNKNOWN_TABLE)
///   (version 23.8.1.1)"
/// Over HTTP it arrives as the body of a non-200 answer (500, 404 for an unknown table, 401/403 for a failed
/// login, ...), newer servers adding the code in the X-ClickHouse-Exception-Code header. An error that
/// happens after the answer began streaming is appended to a 200 body instead: as plain text on 18.16
/// .. 24.10, between
/// "__exception__" lines with the transfer cut on 24.11 .. 25.10, and framed by the tag announced in the
/// X-ClickHouse-Exception-Tag header from 25.11. chfleet sends wait_end_of_query=1, so streamed errors are
/// rare.
namespace chfleet::clickhouse {

/// An exception text taken apart: ClickHouse's numeric code and its message.
struct ServerError {
    int code = 0;
    std::string message;  ///< without "DB::Exception: ", ", e.what() = ..." and " (version ...)"
};

/// ClickHouse's code for an exception that carries no code of its own (UNKNOWN_EXCEPTION).
inline constexpr int unknown_exception_code = 1002;

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
