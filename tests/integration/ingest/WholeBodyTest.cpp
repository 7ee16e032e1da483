// An INSERT body cut short by a dropped connection, on the real ClickHouse 18.16 servers of the teei sandbox:
// sent as plain TabSeparated, the server commits what arrived (complete rows, and even the cut last value);
// sent as ingest sends batches (clickhouse::wholeBody, decompress=1), it writes nothing. Also: the server
// accepts the block's CityHash128 checksum for bodies of every length class the hash has. Uses the fleet the
// binary's environment brings up (IngestTest.cpp); its table lives in a scratch database, dropped at the end.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "TestFleet.h"
#include "clickhouse/HttpConnection.h"
#include "clickhouse/Result.h"
#include "clickhouse/WholeBody.h"
#include "common/Exception.h"
#include "shared/WaitUntil.h"
#include "topology/NodeConnection.h"

namespace {

namespace ch = chfleet::clickhouse;

constexpr const char* kNode = "clickhouse-us-0";
constexpr const char* kTable = "whole_body.rows";

chfleet::testing::TestFleet& fleet() {
    return chfleet::testing::FleetEnvironment::fleet();
}

ch::HttpEndpoint endpoint() {
    const auto& topology = fleet().fleet();
    return chfleet::topology::endpointFor(topology, *topology.node(kNode));
}

class WholeBody : public ::testing::Test {
  protected:
    void SetUp() override {
        auto server = fleet().connect(kNode);
        ch::execute(*server, "DROP DATABASE IF EXISTS whole_body");
        ch::execute(*server, "CREATE DATABASE whole_body");
        ch::execute(*server, std::string("CREATE TABLE ") + kTable +
                                 " (id UInt32, value String) ENGINE = MergeTree ORDER BY id");
    }
    void TearDown() override {
        ch::execute(*fleet().connect(kNode), "DROP DATABASE IF EXISTS whole_body");
        if (HasFailure()) {
            fleet().printLogs();
        }
    }

    static std::string count() { return fleet().scalar(kNode, std::string("SELECT count() FROM ") + kTable); }
};

/// `rows` TabSeparated rows, numbered from `first`, each value "value-<id>".
std::string tsvRows(int first, int rows) {
    std::string data;
    for (int id = first; id < first + rows; ++id) {
        data += std::to_string(id) + "\tvalue-" + std::to_string(id) + "\n";
    }
    return data;
}

/// Sends an INSERT whose headers announce `body` whole but only its first `sent` bytes, then ends the stream,
/// as a sender that dies mid-body does. The server sees the end of the body as it would see a dropped
/// connection; half-closing (instead of closing) lets this test read the server's answer, so it returns once
/// the server has ended that INSERT, whatever the machine's speed.
void sendCutShort(const std::string& body, size_t sent, bool whole_body) {
    auto where = endpoint();
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(where.port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    std::string request = std::string("POST /?") + (whole_body ? "decompress=1&" : "") +
                          "query=INSERT%20INTO%20whole_body.rows%20FORMAT%20TabSeparated HTTP/1.1\r\n" +
                          "Host: 127.0.0.1\r\nX-ClickHouse-User: " + where.credentials.user +
                          "\r\nX-ClickHouse-Key: " + where.credentials.password +
                          "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
                          body.substr(0, sent);
    ASSERT_EQ(::send(fd, request.data(), request.size(), MSG_NOSIGNAL), static_cast<ssize_t>(request.size()));
    ::shutdown(fd, SHUT_WR);
    std::string answer;
    bool ended = chfleet::testing::waitUntil(
        [&] {
            pollfd readable{fd, POLLIN, 0};
            if (::poll(&readable, 1, 100) != 1) {
                return false;
            }
            char buffer[4096];
            ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
            if (n > 0) {
                answer.append(buffer, static_cast<size_t>(n));
            }
            return n <= 0;  // the server closed the connection: the INSERT is over
        },
        chfleet::testing::kDefaultWait, std::chrono::milliseconds(0));
    ::close(fd);
    ASSERT_TRUE(ended) << "the server never ended the INSERT of a body cut short; it answered: " << answer;
}

TEST_F(WholeBody, TheServerTakesTheBlockChecksumOfEveryLength) {
    // Lengths through every branch of CityHash128: under 8, 8 to 15, 16 to 143 (the short hash), 144 and more
    // (128-byte rounds, then a tail of 0 to 127 bytes), and a large batch.
    ch::HttpConnection server(endpoint());
    int next_id = 0;
    int expected = 0;
    for (int rows : {0, 1, 2, 5, 8, 9, 10, 12, 15, 16, 17, 31, 32, 33, 100, 1000, 50000}) {
        std::string data = tsvRows(next_id, rows);
        next_id += rows;
        expected += rows;
        server.execute(std::string("INSERT INTO ") + kTable + " FORMAT TabSeparated", ch::wholeBody(data),
                       {{ch::kDecompressParameter, "1"}});
        ASSERT_EQ(count(), std::to_string(expected)) << "after a body of " << data.size() << " bytes";
    }
    // A block whose checksum does not match its data is refused: the server really checks it.
    std::string body = ch::wholeBody(tsvRows(0, 10));
    body.back() = 'X';
    try {
        server.execute(std::string("INSERT INTO ") + kTable + " FORMAT TabSeparated", body,
                       {{ch::kDecompressParameter, "1"}});
        FAIL() << "a corrupted block was taken";
    } catch (const chfleet::ServerException& error) {
        EXPECT_NE(std::string(error.what()).find("Checksum doesn't match"), std::string::npos)
            << error.what();
    }
    EXPECT_EQ(count(), std::to_string(expected));
}

TEST_F(WholeBody, APlainBodyCutShortIsCommittedInPart) {
    // Why ingest frames its batches: plain TabSeparated cut after 600 of 1000 rows gives 600 rows...
    std::string data = tsvRows(0, 1000);
    std::string first_600 = tsvRows(0, 600);
    sendCutShort(data, first_600.size(), false);
    EXPECT_EQ(count(), "600");
    // ... and a cut inside the last value stores that value cut short.
    fleet().connect(kNode)->execute(std::string("TRUNCATE TABLE ") + kTable);
    sendCutShort(data, first_600.size() + std::string("600\tvalue-6").size(), false);
    EXPECT_EQ(count(), "601");
    EXPECT_EQ(fleet().scalar(kNode, std::string("SELECT value FROM ") + kTable + " WHERE id = 600"),
              "value-6");
}

TEST_F(WholeBody, AWholeBodyCutShortWritesNothing) {
    std::string body = ch::wholeBody(tsvRows(0, 1000));
    std::string first_600 = tsvRows(0, 600);
    // Inside the checksum, inside the header, at a row boundary of the data, inside a value, one byte short.
    for (size_t sent :
         {size_t{8}, size_t{20}, 25 + first_600.size(), 25 + first_600.size() + 10, body.size() - 1}) {
        sendCutShort(body, sent, true);
        EXPECT_EQ(count(), "0") << "cut after " << sent << " of " << body.size() << " bytes";
    }
    sendCutShort(body, body.size(), true);  // the whole body: all of it
    EXPECT_EQ(count(), "1000");
}

}  // namespace
