// chfleet residency and the RegionMap against the teei sandbox (real 18.16 servers): set, import and list
// through every copy of the mapping; the newest row wins; a bad mapping file writes nothing; the audit finds
// rows outside their company's region; the RegionMap reads another region's copy when its own is down and
// keeps its cache when none answers. Companies are prefixed "residency-" (the fleet is shared with the other
// tests of this binary, which write rows of their own).
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "TestFleet.h"
#include "clickhouse/Quoting.h"
#include "clickhouse/Result.h"
#include "common/Exception.h"
#include "ingest/route/RegionMap.h"
#include "shared/WaitUntil.h"

using chfleet::testing::FleetEnvironment;
namespace ch = chfleet::clickhouse;
namespace ingest = chfleet::ingest;

namespace {

chfleet::testing::TestFleet& fleet() {
    return FleetEnvironment::fleet();
}

/// Runs `chfleet residency <args[0]> -f <fleet> <args[1...]>`.
chfleet::process::Finished residency(const std::vector<std::string>& args) {
    std::vector<std::string> argv{"residency", args.front(), "-f", fleet().fleetPath()};
    argv.insert(argv.end(), args.begin() + 1, args.end());
    return fleet().chfleet(argv);
}

/// The JSON object a command printed (its output also holds the log lines of stderr).
nlohmann::json printedJson(const chfleet::process::Finished& finished) {
    size_t begin = finished.output.find("{\n");
    size_t end = finished.output.rfind("\n}");
    if (begin == std::string::npos || end == std::string::npos) {
        ADD_FAILURE() << "no JSON in:\n" << finished.output;
        return nlohmann::json::object();
    }
    return nlohmann::json::parse(finished.output.substr(begin, end + 2 - begin));
}

std::string writeFile(const std::string& name, const std::string& text) {
    std::string path = fleet().sandbox().dir() + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
}

/// company -> region as `residency list --json` prints it, for companies starting with `prefix`.
std::map<std::string, std::string> listed(const std::string& prefix, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"list", "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto list = residency(args);
    EXPECT_EQ(list.exit_code, 0) << list.output;
    auto json = printedJson(list);
    std::map<std::string, std::string> result;
    for (const auto& item : json["companies"]) {
        std::string company = item["company"];
        if (company.starts_with(prefix)) {
            result[company] = item["region"];
        }
    }
    return result;
}

/// The latest region of `company` in each copy of the mapping: "site/region" -> mapped region.
std::map<std::string, std::string> everyCopy(const std::string& company) {
    std::map<std::string, std::string> copies;
    for (const auto& site : fleet().fleet().sites) {
        for (const auto& region : site.regions) {
            auto connection = fleet().connect(region.nodes.front().name);
            auto result =
                ch::query(*connection,
                          "SELECT argMax(region, updated_at) AS r FROM "
                          "teei.company_region_mapping_" +
                              region.alias + "_distributed WHERE company_id = " + ch::quoteString(company));
            copies[site.name + "/" + region.name] = result.rowCount() == 1 ? result.getString(0, "r") : "";
        }
    }
    return copies;
}

void insertActivity(const std::string& node, const std::string& table, const std::string& company,
                    const std::string& timestamp = "2001-02-03 04:05:06") {
    auto connection = fleet().connect(node);
    ch::execute(*connection, "INSERT INTO teei." + table + "_local (company_id, timestamp) VALUES (" +
                                 ch::quoteString(company) + ", " + ch::quoteString(timestamp) + ")");
}

/// The audit findings of `kind` ("violations", "unmapped") about companies starting with `prefix`.
std::vector<nlohmann::json> findings(const nlohmann::json& audit, const std::string& kind,
                                     const std::string& prefix) {
    std::vector<nlohmann::json> result;
    for (const auto& item : audit[kind]) {
        if (item["company"].get<std::string>().starts_with(prefix)) {
            result.push_back(item);
        }
    }
    return result;
}

TEST(Residency, SetImportListRoundTripThroughEveryCopy) {
    auto set = residency({"set", "residency-rt-a", "eu"});
    ASSERT_EQ(set.exit_code, 0) << set.output;
    EXPECT_NE(set.output.find("wrote 1 row of the mapping to all 4 copies"), std::string::npos) << set.output;
    auto import = residency({"import", writeFile("residency-rt.csv",
                                                 "company_id,region\r\n"
                                                 "residency-rt-b,us\r\n"
                                                 "\r\n"
                                                 "\"residency-rt-c, ltd\",eu-central-1\r\n")});
    ASSERT_EQ(import.exit_code, 0) << import.output;

    EXPECT_EQ(listed("residency-rt-"),
              (std::map<std::string, std::string>{{"residency-rt-a", "eu-central-1"},
                                                  {"residency-rt-b", "us-east-1"},
                                                  {"residency-rt-c, ltd", "eu-central-1"}}));
    EXPECT_EQ(listed("residency-rt-", {"--region", "us"}),
              (std::map<std::string, std::string>{{"residency-rt-b", "us-east-1"}}));
    EXPECT_EQ(listed("residency-rt-", {"--site", "dr"}).size(), 3u);
    auto text = residency({"list", "--region", "eu-central-1"});
    EXPECT_EQ(text.exit_code, 0);
    EXPECT_NE(text.output.find("residency-rt-a"), std::string::npos) << text.output;

    // Every region of every site holds the whole mapping, EU companies in the US copies included.
    for (const char* company : {"residency-rt-a", "residency-rt-c, ltd"}) {
        for (const auto& [copy, region] : everyCopy(company)) {
            EXPECT_EQ(region, "eu-central-1") << company << " in " << copy;
        }
    }
    for (const auto& [copy, region] : everyCopy("residency-rt-b")) {
        EXPECT_EQ(region, "us-east-1") << copy;
    }

    auto dry = residency({"set", "residency-rt-dry", "us", "--dry-run"});
    EXPECT_EQ(dry.exit_code, 0) << dry.output;
    EXPECT_NE(dry.output.find("teei.company_region_mapping_eu_distributed"), std::string::npos) << dry.output;
    EXPECT_EQ(listed("residency-rt-dry").size(), 0u) << "a dry run wrote";
}

TEST(Residency, TheLatestSetWinsEvenWithinOneSecond) {
    for (const char* region : {"eu", "us", "eu-central-1", "us-east-1"}) {
        auto set = residency({"set", "residency-move", region});
        ASSERT_EQ(set.exit_code, 0) << set.output;
    }
    EXPECT_EQ(listed("residency-move"),
              (std::map<std::string, std::string>{{"residency-move", "us-east-1"}}));
    for (const auto& [copy, region] : everyCopy("residency-move")) {
        EXPECT_EQ(region, "us-east-1") << copy;
    }
    // An import supersedes earlier sets too.
    ASSERT_EQ(residency({"import", writeFile("residency-move.csv", "residency-move,eu\n")}).exit_code, 0);
    EXPECT_EQ(listed("residency-move")["residency-move"], "eu-central-1");
}

TEST(Residency, BadArgumentsAndBadLinesWriteNothing) {
    auto unknown = residency({"set", "residency-bad-x", "mars"});
    EXPECT_EQ(unknown.exit_code, 2) << unknown.output;
    EXPECT_NE(
        unknown.output.find("unknown region 'mars' (regions: us-east-1 (alias us), eu-central-1 (alias eu))"),
        std::string::npos)
        << unknown.output;

    std::string path = writeFile("residency-bad.csv",
                                 "residency-bad-ok,eu\n"
                                 "residency-bad-2,mars\n"
                                 "residency-bad-3\n"
                                 "residency-bad-ok,us\n");
    auto import = residency({"import", path});
    EXPECT_EQ(import.exit_code, 2) << import.output;
    EXPECT_NE(import.output.find(path + ":2: unknown region 'mars'"), std::string::npos) << import.output;
    EXPECT_NE(import.output.find(path + ":3: expected 2 fields"), std::string::npos) << import.output;
    EXPECT_NE(import.output.find(path + ":4: company 'residency-bad-ok' is listed again"), std::string::npos)
        << import.output;
    EXPECT_NE(import.output.find("nothing was written"), std::string::npos) << import.output;
    EXPECT_TRUE(listed("residency-bad-").empty());
    for (const auto& [copy, region] : everyCopy("residency-bad-ok")) {
        EXPECT_EQ(region, "") << copy;
    }
}

TEST(Residency, AuditFindsRowsOutsideTheirRegion) {
    auto mapped = residency(
        {"import", writeFile("residency-audit.csv", "residency-audit-eu,eu\nresidency-audit-us,us\n")});
    ASSERT_EQ(mapped.exit_code, 0) << mapped.output;
    // Rows where they belong, on both sites.
    insertActivity("clickhouse-eu-0", "user_activity", "residency-audit-eu");
    insertActivity("dr-eu-0", "user_activity", "residency-audit-eu");
    insertActivity("clickhouse-us-4", "user_activity", "residency-audit-us");
    insertActivity("dr-us-0", "query_log", "residency-audit-us");
    // An unmapped company's rows in query_log's default region (us-east-1): a warning, not a violation.
    insertActivity("clickhouse-us-0", "query_log", "residency-audit-new");

    // Whatever happens below, the planted rows (their own partition, 2001-02) go, so that other tests audit
    // a clean fleet.
    struct PlantedRowsRemovedAtTheEnd {
        ~PlantedRowsRemovedAtTheEnd() {
            for (const char* node : {"clickhouse-us-2", "dr-eu-0"}) {
                auto connection = fleet().connect(node);
                ch::execute(*connection, "ALTER TABLE teei.user_activity_local DROP PARTITION 200102");
                ch::execute(*connection, "ALTER TABLE teei.query_log_local DROP PARTITION 200102");
            }
        }
    } planted_rows_removed_at_the_end;

    // Every row of the fleet is where its company belongs (other tests write only mapped companies'
    // rows, or unmapped ones in a default region): exit 0, and the report says so.
    auto clean = residency({"audit", "--json"});
    auto report = printedJson(clean);
    EXPECT_EQ(clean.exit_code, 0) << clean.output;
    EXPECT_TRUE(report["clean"].get<bool>()) << clean.output;
    EXPECT_TRUE(findings(report, "violations", "residency-audit-").empty()) << clean.output;
    auto unmapped = findings(report, "unmapped", "residency-audit-");
    ASSERT_EQ(unmapped.size(), 1u) << clean.output;
    EXPECT_EQ(unmapped[0]["company"], "residency-audit-new");
    EXPECT_EQ(unmapped[0]["table"], "query_log");
    EXPECT_EQ(unmapped[0]["default_region"], "us-east-1");
    EXPECT_EQ(report["shards_audited"], 7);
    EXPECT_TRUE(report["unreachable_shards"].empty());
    EXPECT_EQ(report["mapping"]["read_from"], "primary/us-east-1");
    for (const char* key : {"sites", "tables", "totals"}) {
        EXPECT_TRUE(report.contains(key)) << key;
    }
    EXPECT_EQ(std::find(report["tables"].begin(), report["tables"].end(), "company_region_mapping"),
              report["tables"].end())
        << "the mapping table is in every region by design and is not audited";

    // An EU company's row on a US shard, and an unmapped company's row outside query_log's default region.
    insertActivity("clickhouse-us-2", "user_activity", "residency-audit-eu");
    insertActivity("dr-eu-0", "query_log", "residency-audit-new");
    auto text = residency({"audit"});
    EXPECT_EQ(text.exit_code, 1) << text.output;
    EXPECT_NE(
        text.output.find("VIOLATION   primary us-east-1 shard 2 (clickhouse-us-2) user_activity: company "
                         "residency-audit-eu is mapped to eu-central-1: 1 row"),
        std::string::npos)
        << text.output;
    auto dirty = residency({"audit", "--json", "--site", "dr"});
    EXPECT_EQ(dirty.exit_code, 1) << dirty.output;
    auto violations = findings(printedJson(dirty), "violations", "residency-audit-");
    ASSERT_EQ(violations.size(), 1u) << dirty.output;
    EXPECT_EQ(violations[0], nlohmann::json({{"site", "dr"},
                                             {"region", "eu-central-1"},
                                             {"shard", 1},
                                             {"node", "dr-eu-0"},
                                             {"table", "query_log"},
                                             {"company", "residency-audit-new"},
                                             {"rows", 1},
                                             {"mapped_region", nullptr},
                                             {"expected_region", "us-east-1"}}));
    auto primary = printedJson(residency({"audit", "--json"}));
    auto planted = findings(primary, "violations", "residency-audit-eu");
    ASSERT_EQ(planted.size(), 1u);
    EXPECT_EQ(planted[0]["node"], "clickhouse-us-2");
    EXPECT_EQ(planted[0]["shard"], 2);
    EXPECT_EQ(planted[0]["table"], "user_activity");
    EXPECT_EQ(planted[0]["mapped_region"], "eu-central-1");

    // Without the planted rows the fleet is clean again.
    for (const char* node : {"clickhouse-us-2", "dr-eu-0"}) {
        auto connection = fleet().connect(node);
        ch::execute(*connection, "ALTER TABLE teei.user_activity_local DROP PARTITION 200102");
        ch::execute(*connection, "ALTER TABLE teei.query_log_local DROP PARTITION 200102");
    }
    auto after = residency({"audit", "--json"});
    EXPECT_EQ(after.exit_code, 0) << after.output;
    EXPECT_TRUE(findings(printedJson(after), "violations", "residency-audit-").empty()) << after.output;
}

TEST(Residency, RegionMapLoadsLooksUpAndRefreshes) {
    ASSERT_EQ(residency({"set", "residency-map-early", "eu"}).exit_code, 0);
    ingest::RegionMap map(fleet().fleet(), "dr", std::chrono::seconds(1), "eu-central-1");
    map.load();
    EXPECT_EQ(map.loadedFrom(), "dr/eu-central-1");
    EXPECT_GE(map.size(), 1u);
    EXPECT_EQ(map.regionOf("residency-map-early"), "eu-central-1");
    EXPECT_EQ(map.regionOf("residency-map-late"), std::nullopt);

    ASSERT_EQ(residency({"set", "residency-map-late", "us"}).exit_code, 0);
    EXPECT_EQ(map.regionOf("residency-map-late"), std::nullopt) << "not until looked up or refreshed";
    EXPECT_EQ(map.lookUp({"residency-map-late", "residency-map-early", "residency-map-never"}), 1u);
    EXPECT_EQ(map.regionOf("residency-map-late"), "us-east-1");
    EXPECT_EQ(map.regionOf("residency-map-never"), std::nullopt);
    // Found absent a moment ago: not asked again yet, even once it exists. The mapping row goes straight
    // into the copy the map reads (milliseconds, where `residency set` may take seconds on a loaded
    // machine), and the check holds only while the look-up interval has not passed.
    auto found_absent = std::chrono::steady_clock::now();
    ch::execute(*fleet().connect("dr-eu-0"),
                "INSERT INTO teei.company_region_mapping_local (company_id, region, updated_at) VALUES "
                "('residency-map-never', 'eu-central-1', now())");
    auto found_again = map.lookUp({"residency-map-never"});
    if (std::chrono::steady_clock::now() - found_absent < ingest::RegionMap::kLookupInterval) {
        EXPECT_EQ(found_again, 0u);
    }

    // The refresh thread picks it up (and any other change) within an interval.
    map.startRefresh();
    chfleet::testing::waitUntil([&] { return map.regionOf("residency-map-never").has_value(); });
    map.stop();
    EXPECT_EQ(map.regionOf("residency-map-never"), "eu-central-1");
    EXPECT_EQ(map.failedLoads(), 0u);
}

TEST(Residency, RegionMapReadsAnotherCopyWhenARegionIsDownAndKeepsItsCache) {
    ASSERT_EQ(residency({"set", "residency-down", "us"}).exit_code, 0);
    // A map that knows only the primary's US copy (a fleet cut down to it), and one that knows every copy.
    auto us_only_fleet = fleet().fleet();
    us_only_fleet.sites.resize(1);
    us_only_fleet.sites[0].regions.resize(1);
    ingest::RegionMap us_only(us_only_fleet, "primary", std::chrono::seconds(60));
    us_only.load();
    ASSERT_EQ(us_only.regionOf("residency-down"), "us-east-1");
    auto loaded_at = us_only.loadedAt();
    ingest::RegionMap every(fleet().fleet(), "primary", std::chrono::seconds(60), "us-east-1");

    // Shard 1 of the primary's US region goes down: its copy cannot be read (or written) completely.
    struct RestartOnExit {
        ~RestartOnExit() {
            for (const char* node : {"clickhouse-us-0", "clickhouse-us-1"}) {
                try {
                    fleet().sandbox().start(node);
                } catch (const std::exception& e) {
                    ADD_FAILURE() << "could not restart " << node << ": " << e.what();
                }
            }
        }
    };
    {
        RestartOnExit restart;
        fleet().sandbox().kill("clickhouse-us-0");
        fleet().sandbox().kill("clickhouse-us-1");

        auto set = residency({"set", "residency-down", "eu"});
        EXPECT_EQ(set.exit_code, 1) << set.output;
        EXPECT_NE(set.output.find("primary    us-east-1        FAILED"), std::string::npos) << set.output;
        EXPECT_NE(set.output.find("primary    eu-central-1     ok"), std::string::npos) << set.output;
        EXPECT_NE(
            set.output.find("not written to 1 of 4 copies: primary/us-east-1. Run the same command again"),
            std::string::npos)
            << set.output;

        every.load();
        EXPECT_EQ(every.loadedFrom(), "primary/eu-central-1");
        EXPECT_EQ(every.regionOf("residency-down"), "eu-central-1");

        us_only.load();  // no copy answers: the cache stays
        EXPECT_EQ(us_only.failedLoads(), 1u);
        EXPECT_EQ(us_only.loadedAt(), loaded_at);
        EXPECT_EQ(us_only.regionOf("residency-down"), "us-east-1");
        EXPECT_THROW(us_only.lookUp({"residency-down-unknown"}), chfleet::Exception);

        auto audit = residency({"audit", "--json", "--site", "primary"});
        EXPECT_EQ(audit.exit_code, 1) << audit.output;
        auto report = printedJson(audit);
        EXPECT_EQ(report["clean"], false);
        EXPECT_EQ(report["mapping"]["read_from"], "primary/eu-central-1");
        ASSERT_EQ(report["unreachable_shards"].size(), 1u) << audit.output;
        EXPECT_EQ(report["unreachable_shards"][0]["region"], "us-east-1");
        EXPECT_EQ(report["unreachable_shards"][0]["shard"], 1);
        EXPECT_EQ(report["unreachable_shards"][0]["errors"].size(), 2u);
    }

    // Back up: the rerun completes the copy that was missed, and every copy agrees.
    auto rerun = residency({"set", "residency-down", "eu"});
    EXPECT_EQ(rerun.exit_code, 0) << rerun.output;
    for (const auto& [copy, region] : everyCopy("residency-down")) {
        EXPECT_EQ(region, "eu-central-1") << copy;
    }
    us_only.load();
    EXPECT_EQ(us_only.failedLoads(), 1u);
    EXPECT_GT(us_only.loadedAt(), loaded_at);
}

}  // namespace
