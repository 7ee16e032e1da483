// Throughput of the ingest row reader: rows per second per core for the input formats, fed in 4 KiB chunks
// as the HTTP server (cpp-httplib) hands them over, each row written back as TabSeparated for a shard. The
// rows have the shape of bench/ingest_load.cpp's events, a JSON document with escaped quotes included. Also
// the framing of a batch for sending (BM_WholeBody).
// Built as chfleet_ingest_parse_bench with everything else; run: build/chfleet_ingest_parse_bench
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "clickhouse/WholeBody.h"
#include "ingest/format/RowReader.h"

namespace {

using chfleet::ingest::FieldValue;
using chfleet::ingest::InputFormat;
using chfleet::ingest::RowReader;

/// Seven columns, the shape of the teei events table.
const std::vector<chfleet::topology::Column> columns = {
    {"event_id", "UUID", ""},      {"company_id", "String", ""}, {"user_id", "String", ""},
    {"event_type", "String", ""},  {"region", "String", ""},     {"timestamp", "DateTime", ""},
    {"payload", "String", "'{}'"},
};

std::string body(InputFormat format, size_t rows) {
    std::string data;
    for (size_t i = 0; i < rows; ++i) {
        std::string id = "3f2504e0-4f89-11d3-9a0c-" + std::to_string(100000000000 + i);
        std::string company = "company-" + std::to_string(i % 1000);
        std::string user = "user-" + std::to_string(i);
        switch (format) {
            case InputFormat::JSONEachRow:
                data += R"({"event_id":")" + id + R"(","company_id":")" + company + R"(","user_id":")" +
                        user +
                        R"(","event_type":"click","region":"us-east-1","timestamp":"2024-01-31 12:34:56",)"
                        R"("payload":"{\"source\":\"web\",\"session\":\"9f1c2a7be03d4c58a1e6f0b2d4c8e7a1\",)"
                        R"(\"amount\":4211,\"tags\":[\"csr\",\"impact\"]}"})"
                        "\n";
                break;
            case InputFormat::CSV:
                data +=
                    id + "," + company + "," + user +
                    ",click,us-east-1,2024-01-31 12:34:56,"
                    "\"{\"\"source\"\":\"\"web\"\",\"\"session\"\":\"\"9f1c2a7be03d4c58a1e6f0b2d4c8e7a1\"\","
                    "\"\"amount\"\":4211,\"\"tags\"\":[\"\"csr\"\",\"\"impact\"\"]}\"\n";
                break;
            default:
                data += id + "\t" + company + "\t" + user +
                        "\tclick\tus-east-1\t2024-01-31 12:34:56\t"
                        "{\"source\":\"web\",\"session\":\"9f1c2a7be03d4c58a1e6f0b2d4c8e7a1\","
                        "\"amount\":4211,\"tags\":[\"csr\",\"impact\"]}\n";
        }
    }
    return data;
}

void readRows(benchmark::State& state, InputFormat format) {
    constexpr size_t rows = 100000;
    constexpr size_t chunk = 4096;
    const std::string data = body(format, rows);
    std::string out;
    for (auto _ : state) {
        RowReader reader(format, columns, {}, false);
        out.clear();
        auto on_row = [&](std::span<const FieldValue> row) { reader.appendTabSeparated(out, row); };
        for (size_t offset = 0; offset < data.size(); offset += chunk) {
            reader.feed(std::string_view(data).substr(offset, chunk), on_row);
        }
        reader.finish(on_row);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * rows));
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}

void BM_JSONEachRow(benchmark::State& state) {
    readRows(state, InputFormat::JSONEachRow);
}
void BM_TabSeparated(benchmark::State& state) {
    readRows(state, InputFormat::TabSeparated);
}
void BM_CSV(benchmark::State& state) {
    readRows(state, InputFormat::CSV);
}

/// What sending a batch adds to reading it: the copy and checksum of clickhouse::wholeBody, for the TSV the
/// reader wrote from the same 100000 JSON rows (compare its bytes per second with BM_JSONEachRow's).
void BM_WholeBody(benchmark::State& state) {
    const std::string data = body(InputFormat::TabSeparated, 100000);
    for (auto _ : state) {
        std::string framed = chfleet::clickhouse::wholeBody(data);
        benchmark::DoNotOptimize(framed.data());
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}

BENCHMARK(BM_JSONEachRow)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_WholeBody)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TabSeparated)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CSV)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
