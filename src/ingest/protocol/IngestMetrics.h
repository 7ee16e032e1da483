#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>

#include "ingest/write/Slice.h"

namespace chfleet::ingest {

/// The ingest server's Prometheus metrics. Counters are updated where things happen; the gauges of queue
/// and spool depth are set just before each scrape (setDepths).
class IngestMetrics {
  public:
    IngestMetrics();

    std::shared_ptr<prometheus::Registry> registry() const { return registry_; }

    /// A request's body was read: its bytes, and the pieces it was read in on the reader threads (and how
    /// many of those did not start at a row and were read again).
    void received(size_t bytes, size_t pieces, size_t pieces_read_again);
    /// A batch landed on its shard.
    void written(const ShardTarget& target, size_t rows, size_t bytes);
    void writeFailed(const ShardTarget& target);
    /// Rows accepted earlier and dropped unwritten because their company was erased since.
    void erasedRowsDropped(size_t rows);
    /// A request was refused; `reason` is one of auth, syntax, unknown_table, bad_row, unmapped, residency,
    /// erased, too_large, overloaded, write_failed, forward_failed.
    void rejected(const std::string& reason);
    void answered(double seconds);
    /// A read was forwarded: to one replica of a company's shard (`one_shard`) or to a node of the site.
    void read(bool one_shard);
    /// A connection was refused at once because --max-connections were open.
    void connectionRefused();
    void setDepths(size_t buffered_bytes, size_t queued_batches, size_t spool_slices, size_t spool_bytes,
                   size_t mapped_companies, size_t mapping_lookups);

  private:
    std::shared_ptr<prometheus::Registry> registry_;
    prometheus::Counter& received_bytes_;
    prometheus::Counter& pieces_;
    prometheus::Counter& pieces_read_again_;
    prometheus::Family<prometheus::Counter>& rows_;
    prometheus::Family<prometheus::Counter>& bytes_;
    prometheus::Family<prometheus::Counter>& write_failures_;
    prometheus::Family<prometheus::Counter>& rejected_;
    prometheus::Family<prometheus::Counter>& reads_;
    prometheus::Counter& refused_connections_;
    prometheus::Counter& erased_rows_dropped_;
    prometheus::Histogram& batch_rows_;
    prometheus::Histogram& latency_;
    prometheus::Gauge& buffered_bytes_;
    prometheus::Gauge& queued_batches_;
    prometheus::Gauge& spool_slices_;
    prometheus::Gauge& spool_bytes_;
    prometheus::Gauge& mapped_companies_;
    prometheus::Gauge& mapping_lookups_;
};

}  // namespace chfleet::ingest
