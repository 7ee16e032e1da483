#include "ingest/protocol/IngestMetrics.h"

namespace chfleet::ingest {
namespace {

prometheus::Gauge& gauge(prometheus::Registry& registry, const std::string& name, const std::string& help) {
    return prometheus::BuildGauge().Name(name).Help(help).Register(registry).Add({});
}

}  // namespace

IngestMetrics::IngestMetrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      received_bytes_(prometheus::BuildCounter()
                          .Name("chfleet_ingest_received_bytes_total")
                          .Help("Bytes of request bodies read by the ingest server")
                          .Register(*registry_)
                          .Add({})),
      pieces_(prometheus::BuildCounter()
                  .Name("chfleet_ingest_body_pieces_total")
                  .Help("Pieces large request bodies were cut into to be read on several threads")
                  .Register(*registry_)
                  .Add({})),
      pieces_read_again_(prometheus::BuildCounter()
                             .Name("chfleet_ingest_body_pieces_read_again_total")
                             .Help("Pieces read a second time, on their request's thread, because the cut "
                                   "before them was not between two rows (pretty-printed JSON, line ends "
                                   "inside values)")
                             .Register(*registry_)
                             .Add({})),
      rows_(prometheus::BuildCounter()
                .Name("chfleet_ingest_rows_total")
                .Help("Rows written to shards, per region and shard")
                .Register(*registry_)),
      bytes_(prometheus::BuildCounter()
                 .Name("chfleet_ingest_bytes_total")
                 .Help("Bytes (TabSeparated) written to shards, per region and shard")
                 .Register(*registry_)),
      write_failures_(prometheus::BuildCounter()
                          .Name("chfleet_ingest_batch_failures_total")
                          .Help("Batches a shard did not take (no replica answered or all refused)")
                          .Register(*registry_)),
      rejected_(prometheus::BuildCounter()
                    .Name("chfleet_ingest_rejected_requests_total")
                    .Help("Requests answered with an error, by reason")
                    .Register(*registry_)),
      reads_(prometheus::BuildCounter()
                 .Name("chfleet_ingest_reads_total")
                 .Help("Read statements forwarded, by path: shard (one replica of a company's shard) or site")
                 .Register(*registry_)),
      refused_connections_(prometheus::BuildCounter()
                               .Name("chfleet_ingest_refused_connections_total")
                               .Help("Connections answered 503 at once because --max-connections were open")
                               .Register(*registry_)
                               .Add({})),
      erased_rows_dropped_(prometheus::BuildCounter()
                               .Name("chfleet_ingest_erased_rows_dropped_total")
                               .Help("Rows accepted before their company's erasure (spooled or batched) and "
                                     "dropped unwritten once the erasure ledger recorded it")
                               .Register(*registry_)
                               .Add({})),
      batch_rows_(
          prometheus::BuildHistogram()
              .Name("chfleet_ingest_batch_rows")
              .Help("Rows per batch written to a shard")
              .Register(*registry_)
              .Add({}, prometheus::Histogram::BucketBoundaries{1, 10, 100, 1000, 10000, 100000, 1000000})),
      latency_(prometheus::BuildHistogram()
                   .Name("chfleet_ingest_request_duration_seconds")
                   .Help("Time from the start of an INSERT request to its answer")
                   .Register(*registry_)
                   .Add({}, prometheus::Histogram::BucketBoundaries{0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                                    0.25, 0.5, 1, 2.5, 5, 10, 30})),
      buffered_bytes_(gauge(*registry_, "chfleet_ingest_buffered_bytes", "Bytes of rows held in memory")),
      queued_batches_(gauge(*registry_, "chfleet_ingest_queued_batches",
                            "Batches sealed and waiting to be written (or retried)")),
      spool_slices_(gauge(*registry_, "chfleet_ingest_spool_slices",
                          "Request slices in the spool not yet committed on their shard (async mode)")),
      spool_bytes_(gauge(*registry_, "chfleet_ingest_spool_bytes", "Bytes of spool segments on disk")),
      mapped_companies_(gauge(*registry_, "chfleet_ingest_mapped_companies",
                              "Companies in the cached company -> region map")),
      mapping_lookups_(gauge(*registry_, "chfleet_ingest_mapping_lookups",
                             "Queries sent since start to look up companies the cached map does not know")) {}

void IngestMetrics::received(size_t bytes, size_t pieces, size_t pieces_read_again) {
    received_bytes_.Increment(static_cast<double>(bytes));
    pieces_.Increment(static_cast<double>(pieces));
    pieces_read_again_.Increment(static_cast<double>(pieces_read_again));
}

void IngestMetrics::written(const ShardTarget& target, size_t rows, size_t bytes) {
    std::map<std::string, std::string> labels{{"region", target.region->name},
                                              {"shard", std::to_string(target.shard)}};
    rows_.Add(labels).Increment(static_cast<double>(rows));
    bytes_.Add(labels).Increment(static_cast<double>(bytes));
    batch_rows_.Observe(static_cast<double>(rows));
}

void IngestMetrics::writeFailed(const ShardTarget& target) {
    write_failures_.Add({{"region", target.region->name}, {"shard", std::to_string(target.shard)}})
        .Increment();
}

void IngestMetrics::rejected(const std::string& reason) {
    rejected_.Add({{"reason", reason}}).Increment();
}

void IngestMetrics::read(bool one_shard) {
    reads_.Add({{"path", one_shard ? "shard" : "site"}}).Increment();
}

void IngestMetrics::connectionRefused() {
    refused_connections_.Increment();
}

void IngestMetrics::erasedRowsDropped(size_t rows) {
    erased_rows_dropped_.Increment(static_cast<double>(rows));
}

void IngestMetrics::answered(double seconds) {
    latency_.Observe(seconds);
}

void IngestMetrics::setDepths(size_t buffered_bytes, size_t queued_batches, size_t spool_slices,
                              size_t spool_bytes, size_t mapped_companies, size_t mapping_lookups) {
    buffered_bytes_.Set(static_cast<double>(buffered_bytes));
    queued_batches_.Set(static_cast<double>(queued_batches));
    spool_slices_.Set(static_cast<double>(spool_slices));
    spool_bytes_.Set(static_cast<double>(spool_bytes));
    mapped_companies_.Set(static_cast<double>(mapped_companies));
    mapping_lookups_.Set(static_cast<double>(mapping_lookups));
}

}  // namespace chfleet::ingest
