#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "topology/Fleet.h"

namespace chfleet::ingest {

/// Where rows go: one table's local table on one shard of one region of the ingest site, written with one
/// column list. Batches are formed per target.
struct ShardTarget {
    const topology::Table* table = nullptr;
    const topology::Region* region = nullptr;
    int shard = 0;
    std::string columns;  ///< the column list of the INSERT, e.g. "(`a`, `b`)"; empty: all columns

    /// One string per target, for maps and logs: table/region/shard/columns.
    std::string key() const;
};

/// How a request ended, for the client waiting on it.
struct WriteFailure {
    int server_code = 0;  ///< ClickHouse's code when a server refused, else chfleet's transport code
    int http_status = 500;
    std::string message;
};

/// The completion of one request whose rows were cut into slices: the request's handler waits until every
/// slice is committed (sync mode) or has failed.
class RequestTicket {
  public:
    explicit RequestTicket(size_t slices) : outstanding_(slices) {}

    void sliceCommitted();
    void sliceFailed(const WriteFailure& failure);
    /// Waits until every slice ended; the first failure, if any. Gives up after `timeout` with a timeout
    /// failure (the slices may still be committed later; a retry of the request is deduplicated).
    std::optional<WriteFailure> wait(std::chrono::milliseconds timeout);

  private:
    std::mutex mutex_;
    std::condition_variable done_;
    size_t outstanding_;
    std::optional<WriteFailure> failure_;
};

/// One request's rows for one target, ready to be batched.
struct Slice {
    /// The deduplication key: request fingerprint/region/shard. Empty when the client turned deduplication
    /// off (insert_deduplicate=0).
    std::string id;
    std::string rows;  ///< TabSeparated, one line per row
    size_t row_count = 0;
    std::shared_ptr<RequestTicket> ticket;  ///< sync mode: the waiting request; async mode: none
    uint64_t spool_segment = 0;             ///< async mode: the spool segment holding the slice
    /// How many erased subjects its rows were checked against (ErasedCompanies::size() when its request was
    /// read; 0 for rows read back from the spool): the batch is scanned again only when more are known.
    size_t erased_checked = 0;
};

}  // namespace chfleet::ingest
