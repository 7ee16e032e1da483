// chfleet erase on the seed's fleet (examples/teei: primary site US 3x2 + EU 2x2, DR site 1+1), as an
// operator runs it: with everything up, with a replica down and back, with the DR site down and back followed
// by sync, hostile IDs, a tampered ledger, and dry runs. Every check reads the servers themselves: the
// company's rows in every erasable table of every node (materialized views' storage and the mapping
// included), and the other companies' rows by count and checksum.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "TestFleet.h"
#include "clickhouse/Quoting.h"
#include "clickhouse/Result.h"
#include "common/Files.h"
#include "common/Process.h"
#include "shared/WaitUntil.h"

using chfleet::testing::eventually;
using chfleet::testing::FleetEnvironment;
namespace ch = chfleet::clickhouse;

namespace {

const bool kSaltSet = ::setenv("CHFLEET_ERASE_SALT", "integration-test-salt-6f1c", 1) == 0;

auto* const environment = ::testing::AddGlobalTestEnvironment(
    new FleetEnvironment("examples/teei/fleet.yaml", chfleet::testing::Schema::Applied));

chfleet::testing::TestFleet& fleet() {
    return FleetEnvironment::fleet();
}

/// Every table of the schema with the region key, as each node stores it.
const std::vector<std::string> kErasable = {"events_local",
                                            "user_activity_local",
                                            "metrics_company_period_local",
                                            "sroi_calculations_local",
                                            "vis_scores_local",
                                            "company_region_mapping_local",
                                            "query_log_local",
                                            "`.inner.mv_daily_company_metrics_local`"};
/// The plain MergeTree tables, whose count and checksum no merge changes (the other companies' fingerprint),
/// with the hash of a row (18.16's cityHash64 takes no UUID: event_id is hashed as text).
const std::vector<std::pair<std::string, std::string>> kPlain = {
    {"events_local",
     "cityHash64(toString(event_id), company_id, user_id, event_type, region, timestamp, payload)"},
    {"user_activity_local", "cityHash64(*)"},
    {"query_log_local", "cityHash64(*)"}};

std::vector<std::string> nodeNames() {
    std::vector<std::string> names;
    for (const auto* node : fleet().fleet().nodes()) {
        names.push_back(node->name);
    }
    return names;
}

/// Writes `rows` events, activity rows and query-log rows of `company` into `alias`'s region of the primary
/// site, and its mapping into every region, through the regional Distributed tables (synchronously).
void writeCompany(const std::string& company, const std::string& alias, int rows) {
    std::string region = alias == "us" ? "us-east-1" : "eu-central-1";
    std::string c = ch::quoteString(company);
    ch::Settings sync = {{"insert_distributed_sync", "1"}};
    auto connection = fleet().connect(alias == "us" ? "clickhouse-us-0" : "clickhouse-eu-0");
    ch::execute(
        *connection,
        fmt::format("INSERT INTO teei.events_{}_distributed (event_id, company_id, user_id, event_type, "
                    "region, timestamp) SELECT generateUUIDv4(), {}, concat('u', toString(number % 7)), "
                    "concat('e', toString(number % 3)), '{}', now() - number FROM system.numbers LIMIT {}",
                    alias, c, region, rows),
        sync);
    ch::execute(*connection,
                fmt::format("INSERT INTO teei.user_activity_{}_distributed SELECT {}, 'u', toString(number), "
                            "'login', '{}', number, now() - number FROM system.numbers LIMIT {}",
                            alias, c, region, rows / 2 + 1),
                sync);
    ch::execute(
        *connection,
        fmt::format("INSERT INTO teei.query_log_{}_distributed SELECT {}, toString(number), 'u', 'select', "
                    "number, number, now() - number FROM system.numbers LIMIT {}",
                    alias, c, rows / 3 + 1),
        sync);
    for (const auto& [node, target] :
         {std::pair{"clickhouse-us-0", "us"}, std::pair{"clickhouse-eu-0", "eu"}}) {
        ch::execute(
            *fleet().connect(node),
            fmt::format("INSERT INTO teei.company_region_mapping_{}_distributed SELECT {}, '{}', now()",
                        target, c, region),
            sync);
    }
}

/// Rows of `company` in every erasable table of `node`, read on the node itself.
uint64_t companyRows(const std::string& node, const std::string& company) {
    std::string sql;
    for (const auto& table : kErasable) {
        sql += (sql.empty() ? "SELECT " : " + ") +
               fmt::format("(SELECT count() FROM teei.{} WHERE company_id = {})", table,
                           ch::quoteString(company));
    }
    return std::stoull(fleet().scalar(node, sql));
}

/// Per node: count and checksum of every row NOT of `company` in the plain tables.
std::map<std::string, std::string> othersFingerprint(const std::string& company) {
    std::map<std::string, std::string> result;
    for (const auto& node : nodeNames()) {
        std::string text;
        for (const auto& [table, row_hash] : kPlain) {
            text += fleet().scalar(node, fmt::format("SELECT concat(toString(count()), '/', "
                                                     "toString(sum({}))) FROM teei.{} WHERE company_id != {}",
                                                     row_hash, table, ch::quoteString(company))) +
                    " ";
        }
        result[node] = text;
    }
    return result;
}

uint64_t rowsEverywhere(const std::string& company) {
    uint64_t total = 0;
    for (const auto& node : nodeNames()) {
        total += companyRows(node, company);
    }
    return total;
}

/// `chfleet erase ARGS -f FLEET` with the company ID (when given) on standard input, never in the arguments.
chfleet::process::Finished erase(std::vector<std::string> args, const std::string& company_on_stdin = {}) {
    std::vector<std::string> argv{CHFLEET_BINARY, "erase"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"-f", fleet().fleetPath()});
    if (!company_on_stdin.empty()) {
        argv.push_back("-");
    }
    return chfleet::process::run(argv, {}, company_on_stdin, chfleet::testing::TestFleet::kChfleetTimeout);
}

/// The JSON document a command printed (stdout) among its log lines (stderr): from the line "{" or "[" to the
/// matching closing line.
nlohmann::json jsonOf(const chfleet::process::Finished& finished) {
    std::istringstream lines(finished.output);
    std::string text;
    std::string close;
    for (std::string line; std::getline(lines, line);) {
        if (close.empty() && (line == "{" || line == "[")) {
            close = line == "{" ? "}" : "]";
        }
        if (!close.empty()) {
            text += line + "\n";
            if (line == close) {
                break;
            }
        }
    }
    return nlohmann::json::parse(text);
}

std::string ledgerFile() {
    return fleet().sandbox().dir() + "/erase-ledger.jsonl";
}

std::string ledgerText() {
    std::ifstream in(ledgerFile());
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

std::map<std::string, std::vector<std::string>> pendingByNode() {
    auto status = erase({"status", "--json"});
    return jsonOf(status).at("pending_by_node").get<std::map<std::string, std::vector<std::string>>>();
}

class Erase : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_TRUE(kSaltSet);
        for (const auto& status : fleet().sandbox().status()) {
            if (!status.alive) {
                fleet().sandbox().start(status.record.name);
            }
        }
    }
    void TearDown() override {
        if (HasFailure()) {
            fleet().printLogs();
        }
    }
};

TEST_F(Erase, DryRunChangesNothingThenTheRunErasesEveryTableOnEveryReplica) {
    const std::string company = "acme-everything-up";
    writeCompany(company, "us", 3000);
    writeCompany(company, "eu", 400);
    writeCompany("bystander-us", "us", 1000);
    writeCompany("bystander-eu", "eu", 500);
    uint64_t before = rowsEverywhere(company);
    ASSERT_GT(before, 0u);
    auto view_rows = [&] {
        uint64_t rows = 0;
        for (const auto& node : nodeNames()) {
            rows += std::stoull(fleet().scalar(
                node, "SELECT count() FROM teei.`.inner.mv_daily_company_metrics_local` WHERE company_id = " +
                          ch::quoteString(company)));
        }
        return rows;
    };
    ASSERT_GT(view_rows(), 0u) << "the materialized view holds none of the company's rows";
    auto others = othersFingerprint(company);
    std::string ledger_before = ledgerText();

    auto dry = erase({"run", "--reason", "ticket 1", "--dry-run", "--json"}, company);
    ASSERT_EQ(dry.exit_code, 0) << dry.output;
    EXPECT_EQ(rowsEverywhere(company), before);
    EXPECT_EQ(ledgerText(), ledger_before) << "a dry run wrote to the ledger";
    uint64_t counted = 0;
    auto dry_receipt = jsonOf(dry);
    for (const auto& node : dry_receipt.at("nodes")) {
        counted += node.at("rows_before").get<uint64_t>();
    }
    EXPECT_EQ(counted, before) << "the dry run's counts are not the servers'";

    auto run = erase({"run", "--reason", "GDPR Art. 17 ticket 1", "--json"}, company);
    ASSERT_EQ(run.exit_code, 0) << run.output;
    auto receipt = jsonOf(run);
    EXPECT_TRUE(receipt.at("complete").get<bool>());
    ASSERT_EQ(receipt.at("nodes").size(), nodeNames().size());
    for (const auto& node : nodeNames()) {
        EXPECT_EQ(companyRows(node, company), 0u) << node;
    }
    for (const auto& node : receipt.at("nodes")) {
        EXPECT_EQ(node.at("state"), "done") << node.dump();
        EXPECT_EQ(node.at("rows_after").get<uint64_t>(), 0u);
        if (node.at("rows_before").get<uint64_t>() > 0) {
            EXPECT_FALSE(node.at("mutations").empty()) << node.dump();
        }
    }
    EXPECT_EQ(view_rows(), 0u);
    EXPECT_EQ(othersFingerprint(company), others);
    EXPECT_GT(rowsEverywhere("bystander-us"), 0u);
    EXPECT_GT(rowsEverywhere("bystander-eu"), 0u);

    auto verify = erase({"verify", "--json"}, company);
    EXPECT_EQ(verify.exit_code, 0) << verify.output;
    // The ID is nowhere in chfleet's own records: the ledger file, each site's ledger table, the output.
    EXPECT_EQ(ledgerText().find(company), std::string::npos);
    EXPECT_EQ(run.output.find(company), std::string::npos);
    for (const auto& node : {"clickhouse-us-0", "dr-eu-0"}) {
        EXPECT_EQ(fleet().scalar(node, "SELECT count() FROM chfleet.erase_ledger WHERE position(entry, " +
                                           ch::quoteString(company) + ") > 0"),
                  "0");
    }
    auto chain = erase({"ledger", "--verify"});
    EXPECT_EQ(chain.exit_code, 0) << chain.output;
}

TEST_F(Erase, AReplicaDownStaysPendingAndIsCompletedWhenItReturns) {
    const std::string company = "acme-replica-down";
    writeCompany(company, "us", 2000);
    // The second replica of the company's US shard: it holds the company's events in its parts.
    std::string down;
    for (const auto* node : fleet().fleet().site("primary")->nodes()) {
        if (node->replica == 2 &&
            fleet().scalar(node->name, "SELECT count() FROM teei.events_local WHERE company_id = " +
                                           ch::quoteString(company)) != "0") {
            down = node->name;
        }
    }
    ASSERT_FALSE(down.empty());
    auto others = othersFingerprint(company);
    fleet().sandbox().kill(down);

    auto run = erase({"run", "--reason", "ticket 2", "--json"}, company);
    EXPECT_EQ(run.exit_code, 1) << run.output;
    auto receipt = jsonOf(run);
    EXPECT_FALSE(receipt.at("complete").get<bool>());
    for (const auto& node : receipt.at("nodes")) {
        EXPECT_EQ(node.at("state"), node.at("node") == down ? "pending" : "done") << node.dump();
    }
    auto pending = pendingByNode();
    EXPECT_EQ(pending.size(), 1u);
    EXPECT_EQ(pending.count(down), 1u);

    fleet().sandbox().start(down);  // it comes back with its old parts, rows of the company included
    auto complete = erase({"run", "--pending", "--json"});
    EXPECT_EQ(complete.exit_code, 0) << complete.output;
    EXPECT_EQ(companyRows(down, company), 0u);
    EXPECT_EQ(rowsEverywhere(company), 0u);
    EXPECT_TRUE(pendingByNode().empty());
    EXPECT_EQ(othersFingerprint(company), others);
    auto chain = erase({"ledger", "--verify"});
    EXPECT_EQ(chain.exit_code, 0) << chain.output;
}

TEST_F(Erase, TheDrSiteDownIsErasedBySyncBeforeAnythingIsCopied) {
    const std::string company = "acme-dr-down";
    writeCompany(company, "us", 1500);
    writeCompany(company, "eu", 300);
    writeCompany("bystander-dr", "eu", 300);
    auto state = fleet().sandbox().dir() + "/sync-state.json";
    auto level = fleet().chfleet(
        {"sync", "run", "-f", fleet().fleetPath(), "--once", "--active", "primary", "--state-file", state});
    ASSERT_EQ(level.exit_code, 0) << level.output;
    ASSERT_GT(companyRows("dr-us-0", company), 0u);
    ASSERT_GT(companyRows("dr-eu-0", company), 0u);
    auto others = othersFingerprint(company);

    fleet().sandbox().kill("dr-us-0");
    fleet().sandbox().kill("dr-eu-0");
    auto run = erase({"run", "--reason", "ticket 3", "--json"}, company);
    EXPECT_EQ(run.exit_code, 1) << run.output;
    auto receipt = jsonOf(run);
    for (const auto& node : receipt.at("nodes")) {
        EXPECT_EQ(node.at("state"), node.at("site") == "dr" ? "pending" : "done") << node.dump();
    }
    fleet().sandbox().start("dr-us-0");
    fleet().sandbox().start("dr-eu-0");
    // The DR still holds the rows; sync must erase them there, not copy them back to the primary.
    ASSERT_GT(companyRows("dr-us-0", company), 0u);
    auto sync = fleet().chfleet(
        {"sync", "run", "-f", fleet().fleetPath(), "--once", "--active", "primary", "--state-file", state});
    EXPECT_EQ(sync.exit_code, 0) << sync.output;
    EXPECT_EQ(rowsEverywhere(company), 0u);
    EXPECT_TRUE(pendingByNode().empty());
    EXPECT_EQ(othersFingerprint(company), others);
    // Sync with the DR as the active site copies nothing of the company back either.
    auto back = fleet().chfleet(
        {"sync", "run", "-f", fleet().fleetPath(), "--once", "--active", "dr", "--state-file", state});
    EXPECT_EQ(back.exit_code, 0) << back.output;
    EXPECT_EQ(rowsEverywhere(company), 0u);
}

TEST_F(Erase, HostileIdsAreRefusedBeforeAnythingRunsOrMatchExactlyNothing) {
    writeCompany("victim-1", "us", 300);
    writeCompany("victim-2", "eu", 300);
    auto others = othersFingerprint("");
    std::string ledger_before = ledgerText();
    const std::vector<std::string> refused = {"' OR 1=1 --",
                                              "victim-1' OR '1'='1",
                                              "a\\' OR 1=1 --",
                                              std::string("victim-1\0x", 10),
                                              "victim-1\nvictim-2",
                                              std::string(300, 'a'),
                                              " victim-1",
                                              "\"victim-1\"",
                                              "victim`1"};
    for (const auto& id : refused) {
        auto run = erase({"run", "--reason", "hostile"}, id);
        EXPECT_EQ(run.exit_code, 2) << id << ": " << run.output;
        EXPECT_NE(run.output.find("cannot erase"), std::string::npos) << run.output;
    }
    auto empty = fleet().chfleet({"erase", "run", "-f", fleet().fleetPath(), ""});
    EXPECT_EQ(empty.exit_code, 2) << empty.output;
    EXPECT_EQ(ledgerText(), ledger_before) << "a refused ID reached the ledger";
    // Text that is harmless as a quoted literal is an exact match: it matches no company, so nothing changes.
    for (const char* id : {"x OR 1=1 --", "victim-%", "victim-1; DROP TABLE teei.events_local"}) {
        auto run = erase({"run", "--reason", "odd but valid", "--json"}, id);
        EXPECT_EQ(run.exit_code, 0) << run.output;
        auto receipt = jsonOf(run);
        for (const auto& node : receipt.at("nodes")) {
            EXPECT_EQ(node.at("rows_before").get<uint64_t>(), 0u) << node.dump();
        }
    }
    EXPECT_EQ(othersFingerprint(""), others);
    EXPECT_GT(rowsEverywhere("victim-1"), 0u);
    EXPECT_GT(rowsEverywhere("victim-2"), 0u);
}

TEST_F(Erase, ATamperedLedgerEntryIsDetected) {
    writeCompany("acme-ledger", "eu", 100);
    auto run = erase({"run", "--reason", "ticket 5"}, "acme-ledger");
    ASSERT_EQ(run.exit_code, 0) << run.output;
    ASSERT_EQ(erase({"ledger", "--verify"}).exit_code, 0);

    // An edited entry in the local file.
    std::string original = ledgerText();
    std::string edited = original;
    auto at = edited.find("ticket 5");
    ASSERT_NE(at, std::string::npos);
    edited.replace(at, 8, "ticket 6");
    chfleet::files::writeAtomically(ledgerFile(), edited);
    auto check = erase({"ledger", "--verify", "--json"});
    EXPECT_EQ(check.exit_code, 3) << check.output;
    auto report = jsonOf(check);
    EXPECT_FALSE(report.at("intact").get<bool>());
    ASSERT_FALSE(report.at("problems").empty());
    EXPECT_NE(report.at("problems")[0].at("copy").get<std::string>().find("file"), std::string::npos);
    EXPECT_NE(report.at("problems")[0].at("message").get<std::string>().find("edited"), std::string::npos);
    chfleet::files::writeAtomically(ledgerFile(), original);
    EXPECT_EQ(erase({"ledger", "--verify"}).exit_code, 0);

    // An entry deleted from the DR site's table (a mutation, as someone with server access would).
    auto entries = fleet().scalar("dr-eu-0", "SELECT count(DISTINCT seq) FROM chfleet.erase_ledger");
    ASSERT_GE(std::stoi(entries), 2);
    ch::execute(*fleet().connect("dr-eu-0"), "ALTER TABLE chfleet.erase_ledger DELETE WHERE seq = 1");
    EXPECT_EQ(eventually([] { return erase({"ledger", "--verify"}).exit_code; }, 3), 3);
    auto deleted = erase({"ledger", "--verify", "--json"});
    bool named = false;
    auto report_after = jsonOf(deleted);
    for (const auto& problem : report_after.at("problems")) {
        named = named || (problem.at("copy").get<std::string>().find("site dr") != std::string::npos &&
                          problem.at("seq").get<uint64_t>() == 1);
    }
    EXPECT_TRUE(named) << deleted.output;
}

}  // namespace
