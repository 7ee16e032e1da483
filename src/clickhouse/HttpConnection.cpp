#include "clickhouse/HttpConnection.h"

#include <curl/curl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <future>
#include <mutex>
#include <optional>

#include "clickhouse/ServerError.h"
#include "common/Text.h"

namespace chfleet::clickhouse {

namespace {

std::once_flag curl_init_flag;

}  // namespace

void initCurlOnce() {
    std::call_once(curl_init_flag, [] {
        CURLcode code = curl_global_init(CURL_GLOBAL_DEFAULT);
        if (code != CURLE_OK) {
            throw Exception(ErrorCode::Failed, "libcurl cannot be initialised: {}", curl_easy_strerror(code));
        }
    });
}

namespace {

using Clock = std::chrono::steady_clock;

/// Applies the TLS options of `endpoint` to a handle.
void setTlsOptions(CURL* curl, const HttpEndpoint& endpoint) {
    if (!endpoint.secure) {
        return;
    }
    if (!endpoint.ca_file.empty()) {
        curl_easy_setopt(curl, CURLOPT_CAINFO, endpoint.ca_file.c_str());
    }
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, endpoint.verify_tls ? 1L : 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, endpoint.verify_tls ? 2L : 0L);
}

size_t discardBody(char*, size_t size, size_t count, void*) {
    return size * count;
}

/// GET /ping on a new connection: true when the server answers 200 within `timeout`.
bool answersPing(const HttpEndpoint& endpoint, std::chrono::milliseconds timeout) {
    CURL* curl = curl_easy_init();
    if (curl == nullptr) {
        return false;
    }
    std::string url = (endpoint.secure ? "https://" : "http://") + endpoint.describe() + "/ping";
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discardBody);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(std::min(endpoint.connect_timeout, timeout).count()));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
    setTlsOptions(curl, endpoint);
    long status = 0;
    bool ok = curl_easy_perform(curl) == CURLE_OK &&
              curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status == 200;
    curl_easy_cleanup(curl);
    return ok;
}

/// Stall detection of one statement (HttpEndpoint::stall_timeout).
///
/// The statement's connection may stay silent for a long time while the server works (an INSERT ... SELECT
/// with wait_end_of_query, an ALTER, a DDL waiting for its hosts), so silence alone proves nothing. Once the
/// connection has been silent for a third of the stall timeout, the watch asks the server's /ping on a new
/// connection, in the background, and again a third later while the silence lasts; a ping answered proves
/// the server alive as of when it was sent. When neither the connection nor a ping has shown the server
/// alive for the whole stall timeout, and a ping sent after the last sign of life came back unanswered, the
/// transfer is aborted: the host is frozen (SIGSTOP, a hung kernel) or the network between us drops its
/// packets. libcurl calls the progress callback about once a second
/// even when nothing moves, which is where the watch looks; TCP keepalive (set on the socket) covers a
/// connection that died while new ones still work.
class StallWatch {
  public:
    explicit StallWatch(const HttpEndpoint& endpoint)
        : endpoint_(endpoint), last_alive_(Clock::now()), probe_every_(endpoint.stall_timeout / 3) {}
    ~StallWatch() {
        if (probe_.valid()) {
            probe_.wait();  // bounded by the probe's own timeout
        }
    }
    StallWatch(const StallWatch&) = delete;
    StallWatch& operator=(const StallWatch&) = delete;

    /// Something arrived on the statement's connection.
    void heard() { last_alive_ = Clock::now(); }

    /// Called with the bytes moved so far; false when the server is to be given up.
    bool keepGoing(int64_t bytes_moved) {
        auto now = Clock::now();
        if (bytes_moved != bytes_moved_) {
            bytes_moved_ = bytes_moved;
            last_alive_ = now;
        }
        if (probe_.valid() && probe_.wait_for(std::chrono::seconds(0)) == std::future_status::ready) {
            if (probe_.get()) {
                last_alive_ = std::max(last_alive_, probe_sent_);
            }
        }
        // Given up only once a ping sent after the last sign of life has come back unanswered: libcurl calls
        // back about once a second when idle, so the silence may pass the stall timeout before any ping was
        // sent, and silence alone proves nothing.
        bool pinged_since_alive = probe_sent_ > last_alive_;
        if (now - last_alive_ > endpoint_.stall_timeout && pinged_since_alive && !probe_.valid()) {
            stalled_ = true;
            return false;
        }
        if (!probe_.valid() && now - std::max(last_alive_, probe_sent_) >= probe_every_) {
            auto budget = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::max(std::chrono::nanoseconds(0), endpoint_.stall_timeout - (now - last_alive_)));
            probe_sent_ = now;
            probe_ = std::async(std::launch::async, answersPing, endpoint_,
                                std::max(budget, std::chrono::milliseconds(500)));
        }
        return true;
    }

    bool stalled() const { return stalled_; }

  private:
    const HttpEndpoint& endpoint_;
    Clock::time_point last_alive_;
    Clock::time_point probe_sent_{};
    std::chrono::nanoseconds probe_every_;
    int64_t bytes_moved_ = 0;
    std::future<bool> probe_;
    bool stalled_ = false;
};

int onProgress(void* user, curl_off_t, curl_off_t downloaded, curl_off_t, curl_off_t uploaded) {
    return static_cast<StallWatch*>(user)->keepGoing(static_cast<int64_t>(downloaded + uploaded)) ? 0 : 1;
}

/// TCP keepalive probes unanswered this many times close the connection (libcurl 7.88 sets idle and
/// interval, not the count).
int setKeepaliveCount(void*, curl_socket_t socket, curlsocktype) {
    int count = 3;
    setsockopt(socket, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof(count));
    return CURL_SOCKOPT_OK;
}

/// What one transfer collected besides the body.
struct ResponseState {
    std::string body;
    std::string exception_code;  ///< X-ClickHouse-Exception-Code (also when sent as a trailer)
    std::string exception_tag;   ///< X-ClickHouse-Exception-Tag (25.11+)
    StallWatch* watch = nullptr;
};

size_t onBody(char* data, size_t size, size_t count, void* user) {
    auto* state = static_cast<ResponseState*>(user);
    state->body.append(data, size * count);
    if (state->watch != nullptr) {
        state->watch->heard();
    }
    return size * count;
}

size_t onHeader(char* data, size_t size, size_t count, void* user) {
    auto* state = static_cast<ResponseState*>(user);
    if (state->watch != nullptr) {
        state->watch->heard();
    }
    std::string_view line(data, size * count);
    size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
        std::string_view name = line.substr(0, colon);
        std::string_view value = text::trim(line.substr(colon + 1));
        if (text::equalsIgnoreCase(name, "X-ClickHouse-Exception-Code")) {
            state->exception_code = value;
        } else if (text::equalsIgnoreCase(name, "X-ClickHouse-Exception-Tag")) {
            state->exception_tag = value;
        }
    }
    return size * count;
}

/// Replaces every occurrence of `secret` in `text` (a server may echo the statement, and with it a password).
std::string masked(std::string text, std::string_view secret) {
    if (secret.size() < 4) {
        return text;  // too short to tell apart from ordinary text; a real password is longer
    }
    for (size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at)) {
        text.replace(at, secret.size(), "******");
    }
    return text;
}

struct HeaderList {
    curl_slist* list = nullptr;
    ~HeaderList() { curl_slist_free_all(list); }
    void add(const std::string& header) {
        curl_slist* extended = curl_slist_append(list, header.c_str());
        if (extended == nullptr) {
            throw Exception(ErrorCode::Failed, "out of memory building HTTP headers");
        }
        list = extended;
    }
};

}  // namespace

std::string urlEncode(std::string_view text) {
    constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        auto byte = static_cast<unsigned char>(c);
        bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                          c == '-' || c == '.' || c == '_' || c == '~';
        if (unreserved) {
            out += c;
        } else {
            out += '%';
            out += kHex[byte >> 4];
            out += kHex[byte & 0x0F];
        }
    }
    return out;
}

HttpRequest buildHttpRequest(const HttpEndpoint& endpoint, std::string_view sql, std::string_view data,
                             const Settings& settings) {
    HttpRequest request;
    request.url = (endpoint.secure ? "https://" : "http://") + endpoint.describe() + "/";
    std::string parameters;
    auto add = [&](std::string_view name, std::string_view value) {
        parameters += parameters.empty() ? '?' : '&';
        parameters += urlEncode(name);
        parameters += '=';
        parameters += urlEncode(value);
    };
    bool has_wait = false;
    for (const auto& [name, value] : settings) {
        has_wait = has_wait || name == "wait_end_of_query";
        add(name, value);
    }
    if (!has_wait) {
        add("wait_end_of_query", "1");
    }
    if (data.empty()) {
        request.body = sql;
    } else {
        // ClickHouse joins the `query` parameter and the body into one statement: "<query>\n<body>".
        add("query", sql);
        request.body = data;
    }
    request.url += parameters;
    return request;
}

ErrorCode errorCodeForCurl(int curl_code) {
    switch (static_cast<CURLcode>(curl_code)) {
        case CURLE_OPERATION_TIMEDOUT:
            return ErrorCode::Timeout;
        case CURLE_URL_MALFORMAT:
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CRL_BADFILE:
            return ErrorCode::InvalidConfig;
        default:
            return ErrorCode::ConnectionFailed;
    }
}

HttpConnection::HttpConnection(HttpEndpoint endpoint) : endpoint_(std::move(endpoint)) {
    initCurlOnce();
    curl_ = curl_easy_init();
    if (curl_ == nullptr) {
        throw Exception(ErrorCode::Failed, "libcurl cannot create a handle for {}", endpoint_.describe());
    }
}

HttpConnection::~HttpConnection() {
    curl_easy_cleanup(curl_);
}

std::string HttpConnection::execute(std::string_view sql, std::string_view data, const Settings& settings) {
    const std::string where = endpoint_.describe();
    const std::string& password = endpoint_.credentials.password;
    HttpRequest request = buildHttpRequest(endpoint_, sql, data, settings);

    // Reset clears the options of the previous statement but keeps the open connection and the DNS cache.
    curl_easy_reset(curl_);
    HeaderList headers;
    headers.add("X-ClickHouse-User: " + endpoint_.credentials.user);
    if (!password.empty()) {
        headers.add("X-ClickHouse-Key: " + password);
    }
    headers.add("Content-Type: text/plain; charset=UTF-8");
    headers.add("Expect:");  // no 100-continue round trip before large bodies

    ResponseState response;
    std::optional<StallWatch> watch;
    if (endpoint_.stall_timeout.count() > 0) {
        watch.emplace(endpoint_);
        response.watch = &*watch;
    }
    char curl_error[CURL_ERROR_SIZE] = {};
    curl_easy_setopt(curl_, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(curl_, CURLOPT_POST, 1L);
    // Never a null pointer here: libcurl would then read the body from stdin.
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, request.body.empty() ? "" : request.body.data());
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers.list);
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, onBody);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &response);
    curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, onHeader);
    curl_easy_setopt(curl_, CURLOPT_HEADERDATA, &response);
    curl_easy_setopt(curl_, CURLOPT_ERRORBUFFER, curl_error);
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl_, CURLOPT_TCP_KEEPALIVE, 1L);
    if (watch) {
        // A connection whose peer vanished is closed after about half the stall timeout.
        long keepalive_seconds = std::max(1L, static_cast<long>(endpoint_.stall_timeout.count() / 6000));
        curl_easy_setopt(curl_, CURLOPT_TCP_KEEPIDLE, keepalive_seconds);
        curl_easy_setopt(curl_, CURLOPT_TCP_KEEPINTVL, keepalive_seconds);
        curl_easy_setopt(curl_, CURLOPT_SOCKOPTFUNCTION, setKeepaliveCount);
        curl_easy_setopt(curl_, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(curl_, CURLOPT_XFERINFOFUNCTION, onProgress);
        curl_easy_setopt(curl_, CURLOPT_XFERINFODATA, &*watch);
    }
    curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(endpoint_.connect_timeout.count()));
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, static_cast<long>(endpoint_.total_timeout.count()));
    setTlsOptions(curl_, endpoint_);

    CURLcode code = curl_easy_perform(curl_);
    long status = 0;
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &status);
    // The options point into this frame; do not leave them dangling on the reused handle.
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, nullptr);
    curl_easy_setopt(curl_, CURLOPT_ERRORBUFFER, nullptr);

    auto rethrowMasked = [&](const ServerException& error) {
        throw ServerException(error.serverCode(), masked(error.serverMessage(), password), where);
    };

    if (code != CURLE_OK) {
        if (status == 200 && (code == CURLE_PARTIAL_FILE || code == CURLE_RECV_ERROR)) {
            if (auto error = findStreamedException(response.body, response.exception_tag,
                                                   response.exception_code, true, where)) {
                rethrowMasked(*error);
            }
        }
        if (watch && watch->stalled()) {
            throw ServerStalled(
                ErrorCode::Timeout,
                "ClickHouse at {} stopped answering: nothing on the connection and no answer to "
                "/ping for {} ms (a frozen host, or a network that drops its packets); the "
                "statement may still be running there",
                where, endpoint_.stall_timeout.count());
        }
        std::string detail = curl_error[0] != '\0' ? curl_error : curl_easy_strerror(code);
        ErrorCode kind = errorCodeForCurl(code);
        if (kind == ErrorCode::Timeout) {
            throw Exception(
                kind,
                "ClickHouse at {} did not answer in time ({}; connect timeout {} ms, total {} ms); the "
                "statement may still be running there",
                where, detail, endpoint_.connect_timeout.count(), endpoint_.total_timeout.count());
        }
        if (kind == ErrorCode::InvalidConfig) {
            throw Exception(kind,
                            "request to ClickHouse at {} cannot be made: {}; check the node's address, port "
                            "and CA file in the fleet file",
                            where, detail);
        }
        throw Exception(kind,
                        "cannot reach ClickHouse at {}: {}; check that the server runs and that the address "
                        "and port in the fleet file are right",
                        where, detail);
    }
    if (status != 200) {
        if (auto error = errorFromHttpResponse(status, response.body, response.exception_code, where)) {
            rethrowMasked(*error);
        }
        std::string excerpt = masked(response.body.substr(0, 512), password);
        if (status == 502 || status == 503 || status == 504) {
            throw Exception(ErrorCode::ConnectionFailed,
                            "{} answered HTTP {} without a ClickHouse error (a proxy in between?): {}", where,
                            status, excerpt);
        }
        throw Exception(ErrorCode::BadResponse, "{} answered HTTP {} without a ClickHouse error: {}", where,
                        status, excerpt);
    }
    if (auto error = findStreamedException(response.body, response.exception_tag, response.exception_code,
                                           false, where)) {
        rethrowMasked(*error);
    }
    return std::move(response.body);
}

}  // namespace chfleet::clickhouse
