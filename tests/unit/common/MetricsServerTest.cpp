#include <gtest/gtest.h>
#include <httplib.h>
#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <atomic>

#include "common/Exception.h"
#include "common/MetricsServer.h"

namespace chfleet {
namespace {

TEST(MetricsServer, ServesMetricsHealthAnd404) {
    auto registry = std::make_shared<prometheus::Registry>();
    auto& counter = prometheus::BuildCounter()
                        .Name("chfleet_test_cycles_total")
                        .Help("cycles run by the test")
                        .Register(*registry)
                        .Add({{"site", "dr"}});
    std::atomic<bool> healthy{true};
    MetricsServer server("127.0.0.1:0", registry, [&] {
        return MetricsServer::Health{healthy.load(),
                                     healthy ? "ok: last cycle clean" : "remote site unreachable"};
    });
    server.start();
    ASSERT_GT(server.port(), 0);

    httplib::Client client("127.0.0.1", server.port());
    counter.Increment(3);
    auto metrics = client.Get("/metrics");
    ASSERT_TRUE(metrics) << httplib::to_string(metrics.error());
    EXPECT_EQ(metrics->status, 200);
    EXPECT_EQ(metrics->get_header_value("Content-Type").rfind("text/plain; version=0.0.4", 0), 0u);
    EXPECT_NE(metrics->body.find("chfleet_test_cycles_total{site=\"dr\"} 3"), std::string::npos)
        << metrics->body;
    counter.Increment();
    metrics = client.Get("/metrics");
    ASSERT_TRUE(metrics);
    EXPECT_NE(metrics->body.find("chfleet_test_cycles_total{site=\"dr\"} 4"), std::string::npos)
        << metrics->body;

    auto health = client.Get("/healthz");
    ASSERT_TRUE(health);
    EXPECT_EQ(health->status, 200);
    EXPECT_EQ(health->body, "ok: last cycle clean\n");
    healthy = false;
    health = client.Get("/healthz");
    ASSERT_TRUE(health);
    EXPECT_EQ(health->status, 503);
    EXPECT_EQ(health->body, "remote site unreachable\n");

    auto missing = client.Get("/nothing-here");
    ASSERT_TRUE(missing);
    EXPECT_EQ(missing->status, 404);

    server.stop();
    server.stop();
    EXPECT_EQ(server.port(), 0);
}

TEST(MetricsServer, HealthWithoutCallbackIsOk) {
    MetricsServer server("127.0.0.1:0", std::make_shared<prometheus::Registry>());
    server.start();
    auto health = httplib::Client("127.0.0.1", server.port()).Get("/healthz");
    ASSERT_TRUE(health);
    EXPECT_EQ(health->status, 200);
    EXPECT_EQ(health->body, "ok\n");
}

TEST(MetricsServer, StopsAndFreesThePort) {
    auto registry = std::make_shared<prometheus::Registry>();
    MetricsServer first("127.0.0.1:0", registry);
    first.start();
    uint16_t port = first.port();
    first.stop();
    EXPECT_FALSE(httplib::Client("127.0.0.1", port).Get("/metrics"));
    MetricsServer again("127.0.0.1:" + std::to_string(port), registry);
    EXPECT_NO_THROW(again.start());
    EXPECT_EQ(again.port(), port);
}

TEST(MetricsServer, AddressInUseIsAClearError) {
    auto registry = std::make_shared<prometheus::Registry>();
    MetricsServer first("127.0.0.1:0", registry);
    first.start();
    std::string address = "127.0.0.1:" + std::to_string(first.port());
    MetricsServer second(address, registry);
    try {
        second.start();
        FAIL() << "expected an exception";
    } catch (const Exception& e) {
        EXPECT_EQ(e.code(), ErrorCode::IoError);
        EXPECT_NE(std::string(e.what()).find(address), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("in use"), std::string::npos) << e.what();
    }
}

TEST(MetricsServer, MalformedAddressIsAConfigError) {
    for (const char* address : {"9464", "127.0.0.1:", "127.0.0.1:99999", ":9464", "127.0.0.1:x"}) {
        MetricsServer server(address, std::make_shared<prometheus::Registry>());
        try {
            server.start();
            ADD_FAILURE() << address << " was accepted";
        } catch (const Exception& e) {
            EXPECT_EQ(e.code(), ErrorCode::InvalidConfig) << e.what();
            EXPECT_NE(std::string(e.what()).find(address), std::string::npos) << e.what();
        }
    }
}

}  // namespace
}  // namespace chfleet
