#pragma once

// How the ingest server answers like ClickHouse's HTTP interface: errors as `Code: N. DB::Exception: ...`
// with the code header, and the URL parameters of a request. Shared by the files of IngestServer.

#include <string>
#include <string_view>

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace chfleet::ingest {

/// An error answered the way ClickHouse answers it: the HTTP status, the code header and a
/// `Code: N. DB::Exception: ...` body, which ClickHouse client libraries parse.
void answerError(httplib::Response& response, int status, int code, std::string_view message);

/// The URL parameter `name` of `request`, empty when it has none.
std::string param(const httplib::Request& request, const char* name);

}  // namespace chfleet::ingest
