#include <arpa/inet.h>
#include <curl/curl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "clickhouse/HttpConnection.h"
#include "common/Exception.h"
#include "shared/FreePort.h"

namespace chfleet::clickhouse {
namespace {

using namespace std::string_literals;

HttpEndpoint localEndpoint(uint16_t port) {
    HttpEndpoint endpoint;
    endpoint.host = "127.0.0.1";
    endpoint.port = port;
    endpoint.credentials = {"admin", "s3cret-Pa55"};
    endpoint.connect_timeout = std::chrono::milliseconds(500);
    endpoint.total_timeout = std::chrono::milliseconds(500);
    return endpoint;
}

/// A loopback TCP socket bound to a free port; listening (connections wait unanswered in its backlog) or not.
class LoopbackSocket {
  public:
    explicit LoopbackSocket(bool listening) {
        fd_ = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        address.sin_port = 0;
        EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
        socklen_t length = sizeof(address);
        EXPECT_EQ(getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length), 0);
        port_ = ntohs(address.sin_port);
        if (listening) {
            EXPECT_EQ(listen(fd_, 8), 0);
        }
    }
    ~LoopbackSocket() { close(fd_); }
    uint16_t port() const { return port_; }

  private:
    int fd_;
    uint16_t port_ = 0;
};

TEST(HttpConnectionTest, UrlEncode) {
    EXPECT_EQ(urlEncode("abcXYZ019-._~"), "abcXYZ019-._~");
    EXPECT_EQ(urlEncode("a b&c=d/e?f#g"), "a%20b%26c%3Dd%2Fe%3Ff%23g");
    EXPECT_EQ(urlEncode("'\n\0\xff"s), "%27%0A%00%FF");
    EXPECT_EQ(urlEncode("ü"), "%C3%BC");
}

TEST(HttpConnectionTest, StatementIsTheBodyWithoutData) {
    auto request = buildHttpRequest(localEndpoint(8123), "SELECT 1", {}, {});
    EXPECT_EQ(request.url, "http://127.0.0.1:8123/?wait_end_of_query=1");
    EXPECT_EQ(request.body, "SELECT 1");
}

TEST(HttpConnectionTest, StatementGoesToTheUrlWithData) {
    std::string data = "1\tx\n2\ty\n";
    auto request = buildHttpRequest(localEndpoint(8123), "INSERT INTO `db`.`t` FORMAT TabSeparated", data,
                                    {{"insert_distributed_sync", "1"}});
    EXPECT_EQ(
        request.url,
        "http://127.0.0.1:8123/?insert_distributed_sync=1&wait_end_of_query=1&query=INSERT%20INTO%20%60db%60."
        "%60t%60%20FORMAT%20TabSeparated");
    EXPECT_EQ(request.body, data);
}

TEST(HttpConnectionTest, SettingsAreEncodedAndWaitEndOfQueryIsNotDuplicated) {
    auto request = buildHttpRequest(localEndpoint(8123), "SELECT 1", {},
                                    {{"wait_end_of_query", "0"}, {"odd name", "a&b=c"}});
    EXPECT_EQ(request.url, "http://127.0.0.1:8123/?wait_end_of_query=0&odd%20name=a%26b%3Dc");
}

TEST(HttpConnectionTest, HttpsAndIpv6) {
    HttpEndpoint endpoint = localEndpoint(8443);
    endpoint.secure = true;
    endpoint.host = "::1";
    EXPECT_EQ(endpoint.describe(), "[::1]:8443");
    EXPECT_EQ(buildHttpRequest(endpoint, "SELECT 1", {}, {}).url, "https://[::1]:8443/?wait_end_of_query=1");
}

TEST(HttpConnectionTest, CredentialsNeverInTheUrl) {
    HttpEndpoint endpoint = localEndpoint(8123);
    auto request = buildHttpRequest(endpoint, "SELECT 1", "data", {{"max_threads", "2"}});
    EXPECT_EQ(request.url.find("s3cret"), std::string::npos);
    EXPECT_EQ(request.url.find("admin"), std::string::npos);
    EXPECT_EQ(request.url.find("password"), std::string::npos);
    EXPECT_EQ(request.url.find("user"), std::string::npos);
}

TEST(HttpConnectionTest, CurlErrorClassification) {
    EXPECT_EQ(errorCodeForCurl(CURLE_OPERATION_TIMEDOUT), ErrorCode::Timeout);
    EXPECT_EQ(errorCodeForCurl(CURLE_COULDNT_CONNECT), ErrorCode::ConnectionFailed);
    EXPECT_EQ(errorCodeForCurl(CURLE_COULDNT_RESOLVE_HOST), ErrorCode::ConnectionFailed);
    EXPECT_EQ(errorCodeForCurl(CURLE_RECV_ERROR), ErrorCode::ConnectionFailed);
    EXPECT_EQ(errorCodeForCurl(CURLE_GOT_NOTHING), ErrorCode::ConnectionFailed);
    EXPECT_EQ(errorCodeForCurl(CURLE_PEER_FAILED_VERIFICATION), ErrorCode::ConnectionFailed);
    EXPECT_EQ(errorCodeForCurl(CURLE_SSL_CONNECT_ERROR), ErrorCode::ConnectionFailed);
    EXPECT_EQ(errorCodeForCurl(CURLE_SSL_CACERT_BADFILE), ErrorCode::InvalidConfig);
}

TEST(HttpConnectionTest, RefusedConnectionIsConnectionFailed) {
    chfleet::testing::RefusingPort refusing;  // held for the whole test: nothing else can listen there
    uint16_t port = refusing.port();
    HttpConnection connection(localEndpoint(port));
    try {
        connection.execute("SELECT 1");
        FAIL() << "expected an exception";
    } catch (const Exception& e) {
        EXPECT_EQ(e.code(), ErrorCode::ConnectionFailed);
        std::string message = e.what();
        EXPECT_NE(message.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << message;
        EXPECT_EQ(message.find("s3cret"), std::string::npos) << message;
    }
}

TEST(HttpConnectionTest, SilentPeerIsTimeout) {
    LoopbackSocket silent(true);  // accepts into its backlog, never answers
    HttpConnection connection(localEndpoint(silent.port()));
    try {
        connection.execute("SELECT 1");
        FAIL() << "expected an exception";
    } catch (const Exception& e) {
        EXPECT_EQ(e.code(), ErrorCode::Timeout);
        std::string message = e.what();
        EXPECT_NE(message.find("127.0.0.1:" + std::to_string(silent.port())), std::string::npos) << message;
        EXPECT_EQ(message.find("s3cret"), std::string::npos) << message;
    }
}

TEST(HttpConnectionTest, SilentPeerIsGivenUpAfterTheStallTimeoutEvenWithoutTotalLimit) {
    LoopbackSocket silent(true);  // connections complete in the kernel's backlog, nothing ever answers
    auto endpoint = localEndpoint(silent.port());
    endpoint.total_timeout = std::chrono::milliseconds(0);
    endpoint.stall_timeout = std::chrono::milliseconds(1500);
    HttpConnection connection(endpoint);
    auto start = std::chrono::steady_clock::now();
    try {
        connection.execute("SELECT 1");
        FAIL() << "expected an exception";
    } catch (const Exception& e) {
        EXPECT_EQ(e.code(), ErrorCode::Timeout);
        EXPECT_NE(std::string(e.what()).find("stopped answering"), std::string::npos) << e.what();
    }
    auto waited = std::chrono::steady_clock::now() - start;
    EXPECT_GE(waited, std::chrono::milliseconds(1500));
    EXPECT_LT(waited, std::chrono::seconds(5));
}

TEST(HttpConnectionTest, ASilentStatementOnAServerThatAnswersPingsIsNotCut) {
    // A real HTTP server: the statement takes more than two stall timeouts to answer, /ping answers at once.
    httplib::Server server;
    std::atomic<int> pings{0};
    server.Post("/", [](const httplib::Request&, httplib::Response& response) {
        std::this_thread::sleep_for(std::chrono::milliseconds(4000));
        response.set_content("1\n", "text/plain");
    });
    server.Get("/ping", [&](const httplib::Request&, httplib::Response& response) {
        ++pings;
        response.set_content("Ok.\n", "text/plain");
    });
    int port = server.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port, 0);
    std::thread serving([&] { server.listen_after_bind(); });  // bound and listening already
    auto endpoint = localEndpoint(static_cast<uint16_t>(port));
    endpoint.total_timeout = std::chrono::milliseconds(0);
    endpoint.stall_timeout = std::chrono::milliseconds(1500);
    HttpConnection connection(endpoint);
    std::string answer;
    EXPECT_NO_THROW(answer = connection.execute("SELECT 1"));
    EXPECT_EQ(answer, "1\n");
    EXPECT_GE(pings.load(), 2) << "the silence was checked with /ping";
    server.stop();
    serving.join();
}

}  // namespace
}  // namespace chfleet::clickhouse
