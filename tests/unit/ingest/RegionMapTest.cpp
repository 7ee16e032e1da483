#include <gtest/gtest.h>

#include "common/Exception.h"
#include "ingest/RegionMap.h"

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
    fleet.ingest.mapping_table.clear();
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
    RegionMap map(unreachableTeei(), "primary", std::chrono::seconds(1));
    map.startRefresh();
    map.startRefresh();
    map.stop();
    map.stop();
    map.startRefresh();
}  // the destructor stops it

}  // namespace
}  // namespace chfleet::ingest
