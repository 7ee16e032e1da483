// The ledger's hash chain: what verifyChain finds when an entry is edited, deleted or reordered; the subjects
// it yields; the erase: section of the fleet file.
#include <gtest/gtest.h>

#include "erase/EraseSection.h"
#include "erase/ErasureLedger.h"
#include "topology/Fleet.h"

namespace chfleet::erase {
namespace {

LedgerCopy chainOf(const std::vector<std::string>& bodies) {
    LedgerCopy copy;
    copy.name = "test";
    std::string prev = genesisHash();
    for (size_t i = 0; i < bodies.size(); ++i) {
        LedgerEntry entry{i + 1, prev, "", bodies[i]};
        entry.hash = entry.expectedHash();
        prev = entry.hash;
        copy.entries.push_back(entry);
    }
    return copy;
}

const std::vector<std::string> kBodies = {
    R"({"erasure":"e1","kind":"request","subject":"aa"})", R"({"erasure":"e1","kind":"receipt","nodes":[]})",
    R"({"erasure":"e2","kind":"request","subject":"bb"})", R"({"erasure":"e2","kind":"receipt","nodes":[]})"};

TEST(ErasureLedger, AnIntactChainHasNoProblems) {
    EXPECT_TRUE(verifyChain(chainOf(kBodies)).empty());
    EXPECT_EQ(chainHash(genesisHash(), 1, kBodies[0]), chainOf(kBodies).entries[0].hash);
    EXPECT_EQ(erasedSubjects(chainOf(kBodies).entries), (std::vector<std::string>{"aa", "bb"}));
}

TEST(ErasureLedger, AnEditedEntryIsNamed) {
    auto copy = chainOf(kBodies);
    copy.entries[1].entry = R"({"erasure":"e1","kind":"receipt","nodes":[1]})";
    auto problems = verifyChain(copy);
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_EQ(problems[0].seq, 2u);
    EXPECT_NE(problems[0].message.find("edited"), std::string::npos);
}

TEST(ErasureLedger, AnEditedEntryWithARecomputedHashBreaksTheNextLink) {
    auto copy = chainOf(kBodies);
    copy.entries[1].entry = R"({"erasure":"e1","kind":"receipt","nodes":[1]})";
    copy.entries[1].hash = copy.entries[1].expectedHash();
    auto problems = verifyChain(copy);
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_EQ(problems[0].seq, 3u);
}

TEST(ErasureLedger, ADeletedEntryIsFound) {
    auto copy = chainOf(kBodies);
    copy.entries.erase(copy.entries.begin() + 1);
    auto problems = verifyChain(copy);
    ASSERT_FALSE(problems.empty());
    EXPECT_EQ(problems[0].seq, 2u);
    EXPECT_NE(problems[0].message.find("missing"), std::string::npos);
}

TEST(ErasureLedger, ReorderedEntriesAreFound) {
    auto copy = chainOf(kBodies);
    std::swap(copy.entries[1], copy.entries[2]);
    EXPECT_FALSE(verifyChain(copy).empty());
}

TEST(ErasureLedger, TheLineOfTheFileKeepsTheEntryByteForByte) {
    auto entry = chainOf({R"({"reason":"caf\u00e9 \"quoted\""})"}).entries[0];
    auto json = nlohmann::json::parse(entry.line());
    EXPECT_EQ(json.at("entry").get<std::string>(), entry.entry);
    EXPECT_EQ(json.at("hash").get<std::string>(), entry.hash);
}

const char* kFleet = R"(fleet: f
base_port: 30000
sites:
  - name: a
    global_cluster: g
    regions:
      - {name: r1, alias: r, cluster: c, shards: 1, replicas: 1}
schema:
  database: d
  tables:
    - name: t
      columns: [{name: company_id, type: String}]
      engine: MergeTree
      order_by: company_id
      region_key: company_id
)";

TEST(EraseSection, DefaultsWithoutTheSectionAndErrorsWithFileLines) {
    auto fleet = topology::parseFleet(kFleet, "fleet.yaml");
    EXPECT_EQ(eraseConfig(fleet).salt.env, "CHFLEET_ERASE_SALT");
    EXPECT_EQ(eraseConfig(fleet).ledger_database, "chfleet");

    auto configured = topology::parseFleet(std::string(kFleet) +
                                               "erase:\n  salt_file: salt.txt\n  ledger_database: audit\n"
                                               "  mutation_timeout_seconds: 60\n",
                                           "fleet.yaml");
    EXPECT_EQ(eraseConfig(configured).salt.file, "salt.txt");
    EXPECT_EQ(eraseConfig(configured).ledger_database, "audit");
    EXPECT_EQ(eraseConfig(configured).mutation_timeout_seconds, 60);
    EXPECT_EQ(topology::parseFleet(topology::dumpFleet(configured), "dump.yaml"), configured);

    auto bad = topology::checkFleetText(
        std::string(kFleet) + "erase:\n  salt_env: A\n  salt_file: b\n  ledger_databse: x\n", "fleet.yaml");
    ASSERT_FALSE(bad.valid());
    std::string text = bad.describeProblems();
    EXPECT_NE(text.find("fleet.yaml:18: erase.salt_file: give either salt_env or salt_file"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("ledger_database"), std::string::npos) << text;
}

}  // namespace
}  // namespace chfleet::erase
