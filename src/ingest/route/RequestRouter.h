#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/Exception.h"
#include "common/Text.h"
#include "common/WorkerPool.h"
#include "ingest/format/RowReader.h"
#include "ingest/route/ShardingKey.h"
#include "ingest/write/Slice.h"
#include "topology/Fleet.h"

namespace chfleet::ingest {

class ErasedCompanies;
class RegionMap;

/// A row whose company has no region (and whose table has no default region).
class UnmappedCompany : public Exception {
  public:
    using Exception::Exception;
};

/// A row whose company belongs to another region than the regional table the INSERT named asserts.
class ResidencyMismatch : public Exception {
  public:
    using Exception::Exception;
};

/// What every request of one ingest server shares for routing: the site it writes to, the company ->
/// region map, each table's sharding key, and the threads that read large bodies in pieces.
class RoutingContext {
  public:
    /// `readers`: threads that read the pieces of large bodies; null reads every body on its request's own
    /// thread. `erased`: the erased companies, whose rows are refused (null: none are checked).
    RoutingContext(const topology::Fleet& fleet, const topology::Site& site, RegionMap& regions,
                   WorkerPool* readers = nullptr, ErasedCompanies* erased = nullptr);

    const topology::Fleet& fleet() const { return fleet_; }
    const topology::Site& site() const { return site_; }
    RegionMap& regions() const { return regions_; }
    WorkerPool* readers() const { return readers_; }
    ErasedCompanies* erased() const { return erased_; }
    /// The table's sharding key; throws Exception(InvalidConfig) when ingest cannot evaluate it.
    const ShardingKey& shardingKey(const topology::Table& table) const;
    /// The site's region of that name, or null.
    const topology::Region* region(std::string_view name) const;

  private:
    const topology::Fleet& fleet_;
    const topology::Site& site_;
    RegionMap& regions_;
    WorkerPool* readers_;
    ErasedCompanies* erased_;
    std::map<std::string, ShardingKey, std::less<>> keys_;
};

/// Routes the rows of one INSERT: reads the body with a RowReader, finds each row's region (the company's
/// mapping, or the table's default region) and shard (the table's sharding key, as ClickHouse computes it),
/// and appends the row as TabSeparated to one slice per (region, shard). Nothing is sent from here: the
/// caller hands the slices over only once the whole body was read without an error (all or nothing).
///
/// A large body is read on several threads (the context's readers). Past its first rows it is cut into
/// pieces of about kPieceBytes at line ends, and each piece is read by its own copy of the reader,
/// speculatively: a line end need not end a row (a pretty-printed JSON object, a quoted CSV field, an
/// escaped TSV line end). Pieces are then taken in body order. A piece's result stands only if the piece
/// before it ended exactly between two rows; otherwise it is read again on this thread from where the rows
/// of the piece before really ended. An error in a piece is raised by reading it again with the rows
/// before it counted, so that it names the same row as reading on one thread would. The slices are
/// therefore the same, byte for byte, however the body was cut (deduplication relies on it).
class RequestRouter {
  public:
    struct Output {
        ShardTarget target;
        std::string rows;
        size_t row_count = 0;
    };

    static constexpr size_t kPieceBytes = 256 << 10;
    /// What the data waiting for its piece may grow to: a piece, plus the reads that fill it past its size.
    static constexpr size_t kPendingCapacity = kPieceBytes + (64 << 10);
    /// Pieces of one request given to the readers and not yet taken (bounds the memory of a request).
    static constexpr size_t kPiecesInFlight = 8;

    /// Throws RowError / Exception(BadArguments) for a column list ingest cannot route (no region key).
    /// `asserted_region`: the region the INSERT named (`events_eu_distributed`): a row of a company of
    /// another region throws ResidencyMismatch; null for the logical or global name.
    RequestRouter(const RoutingContext& context, const topology::Table& table, InputFormat format,
                  std::vector<std::string> insert_columns, bool skip_unknown_fields,
                  const topology::Region* asserted_region = nullptr);
    /// Waits for the pieces still being read.
    ~RequestRouter();
    RequestRouter(const RequestRouter&) = delete;
    RequestRouter& operator=(const RequestRouter&) = delete;

    /// Feeds a chunk of the body. Throws RowError naming the row.
    void feed(std::string_view chunk);
    /// End of the body: companies not in the cached map are looked up once, all together; a row whose
    /// company has no region (and no default region) throws RowError naming the row and the company.
    void finish();
    /// The routed rows, one entry per target.
    std::vector<Output> take();

    size_t rowCount() const { return routed_.rows; }
    /// Pieces the body was read in on the readers (0: it was read on the request's thread alone), and how
    /// many of them were read again because they did not start at a row.
    size_t pieces() const { return pieces_read_; }
    size_t piecesReadAgain() const { return pieces_read_again_; }

  private:
    struct Waiting {
        size_t row_number;
        std::string company;
        uint64_t key;
        std::string line;
    };
    using TargetKey = std::pair<const topology::Region*, int>;

    /// Rows read and routed: those of the whole body, or of one piece.
    struct Routed {
        std::map<TargetKey, Output> outputs;
        text::StringMap<const topology::Region*> known;  ///< company -> region, as looked up so far
        std::vector<Waiting> waiting;  ///< rows of companies not in the cached map, routed in finish()
        std::vector<std::string_view> key_values;
        size_t rows_before = 0;  ///< rows of the body before these (for row numbers)
        size_t rows = 0;
    };

    /// A stretch of the body from a line end to a line end, read on a reader thread.
    struct Piece {
        std::string data;
        bool final = false;  ///< the end of the body
        std::optional<RowReader> reader;
        Routed routed;
        size_t consumed = 0;  ///< bytes of data its complete rows took
        std::exception_ptr error;
        std::future<void> done;
    };

    void route(Routed& routed, const RowReader& reader, std::span<const FieldValue> values);
    void locateKeyColumns();
    /// Throws ErasedCompany when the erasure ledger records `company`'s erasure.
    void checkErased(size_t row_number, std::string_view company) const;
    /// Throws ResidencyMismatch when `region` is not the asserted region.
    void checkResidency(size_t row_number, std::string_view company, const topology::Region& region) const;
    /// The slice of the shard `key` names in `region`, created on first use.
    Output& outputFor(Routed& routed, const topology::Region& region, uint64_t key);

    /// Whether the rest of the body may be read in pieces, from now on.
    bool canSplit() const;
    /// Hands the data up to its last line end (all of it at the end of the body) to a reader thread.
    void cutPiece(bool final);
    /// Reads a piece on this thread (ahead of the first `rows_before` rows of the body).
    void readPiece(Piece& piece, size_t rows_before);
    /// Waits for the oldest piece and adds its rows to routed_, after checking that it started at a row.
    void takeOldestPiece();
    /// Appends the slices of the pieces taken to those of routed_, in body order.
    void joinPieceOutputs();

    const RoutingContext& context_;
    const topology::Table& table_;
    const ShardingKey& sharding_key_;
    RowReader reader_;
    std::string columns_sql_;
    bool located_ = false;
    size_t region_key_index_ = 0;
    std::vector<size_t> sharding_indexes_;
    const topology::Region* default_region_ = nullptr;
    const topology::Region* asserted_region_ = nullptr;
    Routed routed_;

    bool splitting_ = false;
    std::string pending_;                        ///< data not yet in a piece
    size_t pending_line_end_ = 0;                ///< bytes of pending_ up to its last line end (0: none)
    std::deque<std::unique_ptr<Piece>> pieces_;  ///< given to the readers, in body order
    std::string carried_;                        ///< the end of the last piece taken, after its complete rows
    std::vector<std::map<TargetKey, Output>> piece_outputs_;  ///< of the pieces taken, in body order
    size_t pieces_read_ = 0;
    size_t pieces_read_again_ = 0;
};

}  // namespace chfleet::ingest
