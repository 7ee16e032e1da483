// Reading the body of an INSERT (IngestServer::PendingInsert): the statement resolved to a logical table and
// a format, the body's rows fed through the RequestRouter within the size and memory limits, the request's
// fingerprint for deduplication, and every failure turned into the refusal ClickHouse would answer.
#include "ingest/protocol/PendingInsert.h"

#include <fmt/format.h>
#include <httplib.h>

#include <utility>

#include "clickhouse/Quoting.h"
#include "clickhouse/ServerError.h"
#include "common/Exception.h"
#include "ingest/format/RowFormat.h"
#include "ingest/protocol/ClickHouseHttp.h"
#include "ingest/protocol/IngestMetrics.h"
#include "ingest/protocol/InsertStatement.h"
#include "ingest/write/ErasedCompanies.h"
#include "ingest/write/ShardBatcher.h"

namespace chfleet::ingest {
namespace {

namespace server_code = clickhouse::server_code;

}  // namespace

IngestServer::PendingInsert::PendingInsert(IngestServer& server, const httplib::Request& request,
                                           std::string user)
    : server(server), request(request), user(std::move(user)) {}

IngestServer::PendingInsert::~PendingInsert() {
    server.request_bytes_ -= held;
}

template <typename Fn>
bool IngestServer::PendingInsert::guarded(Fn&& fn) {
    if (refusal) {
        return false;
    }
    try {
        fn();
    } catch (const Refusal& r) {
        refusal = r;
    } catch (const RowError& error) {
        refusal = Refusal{400, server_code::kCannotParseInputAssertionFailed, error.what(), "bad_row"};
    } catch (const UnmappedCompany& error) {
        refusal = Refusal{400, server_code::kBadArguments, error.what(), "unmapped"};
    } catch (const ResidencyMismatch& error) {
        refusal = Refusal{400, server_code::kBadArguments, error.what(), "residency"};
    } catch (const ErasedCompany& error) {
        refusal = Refusal{403, server_code::kBadArguments, error.what(), "erased"};
    } catch (const Exception& error) {
        bool syntax = std::string_view(error.what()).starts_with("Syntax error");
        refusal = Refusal{400, syntax ? server_code::kSyntaxError : server_code::kBadArguments, error.what(),
                          syntax ? "syntax" : "bad_row"};
    }
    return !refusal;
}

bool IngestServer::PendingInsert::start(std::string_view statement_text) {
    return guarded([&] {
        InsertStatement statement = parseInsert(statement_text);
        resolve(statement);
        std::string_view inline_rows = statement_text.substr(statement.data_offset);
        if (!inline_rows.empty()) {
            take(inline_rows);
        }
    });
}

bool IngestServer::PendingInsert::feed(std::string_view chunk) {
    return guarded([&] { take(chunk); });
}

bool IngestServer::PendingInsert::finish() {
    return guarded([&] {
        router->finish();
        server.metrics_->received(held, router->pieces(), router->piecesReadAgain());
        fingerprint = settings.deduplicate ? digest.hex() : std::string();
        rows = router->rowCount();
        outputs = router->take();
    });
}

void IngestServer::PendingInsert::resolve(const InsertStatement& statement) {
    const auto& fleet = server.fleet_;
    std::string database = statement.database.empty() ? param(request, "database") : statement.database;
    if (database.empty()) {
        database = "default";
    }
    if (database != fleet.schema.database) {
        throw Refusal{404, server_code::kUnknownDatabase,
                      fmt::format("Database {} doesn't exist (this ingest server writes database {})",
                                  clickhouse::quoteIdentifier(database), fleet.schema.database),
                      "unknown_table"};
    }
    // The logical name, the global Distributed table's, or a region's Distributed table's (the seed's
    // applications write to events_us_distributed): the last asserts that every row belongs to that region.
    const topology::Region* asserted_region = nullptr;
    table = fleet.schema.table(statement.table);
    for (const auto& candidate : fleet.schema.tables) {
        if (table == nullptr && candidate.globalName() == statement.table) {
            table = &candidate;
        }
        for (const auto& region : server.site_->regions) {
            if (table == nullptr && candidate.regionalName(region) == statement.table) {
                table = &candidate;
                asserted_region = &region;
            }
        }
    }
    if (table == nullptr) {
        throw Refusal{404, server_code::kUnknownTable,
                      fmt::format("Table {}.{} doesn't exist (ingest takes the logical tables of the fleet "
                                  "file, e.g. {}.{}, their _distributed and regional _<region>_distributed "
                                  "names)",
                                  database, clickhouse::quoteIdentifier(statement.table), database,
                                  fleet.schema.tables.front().name),
                      "unknown_table"};
    }
    if (table->kind != topology::TableKind::Table || table->region_key.empty()) {
        throw Refusal{400, server_code::kNotImplemented,
                      fmt::format("{}.{} is not written through ingest (a materialized view or a table "
                                  "without a region key)",
                                  database, table->name),
                      "unknown_table"};
    }
    auto format = parseFormatName(statement.format);
    if (!format) {
        throw Refusal{400, server_code::kUnknownFormat,
                      fmt::format("Unknown or unsupported input format {} (ingest reads {})",
                                  statement.format, supportedFormatNames()),
                      "syntax"};
    }
    for (const auto& [name, value] : request.params) {
        settings.apply(name, value);
    }
    for (const auto& [name, value] : statement.settings) {
        settings.apply(name, value);
    }
    erased_checked = server.erased_->size();
    router = std::make_unique<RequestRouter>(*server.routing_, *table, *format, statement.columns,
                                             settings.skip_unknown_fields, asserted_region);
    digest.addField(user);
    digest.addField(table->name);
    digest.addField(statement.format);
    for (const auto& column : statement.columns) {
        digest.addField(column);
    }
    by_token = !settings.deduplication_token.empty();
    if (by_token) {
        digest.addField(settings.deduplication_token);
    }
}

void IngestServer::PendingInsert::take(std::string_view chunk) {
    held += chunk.size();
    server.request_bytes_ += chunk.size();
    if (held > server.options_.max_body_bytes) {
        throw Refusal{
            413, server_code::kTooManyRowsOrBytes,
            fmt::format("the request body is larger than {} bytes (--max-body-bytes); split it into "
                        "several INSERTs",
                        server.options_.max_body_bytes),
            "too_large"};
    }
    if (server.request_bytes_.load() + server.batcher_->bufferedBytes() >
        server.options_.max_buffered_bytes) {
        throw Refusal{
            503, server_code::kTooManySimultaneousQueries,
            "ingest is holding as many rows as it may (--max-buffered-bytes); retry after the time in "
            "Retry-After",
            "overloaded"};
    }
    if (!by_token) {
        digest.add(chunk);
    }
    router->feed(chunk);
}

}  // namespace chfleet::ingest
