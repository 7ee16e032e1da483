#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <future>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/Exception.h"
#include "ingest/IngestSection.h"
#include "ingest/route/RegionMap.h"
#include "shared/WaitUntil.h"

namespace chfleet::ingest {
namespace {

/// The teei example with every node on a loopback port nothing listens on (port 1), so that every read is
/// refused at once, and no password to read.
topology::Fleet unreachableTeei() {
    topology::Fleet fleet =
        topology::loadFleet(std::string(CHFLEET_SOURCE_DIR) + "/examples/teei/fleet.yaml");
    for (auto& site : fleet.sites) {
        for (auto& region : site.regions) {
            for (auto& node : region.nodes) {
                node.http_port = 1;
            }
        }
    }
    fleet.credentials.password = {};
    return fleet;
}

/// A stand-in for the mapping's ClickHouse on a loopback port: answers every query with the mapping rows it
/// is given (TabSeparatedWithNamesAndTypes, as RegionMap asks), or, while failing, with a ClickHouse error,
/// and counts the queries.
class MappingServer {
  public:
    MappingServer() {
        server_.Post(".*", [this](const httplib::Request&, httplib::Response& response) {
            std::lock_guard lock(mutex_);
            ++requests_;
            if (failing_) {
                response.status = 500;
                response.set_content(
                    "Code: 279. DB::Exception: All connection tries failed. (ALL_CONNECTION_TRIES_FAILED)\n",
                    "text/plain");
                return;
            }
            response.set_content("company\tmapped_region\nString\tString\n" + rows_,
                                 "text/tab-separated-values");
        });
        port_ = server_.bind_to_any_port("127.0.0.1");
        if (port_ <= 0) {
            throw std::runtime_error("the stand-in mapping server cannot bind a loopback port");
        }
        thread_ = std::thread([this] { server_.listen_after_bind(); });
        if (!chfleet::testing::waitUntil([this] { return server_.is_running(); })) {
            server_.stop();
            thread_.join();
            throw std::runtime_error("the stand-in mapping server did not start");
        }
    }
    ~MappingServer() {
        server_.stop();
        thread_.join();
    }
    MappingServer(const MappingServer&) = delete;
    MappingServer& operator=(const MappingServer&) = delete;

    uint16_t port() const { return static_cast<uint16_t>(port_); }
    /// The rows of the next answers, "company\tregion\n" each.
    void setRows(std::string rows) {
        std::lock_guard lock(mutex_);
        rows_ = std::move(rows);
    }
    void setFailing(bool failing) {
        std::lock_guard lock(mutex_);
        failing_ = failing;
    }
    size_t requests() const {
        std::lock_guard lock(mutex_);
        return requests_;
    }

  private:
    httplib::Server server_;
    std::thread thread_;
    int port_ = 0;
    mutable std::mutex mutex_;
    std::string rows_;
    bool failing_ = false;
    size_t requests_ = 0;
};

/// The teei example with every node at `server`, and no password to read.
topology::Fleet servedTeei(const MappingServer& server) {
    topology::Fleet fleet = unreachableTeei();
    for (auto& site : fleet.sites) {
        for (auto& region : site.regions) {
            for (auto& node : region.nodes) {
                node.host = "127.0.0.1";
                node.http_port = server.port();
            }
        }
    }
    return fleet;
}

using Entries = std::vector<std::pair<std::string, std::string>>;

std::vector<std::string> order(const std::vector<MappingSource>& sources) {
    std::vector<std::string> names;
    for (const auto& source : sources) {
        names.push_back(source.describe());
    }
    return names;
}

TEST(RegionMap, SourcesOwnSiteFirstThenTheOthers) {
    auto fleet = unreachableTeei();
    EXPECT_EQ(order(mappingSources(fleet, "")),
              (std::vector<std::string>{"primary/us-east-1", "primary/eu-central-1", "dr/us-east-1",
                                        "dr/eu-central-1"}));
    EXPECT_EQ(order(mappingSources(fleet, "dr", "eu-central-1")),
              (std::vector<std::string>{"dr/eu-central-1", "dr/us-east-1", "primary/us-east-1",
                                        "primary/eu-central-1"}));
    auto sources = mappingSources(fleet, "primary", "eu-central-1");
    EXPECT_EQ(sources[0].table, "company_region_mapping_eu_distributed");
    EXPECT_EQ(sources[0].nodes.size(), 4u);
    EXPECT_EQ(sources[2].nodes.size(), 1u);
    EXPECT_THROW(mappingSources(fleet, "moon"), Exception);
    EXPECT_THROW(mappingSources(fleet, "dr", "mars"), Exception);
}

TEST(RegionMap, NoMappingTableIsAConfigError) {
    auto fleet = unreachableTeei();
    ingest::mutableIngestConfig(fleet).mapping_table.clear();
    try {
        mappingSources(fleet, "");
        FAIL() << "no exception";
    } catch (const Exception& e) {
        EXPECT_EQ(e.code(), ErrorCode::InvalidConfig);
        EXPECT_NE(std::string(e.what()).find("ingest.mapping_table"), std::string::npos);
    }
}

TEST(RegionMap, QueryTakesTheNewestRowOfEachCompany) {
    auto fleet = unreachableTeei();
    auto sources = mappingSources(fleet, "");
    EXPECT_EQ(mappingQuery(fleet, sources[1]),
              "SELECT `company_id` AS company, argMax(`region`, `updated_at`) AS mapped_region FROM "
              "`teei`.`company_region_mapping_eu_distributed` GROUP BY `company_id`");
    EXPECT_EQ(mappingQuery(fleet, sources[0], {"a", "o'brien"}),
              "SELECT `company_id` AS company, argMax(`region`, `updated_at`) AS mapped_region FROM "
              "`teei`.`company_region_mapping_us_distributed` WHERE `company_id` IN ('a', 'o\\'brien') "
              "GROUP BY `company_id`");
}

TEST(RegionMap, FirstLoadWithoutAnyAnswerFails) {
    RegionMap map(unreachableTeei(), "primary", std::chrono::seconds(60));
    try {
        map.load();
        FAIL() << "no exception";
    } catch (const Exception& e) {
        EXPECT_EQ(e.code(), ErrorCode::ConnectionFailed);
        std::string message = e.what();
        // Every copy tried is named.
        for (const char* copy :
             {"primary/us-east-1", "primary/eu-central-1", "dr/us-east-1", "dr/eu-central-1"}) {
            EXPECT_NE(message.find(copy), std::string::npos) << copy;
        }
    }
    EXPECT_EQ(map.size(), 0u);
    EXPECT_EQ(map.failedLoads(), 1u);
    EXPECT_EQ(map.loadedFrom(), "");
    EXPECT_EQ(map.regionOf("anyone"), std::nullopt);
}

TEST(RegionMap, FailedLookUpFailsFastAfterwards) {
    RegionMap map(unreachableTeei(), "primary", std::chrono::seconds(60));
    EXPECT_EQ(map.lookUp({}), 0u);
    try {
        map.lookUp({"a", "b"});
        FAIL() << "no exception";
    } catch (const Exception& e) {
        EXPECT_EQ(e.code(), ErrorCode::ConnectionFailed);
    }
    try {
        map.lookUp({"a"});
        FAIL() << "no exception";
    } catch (const Exception& e) {
        EXPECT_EQ(e.code(), ErrorCode::ConnectionFailed);
        EXPECT_NE(std::string(e.what()).find("not asking again yet"), std::string::npos);
    }
}

TEST(RegionMap, RefreshThreadStartsAndStops) {
    using chfleet::testing::eventually;
    using chfleet::testing::waitUntil;
    MappingServer server;
    server.setRows("acme\teu-central-1\n");
    RegionMap map(servedTeei(server), "primary", std::chrono::seconds(1));
    map.load();
    EXPECT_EQ(map.entries(), (Entries{{"acme", "eu-central-1"}}));
    EXPECT_EQ(map.loadedFrom(), "primary/us-east-1");
    EXPECT_EQ(server.requests(), 1u);

    // A change in ClickHouse shows through the refresh thread alone (a second start keeps the one thread).
    server.setRows("acme\tus-east-1\nbeta\teu-central-1\n");
    map.startRefresh();
    map.startRefresh();
    const Entries changed{{"acme", "us-east-1"}, {"beta", "eu-central-1"}};
    EXPECT_EQ(eventually([&] { return map.entries(); }, changed), changed);
    EXPECT_EQ(map.failedLoads(), 0u);

    // A refresh that no copy answers is counted and keeps what was loaded.
    server.setFailing(true);
    EXPECT_TRUE(waitUntil([&] { return map.failedLoads() >= 1; })) << "no refresh after the failure began";
    EXPECT_EQ(map.entries(), changed);
    EXPECT_EQ(map.regionOf("beta"), "eu-central-1");

    // Stopped (twice is safe), it asks no more: meanwhile a map refreshing at the same interval against
    // another server refreshes twice.
    map.stop();
    map.stop();
    size_t asked = server.requests();
    server.setFailing(false);
    server.setRows("acme\teu-central-1\n");
    {
        MappingServer clock_server;
        RegionMap clock(servedTeei(clock_server), "primary", std::chrono::seconds(1));
        clock.startRefresh();
        ASSERT_TRUE(waitUntil([&] { return clock_server.requests() >= 2; }));
    }
    EXPECT_EQ(server.requests(), asked) << "the stopped refresh thread still queried";
    EXPECT_EQ(map.entries(), changed);

    // Started again, it refreshes again: a full load replaces the cache (beta is gone).
    map.startRefresh();
    const Entries latest{{"acme", "eu-central-1"}};
    EXPECT_EQ(eventually([&] { return map.entries(); }, latest), latest);
}  // the destructor stops it

TEST(RegionMap, StopWakesTheRefreshThreadWithoutWaitingOutTheInterval) {
    MappingServer server;
    RegionMap map(servedTeei(server), "primary", std::chrono::seconds(600));
    map.startRefresh();
    auto stopped = std::async(std::launch::async, [&] { map.stop(); });
    EXPECT_EQ(stopped.wait_for(std::chrono::seconds(90)), std::future_status::ready)
        << "stop() waited for the 600 s refresh interval";
    stopped.get();
    EXPECT_EQ(server.requests(), 0u) << "the first refresh comes one interval after the start";
}

}  // namespace
}  // namespace chfleet::ingest
