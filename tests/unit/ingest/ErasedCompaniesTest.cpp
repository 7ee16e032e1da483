#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "clickhouse/Quoting.h"
#include "common/Exception.h"
#include "erase/Subject.h"
#include "ingest/write/ErasedCompanies.h"

namespace chfleet::ingest {
namespace {

constexpr const char* kSalt = "unit-test-salt";

/// A ledger the test controls: the subjects it returns, or a failure.
struct FakeLedger {
    std::vector<std::string> subjects;
    bool fails = false;

    ErasedCompanies::Source source() {
        return [this] {
            if (fails) {
                throw Exception(ErrorCode::ConnectionFailed, "no copy of the ledger answered");
            }
            return subjects;
        };
    }
};

std::string subject(const std::string& id) {
    return erase::subjectOf(kSalt, id);
}

ErasedCompanies make(FakeLedger& ledger, std::string salt = kSalt, std::string type = "String") {
    return ErasedCompanies(std::move(salt), std::move(type), ledger.source(), std::chrono::seconds(60));
}

TEST(ErasedCompanies, NothingErasedMeansNothingIsHashed) {
    FakeLedger ledger;
    auto erased = make(ledger);
    erased.loadAtStart();
    EXPECT_EQ(erased.size(), 0u);
    EXPECT_FALSE(erased.erasedSubject("acme"));
    EXPECT_EQ(erased.hashesComputed(), 0u);
}

TEST(ErasedCompanies, RecognisesAnErasedCompanyAndHashesEachCompanyOnce) {
    FakeLedger ledger{{subject("acme")}};
    auto erased = make(ledger);
    erased.loadAtStart();
    for (int i = 0; i < 1000; ++i) {
        ASSERT_EQ(erased.erasedSubject("acme"), subject("acme"));
        ASSERT_FALSE(erased.erasedSubject("globex"));
    }
    EXPECT_EQ(erased.hashesComputed(), 2u);
}

TEST(ErasedCompanies, ACompanyErasedLaterIsRecognisedAfterTheNextLoad) {
    FakeLedger ledger;
    auto erased = make(ledger);
    erased.loadAtStart();
    ledger.subjects = {subject("globex")};
    EXPECT_FALSE(erased.erasedSubject("globex"));  // not read yet
    EXPECT_TRUE(erased.load());
    EXPECT_EQ(erased.size(), 1u);
    EXPECT_EQ(erased.erasedSubject("globex"), subject("globex"));
}

TEST(ErasedCompanies, TheSetOnlyGrows) {
    FakeLedger ledger{{subject("a"), subject("b")}};
    auto erased = make(ledger);
    erased.loadAtStart();
    ledger.subjects = {subject("c")};  // fewer copies answered this time
    EXPECT_TRUE(erased.load());
    ledger.fails = true;  // none answered
    EXPECT_FALSE(erased.load());
    EXPECT_EQ(erased.size(), 3u);
    for (const char* id : {"a", "b", "c"}) {
        EXPECT_TRUE(erased.erasedSubject(id)) << id;
    }
}

TEST(ErasedCompanies, MatchesTheCanonicalIdOfTheKeyType) {
    std::string id = "0f8fad5b-d9cb-469f-a165-70867728950e";
    FakeLedger ledger{{subject(id)}};
    auto erased = make(ledger, kSalt, "UUID");
    erased.loadAtStart();
    EXPECT_TRUE(erased.erasedSubject("0F8FAD5B-D9CB-469F-A165-70867728950E"));

    FakeLedger numbers{{subject("42")}};
    auto by_number = make(numbers, kSalt, "UInt64");
    by_number.loadAtStart();
    EXPECT_TRUE(by_number.erasedSubject("0042"));
    EXPECT_FALSE(by_number.erasedSubject("420"));
}

TEST(ErasedCompanies, WithoutASaltErasuresFailClosed) {
    FakeLedger ledger{{subject("acme")}};
    auto erased = make(ledger, "");
    try {
        erased.loadAtStart();
        ADD_FAILURE() << "started without a salt while the ledger records an erasure";
    } catch (const Exception& e) {
        EXPECT_EQ(e.code(), ErrorCode::InvalidConfig);
        EXPECT_NE(std::string(e.what()).find("no erasure salt"), std::string::npos) << e.what();
    }
    EXPECT_THROW(erased.erasedSubject("globex"), Exception);

    FakeLedger empty;
    auto unsalted = make(empty, "");
    unsalted.loadAtStart();  // nothing erased: nothing to recognise
    EXPECT_FALSE(unsalted.erasedSubject("globex"));
}

TEST(ErasedCompanies, DropsExactlyTheErasedCompaniesRowsFromTabSeparatedRows) {
    std::string odd = "odd\tname\\with\nescapes";
    FakeLedger ledger{{subject("acme"), subject(odd)}};
    auto erased = make(ledger);
    erased.loadAtStart();
    std::string escaped = clickhouse::escapeTsvField(odd);
    std::string rows =
        "1\tacme\tx\n"
        "2\tglobex\ty\n"
        "3\t" +
        escaped +
        "\tz\n"
        "4\tacme-corp\tw\n"
        "5\tacme\tv";  // a last line without its line end
    auto dropped = erased.dropErasedRows(rows, 1);
    EXPECT_EQ(rows, "2\tglobex\ty\n4\tacme-corp\tw\n");
    ASSERT_EQ(dropped.size(), 2u);
    EXPECT_EQ(dropped[subject("acme")], 2u);
    EXPECT_EQ(dropped[subject(odd)], 1u);

    std::string untouched = "1\tglobex\n2\tinitech\n";
    EXPECT_TRUE(erased.dropErasedRows(untouched, 1).empty());
    EXPECT_EQ(untouched, "1\tglobex\n2\tinitech\n");
    std::string first_column = "acme\t1\nglobex\t2\n";
    erased.dropErasedRows(first_column, 0);
    EXPECT_EQ(first_column, "globex\t2\n");
}

TEST(ErasedCompanies, FindsTheRegionKeyInAColumnList) {
    topology::Table table;
    table.name = "events";
    table.region_key = "company_id";
    for (const char* name : {"event_id", "company_id", "payload"}) {
        topology::Column column;
        column.name = name;
        column.type = "String";
        table.columns.push_back(column);
    }
    EXPECT_EQ(regionKeyIndex(table, ""), 1u);
    EXPECT_EQ(regionKeyIndex(table, "(`company_id`, `event_id`)"), 0u);
    EXPECT_EQ(regionKeyIndex(table, "(`event_id`, `pay,load`, `company_id`)"), 2u);
    EXPECT_EQ(regionKeyIndex(table, "(`a\\`b`, `company_id`)"), 1u);
    EXPECT_FALSE(regionKeyIndex(table, "(`event_id`, `payload`)"));
}

TEST(ErasedCompanies, AnIdIsShownByAShortPrefixOnly) {
    EXPECT_EQ(companyIdPrefix("acme-corp"), "'acme'…");
    EXPECT_EQ(companyIdPrefix("ab"), "'a'…");
    EXPECT_EQ(companyIdPrefix("a"), "''…");
    EXPECT_EQ(companyIdPrefix("ééé"), "'é'…");  // never half a character
    EXPECT_EQ(companyIdPrefix("it's-a-company"), "'it\\'s'…");
}

}  // namespace
}  // namespace chfleet::ingest
