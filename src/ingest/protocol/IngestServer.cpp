// The ingest server: starting (region map, spool recovery, the HTTP routes) and stopping, its health, who a
// request is from, which way a request goes (an INSERT is read by PendingInsert.cpp, anything else forwarded
// by ReadForwarding.cpp) and how a read INSERT is deduplicated, written and answered.
#include "ingest/protocol/IngestServer.h"

#include <httplib.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <map>

#include "clickhouse/ServerError.h"
#include "common/Digest.h"
#include "common/Exception.h"
#include "common/Files.h"
#include "common/HttpEndpoints.h"
#include "common/Log.h"
#include "ingest/IngestSection.h"
#include "ingest/protocol/ClickHouseHttp.h"
#include "ingest/protocol/ConnectionQueue.h"
#include "ingest/protocol/IngestMetrics.h"
#include "ingest/protocol/InsertStatement.h"
#include "ingest/protocol/PendingInsert.h"
#include "ingest/route/RegionMap.h"
#include "ingest/route/RequestRouter.h"
#include "ingest/write/ErasedCompanies.h"
#include "ingest/write/Ledger.h"
#include "ingest/write/ShardWriter.h"
#include "ingest/write/Spool.h"
#include "topology/NodeConnection.h"

namespace chfleet::ingest {
namespace {

/// Enough of a body to hold the statement when it comes first in the body.
constexpr size_t kStatementPrefixBytes = 256 << 10;

/// ClickHouse's error codes: those ingest answers with, and those of the servers it passes on.
namespace server_code = clickhouse::server_code;

std::string decodeBase64(std::string_view text) {
    std::string out((text.size() / 4 + 1) * 3, '\0');
    int length =
        EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                        reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
    if (length < 0) {
        return {};
    }
    out.resize(static_cast<size_t>(length));
    size_t padding = text.size() - text.find_last_not_of('=') - 1;
    out.resize(out.size() - std::min(padding, out.size()));
    return out;
}

}  // namespace

IngestServer::IngestServer(const topology::Fleet& fleet, IngestOptions options)
    : fleet_(fleet), options_(std::move(options)), metrics_(std::make_unique<IngestMetrics>()) {}

IngestServer::~IngestServer() {
    stop(std::chrono::milliseconds(0));
}

void IngestServer::start() {
    auto log = log::get("ingest");
    site_ = options_.site.empty() ? &fleet_.sites.front() : fleet_.site(options_.site);
    fleet_credentials_ = topology::endpointFor(fleet_, *fleet_.nodes().front()).credentials;  // read once
    if (site_ == nullptr) {
        throw Exception(ErrorCode::BadArguments, "--site {}: the fleet has no such site", options_.site);
    }
    if (ingestConfig(fleet_).mapping_table.empty()) {
        throw Exception(
            ErrorCode::InvalidConfig,
            "{}: the schema has no company -> region mapping table (ingest.mapping_table): ingest "
            "cannot route rows",
            fleet_.source_path);
    }
    if (ingestConfig(fleet_).users.empty()) {
        log->warn("the fleet file declares no ingest users (ingest.users): every write will be refused");
    }
    regions_ = std::make_unique<RegionMap>(fleet_, site_->name, options_.mapping_refresh);
    regions_->load();  // no copy of the mapping answers: refuse to start (nothing could be routed)
    regions_->startRefresh();
    erased_ = ErasedCompanies::forFleet(fleet_, options_.erased_refresh);
    erased_->loadAtStart();  // no copy of the ledger readable, or erasures without a salt: refuse to start
    erased_->startRefresh();
    if (options_.read_threads > 1) {
        readers_ = std::make_unique<WorkerPool>(options_.read_threads);
    }
    routing_ = std::make_unique<RoutingContext>(fleet_, *site_, *regions_, readers_.get(), erased_.get());
    reads_ = std::make_unique<ReadRewriter>(fleet_.schema, *site_);
    ledger_ = std::make_unique<Ledger>(options_.dedup_window);
    writer_ = std::make_unique<ShardWriter>(fleet_, options_.write_timeout, options_.hedge_after);
    BatcherOptions batching = options_.batching;
    batching.retry_until_written = options_.mode == AckMode::Async;
    batching.send_open_batches_at_once = options_.mode == AckMode::Sync;
    BatchObserver observer{
        [this](const ShardTarget& target, size_t rows, size_t bytes) {
            metrics_->written(target, rows, bytes);
        },
        [this](const ShardTarget& target, const std::string&) { metrics_->writeFailed(target); },
        [this](const ShardTarget&, size_t rows) { metrics_->erasedRowsDropped(rows); }};
    if (options_.mode == AckMode::Async) {
        if (options_.spool_dir.empty()) {
            throw Exception(ErrorCode::BadArguments,
                            "--mode async needs --spool-dir: the folder where accepted "
                            "rows are kept until their shard takes them");
        }
        spool_ = std::make_unique<Spool>(options_.spool_dir, size_t{64} << 20);
    }
    batcher_ =
        std::make_unique<ShardBatcher>(batching, *writer_, *ledger_, spool_.get(), observer, erased_.get());
    if (spool_) {
        recoverSpool();
    }
    batcher_->start();

    auto [host, port] = http::parseListenAddress(options_.listen, "--listen", "127.0.0.1:8123");
    server_ = std::make_unique<httplib::Server>();
    // What one client can hold: a thread while it sends a request (each recv waits at most the read timeout),
    // an idle kept-alive connection for the idle timeout, and one of --max-connections; beyond the cap a
    // connection is answered 503 at once (ConnectionQueue).
    server_->new_task_queue = [this] {
        return new ConnectionQueue(options_.max_connections, [this] { metrics_->connectionRefused(); });
    };
    server_->set_pre_routing_handler([](const httplib::Request&, httplib::Response& response) {
        if (!ConnectionQueue::refuseThisConnection()) {
            return httplib::Server::HandlerResponse::Unhandled;
        }
        response.set_header("Connection", "close");
        answerError(response, 503, server_code::kTooManySimultaneousQueries,
                    "too many connections to this ingest server (--max-connections); retry later");
        return httplib::Server::HandlerResponse::Handled;
    });
    // An answer's header and body are written apart: without TCP_NODELAY the body waits for the client's
    // delayed ACK of the header (40 ms on Linux).
    server_->set_tcp_nodelay(true);
    server_->set_keep_alive_max_count(100000);
    server_->set_keep_alive_timeout(options_.idle_timeout.count());
    server_->set_read_timeout(options_.read_timeout);
    server_->set_write_timeout(std::chrono::seconds(60));
    server_->set_payload_max_length(std::numeric_limits<size_t>::max());
    auto listening_socket = std::make_shared<int>(-1);
    server_->set_socket_options([listening_socket](socket_t socket) {
        int yes = 1;
        ::setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
        *listening_socket = socket;
    });
    server_->Get("/ping", [](const httplib::Request&, httplib::Response& response) {
        response.set_content("Ok.\n", "text/plain; charset=UTF-8");
    });
    http::addMetricsAndHealth(
        *server_, metrics_->registry(), [this] { return health(); },
        [this] {
            metrics_->setDepths(batcher_->bufferedBytes() + request_bytes_.load(), batcher_->queuedBatches(),
                                spool_ ? spool_->outstandingSlices() : 0, spool_ ? spool_->bytesOnDisk() : 0,
                                regions_->size(), regions_->lookups());
        });
    server_->Get("/", [this](const httplib::Request& request, httplib::Response& response) {
        handleQuery(request, response, nullptr);
    });
    server_->Post("/", [this](const httplib::Request& request, httplib::Response& response,
                              const httplib::ContentReader& body) { handleQuery(request, response, &body); });
    server_->set_exception_handler(
        [](const httplib::Request&, httplib::Response& response, std::exception_ptr error) {
            std::string text = "internal error";
            try {
                std::rethrow_exception(error);
            } catch (const std::exception& e) {
                text = e.what();
            }
            answerError(response, 500, server_code::kStdException, text);
        });
    errno = 0;
    int bound = port == 0 ? server_->bind_to_any_port(host) : (server_->bind_to_port(host, port) ? port : -1);
    if (bound <= 0) {
        throw Exception(ErrorCode::IoError, "cannot listen on {}: {}", options_.listen,
                        errno != 0 ? std::strerror(errno) : "the address cannot be bound");
    }
    // Debian's compiled httplib listens with a backlog of 5: fifty clients connecting at once overflow it and
    // get their connections reset. Listening again on the bound socket raises the backlog.
    if (*listening_socket >= 0) {
        ::listen(*listening_socket, SOMAXCONN);
    }
    port_ = static_cast<uint16_t>(bound);
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    while (!server_->is_running()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    log->info("ingest serving on {}:{} for site {} ({} mode{}), {} companies mapped", host, port_,
              site_->name, options_.mode == AckMode::Sync ? "sync" : "async",
              spool_ ? ", spool " + options_.spool_dir : std::string(), regions_->size());
}

http::Health IngestServer::health() const {
    std::string problems;
    if (regions_->size() == 0) {
        problems += "the company -> region map is empty or not loaded";
    }
    for (const auto& region : site_->regions) {
        for (int shard = 1; shard <= region.shards; ++shard) {
            if (!writer_->anyReplicaHealthy(region, shard)) {
                problems +=
                    fmt::format("{}region {} shard {}: no healthy replica (the last write to each failed)",
                                problems.empty() ? "" : "\n", region.name, shard);
            }
        }
    }
    return problems.empty() ? http::Health{true, "ok"} : http::Health{false, std::move(problems)};
}

void IngestServer::stop(std::chrono::milliseconds drain) {
    if (!server_) {
        return;
    }
    auto log = log::get("ingest");
    log->info("ingest stopping: no new requests");
    server_->stop();
    if (thread_.joinable()) {
        thread_.join();
    }
    log->info("ingest stopping: draining batches (up to {} ms)", drain.count());
    batcher_->stop(drain);
    if (spool_) {
        spool_->stop();
        log->info("ingest stopping: {} slice(s) left in the spool for the next start",
                  spool_->outstandingSlices());
    }
    regions_->stop();
    erased_->stop();
    server_.reset();
    log->info("ingest stopped");
}

void IngestServer::recoverSpool() {
    // Every slice read back is either committed already (the ledger says so: its segment share is released),
    // part of a batch begun before the crash (sent again exactly as it was), or sent anew.
    files::makeDirectories(options_.spool_dir, 0700);
    auto pending = ledger_->attach(options_.spool_dir + "/ledger.log");
    struct Recovered {
        ShardTarget target;
        Slice slice;
    };
    std::vector<Recovered> recovered;
    std::map<std::string, size_t> by_id;
    spool_->recover([&](uint64_t segment, SpoolRecord&& record) {
        const topology::Table* table = fleet_.schema.table(record.table);
        for (auto& spooled : record.slices) {
            const topology::Region* region = routing_->region(spooled.region);
            if (table == nullptr || region == nullptr || spooled.shard < 1 ||
                spooled.shard > region->shards) {
                throw Exception(
                    ErrorCode::InvalidConfig,
                    "the spool in {} holds rows for {} on {} shard {}, which the fleet file no longer "
                    "has; restore the fleet file the rows were accepted with, let the spool drain, "
                    "then change it",
                    options_.spool_dir, record.table, spooled.region, spooled.shard);
            }
            if (!spooled.id.empty() && ledger_->isCommitted(spooled.id)) {
                spool_->release(segment);
                continue;
            }
            if (!spooled.id.empty()) {
                ledger_->claim(spooled.id);
                by_id[spooled.id] = recovered.size();
            }
            recovered.push_back(
                {ShardTarget{table, region, spooled.shard, record.columns},
                 Slice{spooled.id, std::move(spooled.rows), spooled.row_count, nullptr, segment}});
        }
    });
    std::vector<bool> resent(recovered.size(), false);
    for (auto& batch : pending) {
        std::vector<Slice> slices;
        const ShardTarget* target = nullptr;
        for (const auto& id : batch.slice_ids) {
            auto it = by_id.find(id);
            if (it != by_id.end() && !resent[it->second]) {
                resent[it->second] = true;
                target = &recovered[it->second].target;
                slices.push_back(std::move(recovered[it->second].slice));
            }
        }
        if (target != nullptr) {
            batcher_->resubmit(*target, batch.batch_id, std::move(slices));
        }
    }
    size_t count = 0;
    for (size_t i = 0; i < recovered.size(); ++i) {
        if (!resent[i]) {
            batcher_->submit(recovered[i].target, std::move(recovered[i].slice));
            ++count;
        }
    }
    log::get("ingest")->info("spool recovered: {} batch(es) resent as they were, {} slice(s) queued anew",
                             pending.size(), count);
}

std::string IngestServer::authenticate(const httplib::Request& request, httplib::Response& response) {
    std::string user = request.get_header_value("X-ClickHouse-User");
    std::string password = request.get_header_value("X-ClickHouse-Key");
    std::string authorization = request.get_header_value("Authorization");
    if (user.empty() && authorization.starts_with("Basic ")) {
        std::string decoded = decodeBase64(std::string_view(authorization).substr(6));
        size_t colon = decoded.find(':');
        user = decoded.substr(0, colon);
        password = colon == std::string::npos ? std::string() : decoded.substr(colon + 1);
    }
    if (user.empty()) {
        user = param(request, "user");
        password = param(request, "password");
    }
    if (user.empty()) {
        user = "default";
    }
    const IngestUser* known = ingestConfig(fleet_).user(user);
    std::string hash = sha256Hex(password);
    if (known == nullptr || known->password_sha256.size() != hash.size() ||
        CRYPTO_memcmp(known->password_sha256.data(), hash.data(), hash.size()) != 0) {
        metrics_->rejected("auth");
        answerError(
            response, 401, server_code::kAuthenticationFailed,
            fmt::format("{}: Authentication failed: password is incorrect, or there is no user with such "
                        "name (ingest users are declared in the fleet file's ingest.users)",
                        user));
        return {};
    }
    return user;
}

void IngestServer::handleQuery(const httplib::Request& request, httplib::Response& response,
                               const httplib::ContentReader* body) {
    if (request.has_param("query_id")) {
        response.set_header("X-ClickHouse-Query-Id", param(request, "query_id"));
    }
    std::string user = authenticate(request, response);
    if (user.empty()) {
        return;
    }
    std::string query = param(request, "query");
    if (body == nullptr) {
        if (query.empty()) {
            response.set_content("Ok.\n", "text/plain; charset=UTF-8");
        } else if (isInsert(query)) {
            metrics_->rejected("syntax");
            answerError(response, 400, server_code::kReadonly,
                        "Cannot execute query in readonly mode: an INSERT is sent with POST");
        } else {
            forward(request, response, query, {});
        }
        return;
    }
    if (!query.empty() && !isInsert(query)) {
        std::string data;
        (*body)([&](const char* chunk, size_t size) {
            data.append(chunk, size);
            return data.size() <= options_.max_body_bytes;
        });
        forward(request, response, query, data);
        return;
    }
    // One pass over the body. With the statement in the URL every chunk is rows; with the statement first in
    // the body, up to 256 KiB are kept until the statement is known, then the rest streams into the insert.
    PendingInsert insert(*this, request, user);
    std::string prefix;
    bool decided = !query.empty();
    bool too_long = false;
    if (decided) {
        insert.start(query);
    }
    (*body)([&](const char* chunk, size_t size) {
        if (decided) {
            return insert.feed(std::string_view(chunk, size));
        }
        prefix.append(chunk, size);
        if (prefix.size() < kStatementPrefixBytes) {
            return true;
        }
        decided = true;
        too_long = !isInsert(prefix);
        return !too_long && insert.start(prefix);
    });
    if (too_long) {
        metrics_->rejected("too_large");
        answerError(response, 413, server_code::kTooManyRowsOrBytes,
                    "a query other than INSERT is longer than 256 KiB");
        return;
    }
    if (!decided) {
        if (!isInsert(prefix)) {
            forward(request, response, {}, prefix);
            return;
        }
        insert.start(prefix);
    }
    commitInsert(insert, response);
}

void IngestServer::commitInsert(PendingInsert& insert, httplib::Response& response) {
    auto refuse = [&](const Refusal& refusal) {
        metrics_->rejected(refusal.reason);
        answerError(response, refusal.status, refusal.code, refusal.message);
    };
    if (!insert.finish()) {
        refuse(*insert.refusal);
        return;
    }
    const topology::Table* table = insert.table;
    const std::string& fingerprint = insert.fingerprint;
    auto& outputs = insert.outputs;
    size_t rows = insert.rows;
    // Deduplication: a slice this server already wrote (or is writing) for the same request is not written
    // again; in sync mode the request waits for a slice another attempt is still writing.
    std::vector<std::pair<ShardTarget, Slice>> slices;
    std::vector<std::string> in_flight;
    for (auto& output : outputs) {
        std::string id = fingerprint.empty() ? std::string()
                                             : fmt::format("{}/{}/{}", fingerprint,
                                                           output.target.region->name, output.target.shard);
        auto claim = id.empty() ? Ledger::Claim::Claimed : ledger_->claim(id);
        if (claim == Ledger::Claim::Committed) {
            continue;
        }
        if (claim == Ledger::Claim::InFlight) {
            in_flight.push_back(id);
            continue;
        }
        slices.push_back({output.target, Slice{id, std::move(output.rows), output.row_count, nullptr, 0,
                                               insert.erased_checked}});
    }
    size_t bytes = 0;
    for (const auto& [target, slice] : slices) {
        bytes += slice.rows.size();
    }
    if (options_.mode == AckMode::Async) {
        if (!slices.empty()) {
            SpoolRecord record{table->name, slices.front().first.columns, {}};
            for (const auto& [target, slice] : slices) {
                record.slices.push_back(
                    {target.region->name, target.shard, slice.id, slice.row_count, slice.rows});
            }
            uint64_t segment = 0;
            try {
                segment = spool_->append(record);
            } catch (const Exception& error) {
                for (const auto& [target, slice] : slices) {
                    ledger_->release(slice.id);
                }
                refuse({500, server_code::kUnknownException,
                        fmt::format("the rows could not be spooled: {}", error.what()), "write_failed"});
                return;
            }
            for (auto& [target, slice] : slices) {
                slice.spool_segment = segment;
                batcher_->submit(target, std::move(slice));
            }
        }
    } else {
        auto ticket = std::make_shared<RequestTicket>(slices.size());
        for (auto& [target, slice] : slices) {
            slice.ticket = ticket;
            batcher_->submit(target, std::move(slice));
        }
        std::optional<WriteFailure> failure = ticket->wait(options_.write_timeout * 2);
        // Slices another attempt of this request is writing: wait until they are committed or given back.
        auto deadline = std::chrono::steady_clock::now() + options_.write_timeout * 2;
        for (const auto& id : in_flight) {
            while (!failure && !ledger_->isCommitted(id)) {
                auto claim = ledger_->claim(id);
                if (claim == Ledger::Claim::Claimed) {
                    ledger_->release(id);
                    failure = WriteFailure{server_code::kNetworkError, 503,
                                           "an earlier attempt of this request failed on a shard; retry it"};
                } else if (std::chrono::steady_clock::now() > deadline) {
                    failure = WriteFailure{server_code::kTimeoutExceeded, 504,
                                           "an earlier attempt of this request is still being written"};
                } else if (claim == Ledger::Claim::InFlight) {
                    std::this_thread::sleep_for(std::chrono::milliseconds(10));
                }
            }
        }
        if (failure) {
            refuse({failure->http_status, failure->server_code, failure->message, "write_failed"});
            return;
        }
    }
    response.set_header(
        "X-ClickHouse-Summary",
        fmt::format(R"({{"read_rows":"0","read_bytes":"0","written_rows":"{}","written_bytes":"{}",)"
                    R"("total_rows_to_read":"0"}})",
                    rows, bytes));
    response.status = 200;
    metrics_->answered(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - insert.started).count());
}

}  // namespace chfleet::ingest
