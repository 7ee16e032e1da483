#include <gtest/gtest.h>
#include <httplib.h>
#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "common/Exception.h"
#include "common/HttpEndpoints.h"

namespace chfleet::http {
namespace {

TEST(HttpEndpoints, ListenAddressIsHostAndPort) {
    auto v4 = parseListenAddress("127.0.0.1:8123", "--listen", "127.0.0.1:8123");
    EXPECT_EQ(v4.host, "127.0.0.1");
    EXPECT_EQ(v4.port, 8123);
    auto any_port = parseListenAddress("localhost:0", "--listen", "127.0.0.1:8123");
    EXPECT_EQ(any_port.host, "localhost");
    EXPECT_EQ(any_port.port, 0);
    auto v6 = parseListenAddress("[::1]:9464", "--listen", "127.0.0.1:8123");
    EXPECT_EQ(v6.host, "::1");
    EXPECT_EQ(v6.port, 9464);
}

TEST(HttpEndpoints, MalformedListenAddressIsBadArgumentsNamingIt) {
    for (const char* address : {"8123", "127.0.0.1:", ":8123", "127.0.0.1:x", "127.0.0.1:65536",
                                "127.0.0.1:-1", "[::1:8123", "[]:80"}) {
        try {
            parseListenAddress(address, "--listen", "127.0.0.1:8123");
            ADD_FAILURE() << address << " was accepted";
        } catch (const Exception& e) {
            EXPECT_EQ(e.code(), ErrorCode::BadArguments) << e.what();
            EXPECT_EQ(std::string(e.what()),
                      std::string("--listen '") + address + "' is not host:port, e.g. 127.0.0.1:8123");
        }
    }
}

TEST(HttpEndpoints, MetricsAndHealthOnAServerOfTheCaller) {
    auto registry = std::make_shared<prometheus::Registry>();
    auto& counter = prometheus::BuildCounter()
                        .Name("chfleet_test_scrapes_total")
                        .Help("scrapes")
                        .Register(*registry)
                        .Add({});
    std::atomic<bool> healthy{false};
    httplib::Server server;
    server.Get("/ping", [](const httplib::Request&, httplib::Response& response) {
        response.set_content("Ok.\n", "text/plain");
    });
    addMetricsAndHealth(
        server, registry,
        [&] {
            return Health{healthy.load(), healthy ? "ok" : "region eu shard 2: down"};
        },
        [&] { counter.Increment(); });
    int port = server.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port, 0);
    std::thread thread([&] { server.listen_after_bind(); });
    while (!server.is_running()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }

    httplib::Client client("127.0.0.1", port);
    auto metrics = client.Get("/metrics");
    ASSERT_TRUE(metrics) << httplib::to_string(metrics.error());
    EXPECT_EQ(metrics->status, 200);
    EXPECT_EQ(metrics->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    EXPECT_NE(metrics->body.find("chfleet_test_scrapes_total 1"), std::string::npos) << metrics->body;
    auto health = client.Get("/healthz");
    ASSERT_TRUE(health);
    EXPECT_EQ(health->status, 503);
    EXPECT_EQ(health->body, "region eu shard 2: down\n");
    EXPECT_EQ(health->get_header_value("Content-Type"), "text/plain; charset=utf-8");
    healthy = true;
    health = client.Get("/healthz");
    ASSERT_TRUE(health);
    EXPECT_EQ(health->status, 200);
    EXPECT_EQ(health->body, "ok\n");
    auto ping = client.Get("/ping");
    ASSERT_TRUE(ping);
    EXPECT_EQ(ping->body, "Ok.\n");

    server.stop();
    thread.join();
}

}  // namespace
}  // namespace chfleet::http
