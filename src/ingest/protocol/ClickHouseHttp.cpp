// The ClickHouse-style answers of the ingest server (ClickHouseHttp.h): error codes by name, error bodies.
#include "ingest/protocol/ClickHouseHttp.h"

#include <fmt/format.h>
#include <httplib.h>

#include <map>

#include "clickhouse/ServerError.h"

namespace chfleet::ingest {
namespace {

/// ClickHouse's error codes: those ingest answers with, and those of the servers it passes on.
namespace server_code = clickhouse::server_code;

/// ClickHouse's name of an error code, which client libraries read from the end of the message; "" for a
/// code ingest does not name.
std::string_view errorCodeName(int code) {
    static const std::map<int, std::string_view> kNames{
        {server_code::kCannotParseInputAssertionFailed, "CANNOT_PARSE_INPUT_ASSERTION_FAILED"},
        {server_code::kBadArguments, "BAD_ARGUMENTS"},
        {server_code::kNotImplemented, "NOT_IMPLEMENTED"},
        {server_code::kUnknownTable, "UNKNOWN_TABLE"},
        {server_code::kSyntaxError, "SYNTAX_ERROR"},
        {server_code::kUnknownFormat, "UNKNOWN_FORMAT"},
        {server_code::kUnknownDatabase, "UNKNOWN_DATABASE"},
        {server_code::kTimeoutExceeded, "TIMEOUT_EXCEEDED"},
        {server_code::kReadonly, "READONLY"},
        {server_code::kTooManySimultaneousQueries, "TOO_MANY_SIMULTANEOUS_QUERIES"},
        {server_code::kSocketTimeout, "SOCKET_TIMEOUT"},
        {server_code::kNetworkError, "NETWORK_ERROR"},
        {server_code::kTableIsReadOnly, "TABLE_IS_READ_ONLY"},
        {server_code::kTooManyParts, "TOO_MANY_PARTS"},
        {server_code::kTooManyRowsOrBytes, "TOO_MANY_ROWS_OR_BYTES"},
        {server_code::kAuthenticationFailed, "AUTHENTICATION_FAILED"},
        {server_code::kStdException, "STD_EXCEPTION"},
        {server_code::kUnknownException, "UNKNOWN_EXCEPTION"},
    };
    auto it = kNames.find(code);
    return it == kNames.end() ? std::string_view() : it->second;
}

}  // namespace

void answerError(httplib::Response& response, int status, int code, std::string_view message) {
    response.status = status;
    if (status == 503) {
        response.set_header("Retry-After", "1");  // a passing condition: full buffers, a shard or node down
    }
    response.set_header("X-ClickHouse-Exception-Code", std::to_string(code));
    std::string_view name = errorCodeName(code);
    response.set_content(name.empty()
                             ? fmt::format("Code: {}. DB::Exception: {}\n", code, message)
                             : fmt::format("Code: {}. DB::Exception: {} ({})\n", code, message, name),
                         "text/plain; charset=UTF-8");
}

std::string param(const httplib::Request& request, const char* name) {
    return request.has_param(name) ? request.get_param_value(name) : std::string();
}

}  // namespace chfleet::ingest
