#pragma once

#include <string>
#include <string_view>

#include "clickhouse/Connection.h"
#include "common/Exception.h"

namespace chfleet::clickhouse {

/// A Connection to one server's HTTP interface over libcurl. One curl handle per connection, reused between
/// statements so that the TCP (and TLS) connection is kept alive. Credentials travel only in the
/// X-ClickHouse-User / X-ClickHouse-Key headers, and the password is masked in every error this class throws.
/// Every statement is sent with wait_end_of_query=1 (unless the caller sets it), so that errors arrive as an
/// error status rather than in the middle of a 200 answer. A server that stops answering (frozen host,
/// dropped packets) is given up after the endpoint's stall_timeout, while a long statement on a responsive
/// server runs on (the mechanism is described at StallWatch in HttpConnection.cpp).
class HttpConnection final : public Connection {
  public:
    explicit HttpConnection(HttpEndpoint endpoint);
    ~HttpConnection() override;
    HttpConnection(const HttpConnection&) = delete;
    HttpConnection& operator=(const HttpConnection&) = delete;

    std::string execute(std::string_view sql, std::string_view data = {},
                        const Settings& settings = {}) override;
    std::string describe() const override { return endpoint_.describe(); }

    const HttpEndpoint& endpoint() const { return endpoint_; }

  private:
    HttpEndpoint endpoint_;
    void* curl_;  ///< the CURL easy handle
};

/// The target and body of one request, built without I/O. Without `data` the statement is the body; with
/// `data` (the rows of an INSERT) the statement goes into the URL parameter `query` and `data` is the body.
/// Settings become URL parameters; wait_end_of_query=1 is added unless present. No credentials, ever.
struct HttpRequest {
    std::string url;
    std::string_view body;
};
HttpRequest buildHttpRequest(const HttpEndpoint& endpoint, std::string_view sql, std::string_view data,
                             const Settings& settings);

/// Percent-encoding of a URL parameter name or value: everything but A-Z a-z 0-9 - . _ ~ is encoded.
std::string urlEncode(std::string_view text);

/// libcurl's process-wide initialisation, done once (every user of libcurl calls it before its first handle).
void initCurlOnce();

/// The chfleet error code for a libcurl result code: Timeout for a timed-out operation, InvalidConfig for an
/// unusable URL or CA file, ConnectionFailed for the rest (refused, reset, DNS, TLS).
ErrorCode errorCodeForCurl(int curl_code);

}  // namespace chfleet::clickhouse
