// `chfleet ingest serve`: the ClickHouse-compatible write endpoint.
#include <malloc.h>

#include <iostream>

#include "common/Command.h"
#include "common/Exception.h"
#include "common/Log.h"
#include "common/Signals.h"
#include "ingest/protocol/IngestServer.h"
#include "topology/Fleet.h"

namespace chfleet {
namespace {

/// Each request allocates its body's pieces and slices afresh, megabytes of them. By default glibc hands
/// blocks over 128 KiB out as fresh mappings and returns freed memory above 128 KiB at the heap's top to the
/// kernel, so every request paid again for zeroed pages: about 1,200 page faults per 10,000-row request,
/// some 5% of the server's CPU (perf stat -e page-faults). Blocks up to 32 MiB now come from the heap, which
/// keeps up to 64 MiB of freed memory (per malloc arena) for the next requests. Memory stays bounded by
/// --max-buffered-bytes and the requests in flight; what is kept is reused, not added to.
void keepFreedMemoryForReuse() {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
}

}  // namespace

int ingestMain(const std::vector<std::string>& args) {
    CLI::App app{
        "A write endpoint that answers like a ClickHouse server over HTTP: point any ClickHouse client at "
        "it\n"
        "and send INSERT INTO db.table [(columns)] FORMAT "
        "JSONEachRow|TabSeparated|TSVWithNames|CSV|CSVWithNames.\n"
        "Each row goes to its company's region (the fleet's company -> region mapping) and to the shard the\n"
        "table's sharding key names there, on a healthy replica. Other statements are forwarded read-only\n"
        "to a node of the site. GET /ping, /metrics, /healthz. See docs/ingest.md.\n\n"
        "Modes: sync (default): 200 means the rows are committed in ClickHouse. async: 200 means they are\n"
        "synced to the spool (--spool-dir), replayed after a crash and written when their shard is up.\n\n"
        "Example:\n"
        "  chfleet ingest serve -f fleet.yaml --listen 0.0.0.0:8124\n"
        "  curl -u app:PASSWORD --data-binary @rows.ndjson \\\n"
        "    'http://127.0.0.1:8124/?query=INSERT%20INTO%20teei.events%20FORMAT%20JSONEachRow'",
        "chfleet ingest"};
    addCommonOptions(app);
    app.require_subcommand(1);
    std::string fleet_file;
    std::string mode = "sync";
    ingest::IngestOptions options;
    int batch_wait_ms = static_cast<int>(options.batching.batch_wait.count());
    int refresh_seconds = static_cast<int>(options.mapping_refresh.count());
    int write_timeout_ms = static_cast<int>(options.write_timeout.count());
    int drain_seconds = 10;
    auto* serve = app.add_subcommand("serve", "serve until SIGTERM/SIGINT (then drain and stop)");
    addFleetFileOption(*serve, fleet_file);
    serve
        ->add_option(
            "--drain-seconds", drain_seconds,
            "on SIGTERM/SIGINT: how long to keep sending pending batches to their shards before exiting "
            "(async: what is left stays spooled for the next start)")
        ->check(CLI::Range(0, 3600))
        ->capture_default_str();
    serve->add_option("--listen", options.listen, "HOST:PORT to serve on (port 0: any free port)")
        ->capture_default_str();
    serve->add_option("--site", options.site, "the site written to (default: the file's first site)");
    serve->add_option("--mode", mode, "sync or async")
        ->check(CLI::IsMember({"sync", "async"}))
        ->capture_default_str();
    serve->add_option("--spool-dir", options.spool_dir,
                      "async mode: where accepted rows wait for their shard");
    serve
        ->add_option("--batch-rows", options.batching.batch_rows,
                     "a batch to a shard is sent at this many rows")
        ->capture_default_str();
    serve->add_option("--batch-bytes", options.batching.batch_bytes, "... or at this many bytes")
        ->capture_default_str();
    serve->add_option("--batch-wait-ms", batch_wait_ms, "... or this long after its first rows")
        ->capture_default_str();
    serve->add_option("--senders", options.batching.senders, "batches written at once")
        ->capture_default_str();
    serve->add_option("--max-body-bytes", options.max_body_bytes, "larger request bodies are refused (413)")
        ->capture_default_str();
    serve
        ->add_option("--max-buffered-bytes", options.max_buffered_bytes,
                     "rows held in memory at once; beyond, requests get 503 with Retry-After")
        ->capture_default_str();
    serve
        ->add_option("--mapping-refresh-seconds", refresh_seconds,
                     "how often the company -> region map is reloaded")
        ->capture_default_str();
    int erased_refresh_seconds = static_cast<int>(options.erased_refresh.count());
    serve
        ->add_option("--erased-refresh-seconds", erased_refresh_seconds,
                     "how often the erasure ledger is read again: rows of a company erased since are refused "
                     "and dropped from unwritten batches (keep below the fleet's erase.ingest_grace_seconds)")
        ->check(CLI::Range(1, 3600))
        ->capture_default_str();
    serve->add_option("--write-timeout-ms", write_timeout_ms, "per batch and replica")->capture_default_str();
    int hedge_after_ms = static_cast<int>(options.hedge_after.count());
    serve
        ->add_option("--hedge-after-ms", hedge_after_ms,
                     "a replica silent on a batch this long (or 4x its recent write time) gets the next "
                     "replica of its shard writing the same block beside it (deduplicated by ClickHouse)")
        ->capture_default_str();
    serve
        ->add_option("--max-connections", options.max_connections,
                     "connections served at once (a thread each); more are answered 503 and closed")
        ->capture_default_str();
    int read_timeout_seconds = static_cast<int>(options.read_timeout.count());
    int idle_timeout_seconds = static_cast<int>(options.idle_timeout.count());
    serve
        ->add_option("--read-timeout-seconds", read_timeout_seconds,
                     "a client silent this long in the middle of a request (header or body) is disconnected")
        ->capture_default_str();
    serve
        ->add_option("--idle-timeout-seconds", idle_timeout_seconds,
                     "a kept-alive connection without a new request this long is closed")
        ->capture_default_str();
    serve
        ->add_option("--read-threads", options.read_threads,
                     "threads that read large bodies in pieces (default: one per core); 1: each body on "
                     "its request's thread")
        ->capture_default_str();

    return runCommand(app, args, [&]() -> int {
        auto fleet = topology::loadFleet(fleet_file);
        options.mode = mode == "async" ? ingest::AckMode::Async : ingest::AckMode::Sync;
        options.batching.batch_wait = std::chrono::milliseconds(batch_wait_ms);
        options.mapping_refresh = std::chrono::seconds(refresh_seconds);
        options.erased_refresh = std::chrono::seconds(erased_refresh_seconds);
        options.write_timeout = std::chrono::milliseconds(write_timeout_ms);
        options.hedge_after = std::chrono::milliseconds(hedge_after_ms);
        options.read_timeout = std::chrono::seconds(read_timeout_seconds);
        options.idle_timeout = std::chrono::seconds(idle_timeout_seconds);
        if (options.batching.batch_rows == 0 || options.batching.senders == 0 ||
            options.max_connections == 0 || options.read_threads == 0 || read_timeout_seconds <= 0 ||
            idle_timeout_seconds <= 0 || hedge_after_ms <= 0) {
            throw Exception(ErrorCode::BadArguments,
                            "--batch-rows, --senders, --max-connections, --read-threads, --hedge-after-ms, "
                            "--read-timeout-seconds and --idle-timeout-seconds must be at least 1");
        }
        log::get("ingest")->info("chfleet {} ingest starting; fleet {} ({})", CHFLEET_VERSION, fleet.name,
                                 fleet.source_path);
        signals::installStopHandlers();
        keepFreedMemoryForReuse();
        ingest::IngestServer server(fleet, options);
        server.start();
        std::cout << "listening on port " << server.port() << std::endl;
        while (signals::sleepUnlessStopped(std::chrono::seconds(1))) {
        }
        log::get("ingest")->info("stopping: signal received");
        server.stop(std::chrono::seconds(drain_seconds));
        return 0;
    });
}

}  // namespace chfleet
