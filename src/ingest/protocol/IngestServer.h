#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <thread>

#include "clickhouse/Connection.h"
#include "common/HttpEndpoints.h"
#include "common/WorkerPool.h"
#include "ingest/protocol/ReadRewriter.h"
#include "ingest/write/ShardBatcher.h"
#include "topology/Fleet.h"

namespace httplib {
class Server;
struct Request;
struct Response;
class ContentReader;
}  // namespace httplib

namespace chfleet::ingest {

class ConnectionQueue;
class ErasedCompanies;
class IngestMetrics;
class Ledger;
class RegionMap;
class RoutingContext;
class ShardWriter;
class Spool;

enum class AckMode {
    Sync,   ///< 200 once the rows are committed on their shards
    Async,  ///< 200 once the rows are synced to the local spool
};

struct IngestOptions {
    std::string listen = "127.0.0.1:8124";  ///< not 8123: clickhouse-server's own HTTP port on the same host
    std::string site;                       ///< the site written to; empty: the first one of the fleet file
    AckMode mode = AckMode::Sync;
    std::string spool_dir;  ///< required in async mode
    BatcherOptions batching;
    size_t max_body_bytes = 256 << 20;            ///< a bigger request body is refused (413)
    size_t max_buffered_bytes = size_t{1} << 30;  ///< rows held in memory at once; beyond: 503 + Retry-After
    std::chrono::seconds mapping_refresh{30};
    /// How often the erasure ledger is read again for companies erased since (ErasedCompanies); erase waits
    /// erase.ingest_grace_seconds, longer than this, before it deletes.
    std::chrono::seconds erased_refresh{2};
    std::chrono::milliseconds write_timeout{60000};  ///< per batch, per replica
    /// A replica that has not answered a batch this long (or 4 times its recent write time, if longer) gets
    /// a second replica of its shard writing the same block beside it (ShardWriter).
    std::chrono::milliseconds hedge_after{2000};
    /// Connections served at once, each on a thread of its own; more are answered 503 and closed.
    size_t max_connections = 512;
    /// A client that sends nothing for this long in the middle of a request (its header or body) is
    /// disconnected.
    std::chrono::seconds read_timeout{10};
    /// A kept-alive connection with no new request for this long is closed.
    std::chrono::seconds idle_timeout{10};
    /// Threads that read large bodies in pieces (RequestRouter); 1: each body on its request's thread alone.
    size_t read_threads = std::max(1u, std::thread::hardware_concurrency());
    size_t dedup_window = 1000000;  ///< request slices remembered for deduplication
};

/// `chfleet ingest serve`: an HTTP server that answers like ClickHouse's HTTP interface for writes.
/// INSERT ... FORMAT requests are authenticated against the fleet's ingest users, their rows validated,
/// routed to the shard of their company's region and written through the ShardBatcher (see there);
/// every other statement has its logical table names made real (ReadRewriter) and is forwarded, read-only,
/// to one replica of a company's shard when it pins one company, else to a node of the site. GET /ping
/// answers "Ok.", GET /metrics the Prometheus metrics, GET /healthz the server's health. What one client can
/// hold is bounded: a thread per connection up to max_connections (ConnectionQueue), read and idle timeouts.
class IngestServer {
  public:
    IngestServer(const topology::Fleet& fleet, IngestOptions options);
    ~IngestServer();
    IngestServer(const IngestServer&) = delete;
    IngestServer& operator=(const IngestServer&) = delete;

    /// Loads the region map, replays the spool (async mode), binds and starts serving on a thread of its
    /// own. Throws Exception naming what could not be done.
    void start();
    /// Stops taking requests, drains what is queued (up to `drain`), stops. Safe to call twice.
    void stop(std::chrono::milliseconds drain = std::chrono::seconds(10));
    uint16_t port() const { return port_; }

  private:
    void handleQuery(const httplib::Request& request, httplib::Response& response,
                     const httplib::ContentReader* body);
    struct PendingInsert;
    /// Deduplicates the routed rows of a finished request against the ledger and writes them (sync: waits
    /// for the shards; async: spools them), then answers.
    void commitInsert(PendingInsert& insert, httplib::Response& response);
    void forward(const httplib::Request& request, httplib::Response& response, const std::string& query,
                 const std::string& body);
    /// Where a SELECT pinned to one company is read: its region and shard.
    struct ShardRead {
        const topology::Region* region;
        int shard;
    };
    /// The shard holding every row the pinned SELECT can read, or nullopt when the general path must answer
    /// (a sharding key that is not the company's alone, a company with no region, the mapping unreadable).
    std::optional<ShardRead> shardRead(const ReadPlan::Pin& pin);
    /// The authenticated user, or empty after answering 401.
    std::string authenticate(const httplib::Request& request, httplib::Response& response);
    void recoverSpool();
    /// The answer of /healthz: unhealthy while the company -> region map is empty and while some shard of the
    /// site has no healthy replica (ShardWriter::anyReplicaHealthy), naming each such shard.
    http::Health health() const;

    const topology::Fleet& fleet_;
    IngestOptions options_;
    const topology::Site* site_ = nullptr;
    clickhouse::Credentials fleet_credentials_;  ///< the fleet account, for forwarded statements
    std::unique_ptr<IngestMetrics> metrics_;
    std::unique_ptr<RegionMap> regions_;
    std::unique_ptr<ErasedCompanies> erased_;
    std::unique_ptr<WorkerPool> readers_;
    std::unique_ptr<RoutingContext> routing_;
    std::unique_ptr<ReadRewriter> reads_;
    std::unique_ptr<Ledger> ledger_;
    std::unique_ptr<Spool> spool_;
    std::unique_ptr<ShardWriter> writer_;
    std::unique_ptr<ShardBatcher> batcher_;
    std::unique_ptr<httplib::Server> server_;
    std::thread thread_;
    std::atomic<size_t> request_bytes_{0};  ///< body bytes held by requests being read
    std::atomic<size_t> forward_turn_{0};
    uint16_t port_ = 0;
};

}  // namespace chfleet::ingest
