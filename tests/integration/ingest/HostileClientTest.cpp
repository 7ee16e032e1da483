// Hostile clients at the ingest URL (teei sandbox): connections that send half a request header and stop hold
// nothing others need and are closed at the read timeout; connections over --max-connections are answered 503
// at once; a huge company ID is refused before any look-up and quoted only in part; an unknown company is not
// looked up again on every request.
#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <vector>

#include "IngestProcess.h"
#include "MapCompanies.h"
#include "TestFleet.h"

namespace chfleet::testing {
namespace {

/// A connection that sent half a request header and nothing more; closed at the end.
class HalfHeader {
  public:
    explicit HalfHeader(uint16_t port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(port);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
        std::string half =
            "POST /?query=INSERT%20INTO%20teei.events%20FORMAT%20JSONEachRow HTTP/1.1\r\nHost: x\r\nX-Click";
        connected_ = connected_ &&
                     ::send(fd_, half.data(), half.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(half.size());
    }
    ~HalfHeader() { ::close(fd_); }
    HalfHeader(const HalfHeader&) = delete;
    HalfHeader& operator=(const HalfHeader&) = delete;

    bool connected() const { return connected_; }
    /// True once the server has closed the connection: what it sent before (an error answer) is read, then
    /// the end of the stream.
    bool closedByServer() const {
        char buffer[4096];
        while (true) {
            ssize_t got = ::recv(fd_, buffer, sizeof(buffer), MSG_DONTWAIT);
            if (got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
                return true;
            }
            if (got < 0) {
                return false;
            }
        }
    }

  private:
    int fd_ = -1;
    bool connected_ = false;
};

/// /ping's answer and how long it took.
std::pair<int, std::chrono::milliseconds> ping(uint16_t port) {
    auto started = std::chrono::steady_clock::now();
    httplib::Client client("127.0.0.1", port);
    client.set_connection_timeout(std::chrono::seconds(30));
    client.set_read_timeout(std::chrono::seconds(30));
    auto answer = client.Get("/ping");
    return {answer ? answer->status : -1, std::chrono::duration_cast<std::chrono::milliseconds>(
                                              std::chrono::steady_clock::now() - started)};
}

double metric(uint16_t port, const std::string& name) {
    httplib::Client client("127.0.0.1", port);
    auto answer = client.Get("/metrics");
    if (!answer) {
        return -1;
    }
    size_t at = answer->body.find("\n" + name + " ");
    return at == std::string::npos ? -1 : std::stod(answer->body.substr(at + name.size() + 2));
}

TEST(IngestHostileClients, HalfHeadersHoldNothingOthersNeedAndAreClosedAtTheReadTimeout) {
    IngestProcess ingest({"--read-timeout-seconds", "3"});
    std::vector<std::unique_ptr<HalfHeader>> stalled;
    for (int i = 0; i < 300; ++i) {
        stalled.push_back(std::make_unique<HalfHeader>(ingest.port()));
        ASSERT_TRUE(stalled.back()->connected()) << i;
    }
    auto [status, took] = ping(ingest.port());
    EXPECT_EQ(status, 200);
    EXPECT_LT(took.count(), 1000) << "/ping waited behind the stalled connections";
    // An INSERT works as well while they hang.
    mapCompanies({{"hostile-us", "us-east-1"}});
    auto written = ingest.post("INSERT INTO teei.events FORMAT JSONEachRow", eventRow("hostile-us", 1));
    ASSERT_TRUE(written);
    EXPECT_EQ(written->status, 200) << written->body;
    EXPECT_TRUE(waitUntil(
        [&] {
            for (const auto& connection : stalled) {
                if (!connection->closedByServer()) {
                    return false;
                }
            }
            return true;
        },
        std::chrono::seconds(30)))
        << "the server kept half-header connections open past its read timeout";
}

TEST(IngestHostileClients, ConnectionsOverTheCapAreAnswered503AtOnce) {
    IngestProcess ingest({"--max-connections", "40", "--read-timeout-seconds", "3"});
    std::vector<std::unique_ptr<HalfHeader>> stalled;
    for (int i = 0; i < 40; ++i) {
        stalled.push_back(std::make_unique<HalfHeader>(ingest.port()));
    }
    // The server counts a connection once its acceptor took it: wait until the cap is reached.
    EXPECT_TRUE(waitUntil([&] { return ping(ingest.port()).first == 503; }, std::chrono::seconds(10)));
    httplib::Client client("127.0.0.1", ingest.port());
    auto started = std::chrono::steady_clock::now();
    auto refused = client.Get("/ping");
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 503);
    EXPECT_NE(refused->body.find("too many connections"), std::string::npos) << refused->body;
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
    // The stalled ones are closed at the read timeout, and the server answers again.
    EXPECT_TRUE(waitUntil([&] { return ping(ingest.port()).first == 200; }, std::chrono::seconds(30)));
    EXPECT_GE(metric(ingest.port(), "chfleet_ingest_refused_connections_total"), 1);
}

TEST(IngestHostileClients, AHugeCompanyIdIsRefusedBeforeAnyLookupAndQuotedInPart) {
    IngestProcess ingest;
    double lookups_before = metric(ingest.port(), "chfleet_ingest_mapping_lookups");
    std::string huge(1 << 20, 'A');
    auto answer = ingest.post("INSERT INTO teei.events FORMAT JSONEachRow", eventRow(huge, 1));
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->status, 400);
    EXPECT_NE(answer->body.find("is longer than 256 bytes"), std::string::npos)
        << answer->body.substr(0, 300);
    EXPECT_NE(answer->body.find("(1048576 bytes)"), std::string::npos) << answer->body.substr(0, 300);
    EXPECT_LT(answer->body.size(), 1000u);
    EXPECT_EQ(metric(ingest.port(), "chfleet_ingest_mapping_lookups"), lookups_before);
}

TEST(IngestHostileClients, AnUnknownCompanyIsNotLookedUpOnEveryRequest) {
    IngestProcess ingest;
    double lookups_before = metric(ingest.port(), "chfleet_ingest_mapping_lookups");
    for (int i = 0; i < 20; ++i) {
        auto answer =
            ingest.post("INSERT INTO teei.events FORMAT JSONEachRow", eventRow("nobody-knows-me", i));
        ASSERT_TRUE(answer);
        EXPECT_EQ(answer->status, 400);
        EXPECT_NE(answer->body.find("company 'nobody-knows-me' has no region"), std::string::npos)
            << answer->body;
    }
    // One look-up for the first request; the others within the look-up interval ask nothing.
    EXPECT_LE(metric(ingest.port(), "chfleet_ingest_mapping_lookups") - lookups_before, 2);
}

}  // namespace
}  // namespace chfleet::testing
