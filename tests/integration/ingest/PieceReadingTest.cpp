// RequestRouter reading large bodies in pieces on several threads, against the teei sandbox's real company ->
// region map: whatever the cuts fall on (rows spread over several lines, escaped and quoted line ends, commas
// between JSON objects), the slices are byte for byte those of reading on one thread, and a bad row or an
// unmapped company is refused with the same message, naming the same row. Companies are prefixed "pieces-".
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "MapCompanies.h"
#include "TestFleet.h"
#include "common/Exception.h"
#include "common/WorkerPool.h"
#include "ingest/route/RegionMap.h"
#include "ingest/route/RequestRouter.h"

using chfleet::testing::FleetEnvironment;
namespace ingest = chfleet::ingest;
using ingest::InputFormat;

namespace {

constexpr int kCompanies = 40;  // half US, half EU

chfleet::testing::TestFleet& fleet() {
    return FleetEnvironment::fleet();
}

/// The company map of the primary site, with the "pieces-" companies imported once.
ingest::RegionMap& regionMap() {
    static ingest::RegionMap* map = [] {
        std::vector<std::pair<std::string, std::string>> companies;
        for (int i = 0; i < kCompanies; ++i) {
            companies.emplace_back(fmt::format("pieces-{:02}", i), i % 2 == 0 ? "us-east-1" : "eu-central-1");
        }
        chfleet::testing::mapCompanies(companies);
        auto* loaded = new ingest::RegionMap(fleet().fleet(), "primary", std::chrono::seconds(600));
        loaded->load();
        return loaded;
    }();
    return *map;
}

/// What routing a body gave: target -> (rows, row count), or the error it was refused with.
struct Routing {
    std::map<std::string, std::pair<std::string, size_t>> slices;
    std::string error;
    size_t pieces = 0;
    size_t pieces_read_again = 0;
};

/// Routes `body` into teei.events, fed in chunks of random sizes (1 byte to 16 KiB, as a socket hands them
/// over); `readers` null reads it on this thread alone.
Routing route(const std::string& body, InputFormat format, chfleet::WorkerPool* readers,
              std::vector<std::string> columns = {}) {
    ingest::RoutingContext context(fleet().fleet(), *fleet().fleet().site("primary"), regionMap(), readers);
    Routing result;
    ingest::RequestRouter router(context, *fleet().fleet().schema.table("events"), format, columns, false);
    try {
        std::mt19937 random(7);
        for (size_t at = 0; at < body.size();) {
            size_t size = std::min(body.size() - at, size_t{1} + random() % (16 << 10));
            router.feed(std::string_view(body).substr(at, size));
            at += size;
        }
        router.finish();
        for (auto& output : router.take()) {
            result.slices[output.target.key()] = {std::move(output.rows), output.row_count};
        }
    } catch (const chfleet::Exception& error) {
        result.error = error.what();
    }
    result.pieces = router.pieces();
    result.pieces_read_again = router.piecesReadAgain();
    return result;
}

size_t rowsOf(const Routing& routing) {
    size_t rows = 0;
    for (const auto& [target, slice] : routing.slices) {
        rows += slice.second;
    }
    return rows;
}

/// Reads `body` on one thread and on three, and expects the very same slices, or the same refusal.
Routing expectSameInPieces(const std::string& body, InputFormat format,
                           std::vector<std::string> columns = {}) {
    chfleet::WorkerPool readers(3);
    Routing alone = route(body, format, nullptr, columns);
    Routing split = route(body, format, &readers, columns);
    EXPECT_EQ(alone.pieces, 0u);
    EXPECT_GT(split.pieces, 3u) << "the body was not read in pieces";
    EXPECT_EQ(split.error, alone.error);
    EXPECT_EQ(split.slices.size(), alone.slices.size());
    for (const auto& [target, slice] : alone.slices) {
        auto it = split.slices.find(target);
        if (it == split.slices.end()) {
            ADD_FAILURE() << target << ": no such slice when read in pieces";
            continue;
        }
        EXPECT_EQ(it->second.second, slice.second) << target;
        EXPECT_TRUE(it->second.first == slice.first) << target << ": the rows differ";
    }
    return split;
}

std::string uuid(int n) {
    return fmt::format("00000000-0000-4000-8000-{:012}", n);
}

std::string company(int n) {
    return fmt::format("pieces-{:02}", n * 7 % kCompanies);
}

/// About 1.5 MB of JSONEachRow, one object per line; `layout` changes how rows are written.
enum class JsonLayout { OnePerLine, PrettyPrinted, CommasAndBlankLines };
std::string jsonBody(int rows, JsonLayout layout, int bad_row = 0) {
    std::string body;
    for (int n = 1; n <= rows; ++n) {
        std::string payload = fmt::format(
            R"({{\"n\":{},\"text\":\"line one\nline two\",\"pad\":\"{:>{}}\"}})", n, "x", 100 + n % 300);
        std::string id = n == bad_row ? "not-a-uuid" : uuid(n);
        const char* sep = layout == JsonLayout::PrettyPrinted ? ",\n  " : ",";
        body += fmt::format(R"({{"event_id":"{}"{}"company_id":"{}"{}"event_type":"click"{})"
                            R"("timestamp":"2026-11-{:02} 10:00:00"{}"payload":"{}"}})",
                            id, sep, company(n), sep, sep, 1 + n % 20, sep, payload);
        if (layout == JsonLayout::CommasAndBlankLines) {
            body += n % 3 == 0 ? ",\n" : (n % 3 == 1 ? "\n\n" : " \n");
        } else {
            body += "\n";
        }
    }
    return body;
}

/// TabSeparated rows whose payload holds escaped line ends, some as a backslash before a real line end.
std::string tsvBody(int rows, bool with_names) {
    std::string body = with_names ? "payload\tcompany_id\tevent_id\ttimestamp\n" : "";
    for (int n = 1; n <= rows; ++n) {
        std::string payload = n % 4 == 0 ? fmt::format("first\\\nsecond {}\\\\", n)
                                         : fmt::format("plain {} \\t tab \\n {:>{}}", n, "y", 80 + n % 200);
        if (with_names) {
            body +=
                fmt::format("{}\t{}\t{}\t2026-11-{:02} 10:00:00\n", payload, company(n), uuid(n), 1 + n % 20);
        } else {
            body += fmt::format("{}\t{}\tclick\t2026-11-{:02} 10:00:00\t{}\n", uuid(n), company(n),
                                1 + n % 20, payload);
        }
    }
    return body;
}

/// CSV rows whose quoted payload spans lines, some with doubled quotes.
std::string csvBody(int rows, bool with_names) {
    std::string body = with_names ? "company_id,event_id,payload\n" : "";
    for (int n = 1; n <= rows; ++n) {
        std::string payload = n % 3 == 0 ? fmt::format("\"spans\nlines \"\"{}\"\"\n\"", n)
                                         : fmt::format("\"one line {:>{}}\"", "z", 90 + n % 250);
        if (with_names) {
            body += fmt::format("{},{},{}\r\n", company(n), uuid(n), payload);
        } else {
            body += fmt::format("{},{},{}\n", uuid(n), company(n), payload);
        }
    }
    return body;
}

const std::vector<std::string> kColumns{"event_id", "company_id", "event_type", "timestamp", "payload"};

TEST(PieceReading, JsonRowsWhateverTheirLayout) {
    for (auto layout : {JsonLayout::OnePerLine, JsonLayout::PrettyPrinted, JsonLayout::CommasAndBlankLines}) {
        SCOPED_TRACE(static_cast<int>(layout));
        auto split = expectSameInPieces(jsonBody(6000, layout), InputFormat::JSONEachRow, kColumns);
        EXPECT_EQ(split.error, "");
        EXPECT_EQ(rowsOf(split), 6000u);
        if (layout == JsonLayout::OnePerLine) {
            EXPECT_EQ(split.pieces_read_again, 0u) << "every guess holds";
        }
        if (layout == JsonLayout::PrettyPrinted) {
            EXPECT_GT(split.pieces_read_again, 0u) << "cuts fell inside rows";
        }
    }
}

TEST(PieceReading, TabSeparatedAndCsvWithLineEndsInsideValues) {
    struct Case {
        std::string body;
        InputFormat format;
        std::vector<std::string> columns;
    };
    std::vector<Case> cases{{tsvBody(8000, false), InputFormat::TabSeparated, kColumns},
                            {tsvBody(8000, true), InputFormat::TabSeparatedWithNames, {}},
                            {csvBody(8000, false), InputFormat::CSV, {"event_id", "company_id", "payload"}},
                            {csvBody(8000, true), InputFormat::CSVWithNames, {}}};
    for (const auto& [body, format, columns] : cases) {
        SCOPED_TRACE(ingest::formatName(format));
        auto split = expectSameInPieces(body, format, columns);
        EXPECT_EQ(split.error, "");
        EXPECT_EQ(rowsOf(split), 8000u);
    }
}

TEST(PieceReading, ABadRowDeepInTheBodyIsNamedAsOnOneThread) {
    for (auto layout : {JsonLayout::OnePerLine, JsonLayout::PrettyPrinted}) {
        auto split = expectSameInPieces(jsonBody(6000, layout, 4321), InputFormat::JSONEachRow, kColumns);
        EXPECT_NE(split.error.find("row 4321"), std::string::npos) << split.error;
        EXPECT_TRUE(split.slices.empty());
    }
    // A row cut short at the very end of the body.
    std::string truncated = tsvBody(8000, false);
    truncated.resize(truncated.size() - 30);
    auto split = expectSameInPieces(truncated, InputFormat::TabSeparated, kColumns);
    EXPECT_NE(split.error.find("row 8000"), std::string::npos) << split.error;
}

TEST(PieceReading, AnUnmappedCompanyIsNamedByItsRowInTheWholeBody) {
    std::string body = jsonBody(6000, JsonLayout::OnePerLine);
    std::string needle = fmt::format(R"("event_id":"{}","company_id":"{}")", uuid(5000), company(5000));
    auto at = body.find(needle);
    ASSERT_NE(at, std::string::npos);
    body.replace(at, needle.size(),
                 fmt::format(R"("event_id":"{}","company_id":"pieces-nobody")", uuid(5000)));
    auto split = expectSameInPieces(body, InputFormat::JSONEachRow, kColumns);
    EXPECT_NE(split.error.find("row 5000: company 'pieces-nobody' has no region"), std::string::npos)
        << split.error;
}

}  // namespace
