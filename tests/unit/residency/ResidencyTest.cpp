#include <gtest/gtest.h>

#include "common/Exception.h"
#include "residency/Residency.h"

namespace chfleet::residency {
namespace {

const topology::Fleet& teei() {
    static const topology::Fleet fleet =
        topology::loadFleet(std::string(CHFLEET_SOURCE_DIR) + "/examples/teei/fleet.yaml");
    return fleet;
}

/// The message of the exception parseMappingCsv throws for `text` ("" when it throws none).
std::string csvProblems(const std::string& text) {
    try {
        parseMappingCsv(text, "map.csv", teei());
    } catch (const Exception& e) {
        EXPECT_EQ(e.code(), ErrorCode::BadArguments);
        return e.what();
    }
    return "";
}

TEST(Residency, ResolveRegionByNameOrAlias) {
    EXPECT_EQ(resolveRegion(teei(), "eu-central-1"), "eu-central-1");
    EXPECT_EQ(resolveRegion(teei(), "eu"), "eu-central-1");
    EXPECT_EQ(resolveRegion(teei(), "us"), "us-east-1");
    EXPECT_EQ(resolveRegion(teei(), "EU"), std::nullopt);
    EXPECT_EQ(describeRegions(teei()), "us-east-1 (alias us), eu-central-1 (alias eu)");
}

TEST(Residency, CompanyIds) {
    EXPECT_EQ(companyProblem("acme-gmbh"), "");
    EXPECT_EQ(companyProblem("Acme, Inc. \"Ünïcode\""), "");
    EXPECT_EQ(companyProblem(""), "the company id is empty");
    EXPECT_EQ(companyProblem(" acme"), "the company id ' acme' has spaces around it");
    EXPECT_EQ(companyProblem("ac\tme"), "the company id holds a control character");
}

TEST(Residency, CsvWithHeaderQuotingAndEmptyLines) {
    auto rows = parseMappingCsv(
        "\xEF\xBB\xBF"
        "company_id,region\r\n"
        "acme,eu\r\n"
        "\r\n"
        "\"big, corp\",us-east-1\n"
        "\"say \"\"hi\"\"\",\"eu-central-1\"\n"
        "acme,eu-central-1\n"
        "last,us",
        "map.csv", teei());
    ASSERT_EQ(rows.size(), 4u);
    EXPECT_EQ(rows[0].company, "acme");
    EXPECT_EQ(rows[0].region, "eu-central-1");
    EXPECT_EQ(rows[0].line, 2);
    EXPECT_EQ(rows[1].company, "big, corp");
    EXPECT_EQ(rows[1].region, "us-east-1");
    EXPECT_EQ(rows[1].line, 4);
    EXPECT_EQ(rows[2].company, "say \"hi\"");
    EXPECT_EQ(rows[3].company, "last");
    EXPECT_EQ(rows[3].line, 7);
    // Without a header the first line is a row; "company,region" is a header too.
    EXPECT_EQ(parseMappingCsv("acme,eu\n", "map.csv", teei()).size(), 1u);
    EXPECT_EQ(parseMappingCsv("Company,Region\nacme,eu\n", "map.csv", teei()).size(), 1u);
    EXPECT_TRUE(parseMappingCsv("\n\n", "map.csv", teei()).empty());
}

TEST(Residency, EveryBadCsvLineIsReported) {
    EXPECT_EQ(csvProblems("company_id,region\n"
                          "acme,eu\n"
                          "acme,us\n"
                          "solo\n"
                          "a,b,c\n"
                          ",eu\n"
                          "x,mars\n"
                          "\"open,eu\n"
                          "q\"uote,eu\n"
                          "\"a\"b,eu\n"
                          "company_id,region\n"),
              "map.csv:3: company 'acme' is listed again with region us-east-1 (line 2 says eu-central-1); a "
              "company has one region\n"
              "map.csv:4: expected 2 fields (company,region), found 1\n"
              "map.csv:5: expected 2 fields (company,region), found 3\n"
              "map.csv:6: the company id is empty\n"
              "map.csv:7: unknown region 'mars' (regions: us-east-1 (alias us), eu-central-1 (alias eu))\n"
              "map.csv:8: a quoted field is not closed (a quote inside quotes is written twice: \"\")\n"
              "map.csv:9: a quote inside an unquoted field at column 2 (quote the whole field and double the "
              "quote)\n"
              "map.csv:10: unexpected text after a quoted field at column 4\n"
              "map.csv:11: unknown region 'region' (regions: us-east-1 (alias us), eu-central-1 (alias eu))\n"
              "9 bad lines in map.csv; nothing was written. Fix them and run the import again");
}

TEST(Residency, ManyBadLinesAreCapped) {
    std::string text;
    for (int i = 0; i < 60; ++i) {
        text += "c" + std::to_string(i) + ",mars\n";
    }
    std::string message = csvProblems(text);
    EXPECT_NE(message.find("map.csv:50: unknown region"), std::string::npos);
    EXPECT_EQ(message.find("map.csv:51:"), std::string::npos);
    EXPECT_NE(message.find("... and 10 more bad lines\n60 bad lines in map.csv"), std::string::npos);
}

TEST(Residency, UpdatedAtAlwaysMovesForward) {
    EXPECT_EQ(nextUpdatedAt(1000, 0), 1000);
    EXPECT_EQ(nextUpdatedAt(1000, 999), 1000);
    EXPECT_EQ(nextUpdatedAt(1000, 1000), 1001);
    EXPECT_EQ(nextUpdatedAt(1000, 1500), 1501);
}

TEST(Residency, TsvBodyEscapesCompanies) {
    EXPECT_EQ(mappingTsv({{"a\tb\\c", "eu-central-1", 0}, {"plain", "us-east-1", 0}}, 1700000000),
              "a\\tb\\\\c\teu-central-1\t1700000000\nplain\tus-east-1\t1700000000\n");
}

TEST(Residency, AuditedTablesSkipTheMappingAndViewsWithoutKey) {
    std::vector<std::string> names;
    for (const auto* table : auditedTables(teei())) {
        names.push_back(table->name);
    }
    EXPECT_EQ(names, (std::vector<std::string>{"events", "user_activity", "metrics_company_period",
                                               "sroi_calculations", "vis_scores", "query_log",
                                               "mv_daily_company_metrics"}));
}

TEST(Residency, ClassifyShardRows) {
    const auto& fleet = teei();
    auto region_of = [](std::string_view company) -> std::optional<std::string> {
        if (company == "eu-co") {
            return "eu-central-1";
        }
        if (company == "us-co") {
            return "us-east-1";
        }
        return std::nullopt;
    };
    AuditReport report;
    ShardLocation us_shard{"primary", "us-east-1", 2, "clickhouse-us-2"};
    std::vector<std::pair<std::string, uint64_t>> counts{{"eu-co", 3}, {"new-co", 5}, {"us-co", 7}};
    classifyShardRows(us_shard, *fleet.schema.table("events"), counts, region_of, report);
    ASSERT_EQ(report.violations.size(), 1u);
    EXPECT_EQ(report.violations[0].company, "eu-co");
    EXPECT_EQ(report.violations[0].mapped_region, "eu-central-1");
    EXPECT_EQ(report.violations[0].expected_region, "eu-central-1");
    EXPECT_EQ(report.violations[0].rows, 3u);
    EXPECT_EQ(report.violations[0].table, "events");
    ASSERT_EQ(report.unmapped.size(), 1u);
    EXPECT_EQ(report.unmapped[0].company, "new-co");

    // query_log's default_region is us-east-1: an unmapped company is fine there, a violation in the EU.
    AuditReport defaults;
    classifyShardRows(us_shard, *fleet.schema.table("query_log"), {{"new-co", 1}}, region_of, defaults);
    EXPECT_TRUE(defaults.violations.empty());
    ASSERT_EQ(defaults.unmapped.size(), 1u);
    EXPECT_EQ(defaults.unmapped[0].expected_region, "us-east-1");
    ShardLocation eu_shard{"dr", "eu-central-1", 1, "dr-eu-0"};
    classifyShardRows(eu_shard, *fleet.schema.table("query_log"), {{"new-co", 4}}, region_of, defaults);
    ASSERT_EQ(defaults.violations.size(), 1u);
    EXPECT_EQ(defaults.violations[0].mapped_region, std::nullopt);
    EXPECT_EQ(defaults.violations[0].expected_region, "us-east-1");
}

TEST(Residency, AuditJsonShape) {
    AuditReport report;
    report.mapping_from = "primary/us-east-1";
    report.mapped_companies = 2;
    report.sites = {"primary"};
    report.tables = {"events"};
    report.shards_audited = 4;
    report.violations.push_back({{"primary", "us-east-1", 2, "clickhouse-us-2"},
                                 "events",
                                 "eu-co",
                                 std::string("eu-central-1"),
                                 "eu-central-1",
                                 3});
    report.unmapped.push_back({{"primary", "us-east-1", 1, "clickhouse-us-0"}, "events", "x", {}, "", 2});
    report.unreachable.push_back({"primary", "eu-central-1", 1, {"clickhouse-eu-0: refused"}});
    auto json = auditJson(report);
    EXPECT_EQ(json["clean"], false);
    EXPECT_EQ(json["mapping"]["read_from"], "primary/us-east-1");
    EXPECT_EQ(json["mapping"]["companies"], 2);
    EXPECT_EQ(json["shards_audited"], 4);
    EXPECT_EQ(json["violations"][0],
              nlohmann::json::parse(R"({"site": "primary", "region": "us-east-1", "shard": 2,
                  "node": "clickhouse-us-2", "table": "events", "company": "eu-co", "rows": 3,
                  "mapped_region": "eu-central-1", "expected_region": "eu-central-1"})"));
    EXPECT_TRUE(json["unmapped"][0]["default_region"].is_null());
    EXPECT_EQ(json["unreachable_shards"][0]["errors"][0], "clickhouse-eu-0: refused");
    EXPECT_EQ(json["totals"], nlohmann::json::parse(R"({"violations": 1, "violating_rows": 3,
                  "unmapped_companies": 1, "unmapped_rows": 2, "unreachable_shards": 1})"));
    report.violations.clear();
    EXPECT_FALSE(report.clean());
    report.unreachable.clear();
    EXPECT_TRUE(report.clean());
}

TEST(Residency, AuditMetricsNameEveryAuditedRegionAndTable) {
    AuditReport report;
    report.sites = {"primary"};
    report.tables = {"events"};
    for (uint64_t rows : {3u, 4u}) {
        report.violations.push_back({{"primary", "us-east-1", 2, "clickhouse-us-2"},
                                     "events",
                                     "eu-co",
                                     std::string("eu-central-1"),
                                     "eu-central-1",
                                     rows});
    }
    auto text = auditMetricsText(teei(), report);
    EXPECT_NE(text.find("# TYPE chfleet_residency_misplaced_rows gauge"), std::string::npos) << text;
    EXPECT_NE(
        text.find(
            "chfleet_residency_misplaced_rows{region=\"us-east-1\",site=\"primary\",table=\"events\"} 7"),
        std::string::npos)
        << text;
    EXPECT_NE(
        text.find(
            "chfleet_residency_misplaced_rows{region=\"eu-central-1\",site=\"primary\",table=\"events\"} 0"),
        std::string::npos)
        << text;
    EXPECT_EQ(text.find("site=\"dr\""), std::string::npos) << text;
}

}  // namespace
}  // namespace chfleet::residency
