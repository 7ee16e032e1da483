#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/Exception.h"
#include "common/Text.h"
#include "ingest/RowReader.h"
#include "ingest/ShardingKey.h"
#include "ingest/Slice.h"
#include "topology/Fleet.h"

namespace chfleet::ingest {

class RegionMap;

/// A row whose company has no region (and whose table has no default region).
class UnmappedCompany : public Exception {
  public:
    using Exception::Exception;
};

/// What every request of one ingest server shares for routing: the site it writes to, the company ->
/// region map and each table's sharding key.
class RoutingContext {
  public:
    RoutingContext(const topology::Fleet& fleet, const topology::Site& site, RegionMap& regions);

    const topology::Fleet& fleet() const { return fleet_; }
    const topology::Site& site() const { return site_; }
    RegionMap& regions() const { return regions_; }
    /// The table's sharding key; throws Exception(InvalidConfig) when ingest cannot evaluate it.
    const ShardingKey& shardingKey(const topology::Table& table) const;
    /// The site's region of that name, or null.
    const topology::Region* region(std::string_view name) const;

  private:
    const topology::Fleet& fleet_;
    const topology::Site& site_;
    RegionMap& regions_;
    std::map<std::string, ShardingKey, std::less<>> keys_;
};

/// Routes the rows of one INSERT: reads the body with a RowReader, finds each row's region (the company's
/// mapping, or the table's default region) and shard (the table's sharding key, as ClickHouse computes it),
/// and appends the row as TabSeparated to one slice per (region, shard). Nothing is sent from here: the
/// caller hands the slices over only once the whole body was read without an error (all or nothing).
class RequestRouter {
  public:
    struct Output {
        ShardTarget target;
        std::string rows;
        size_t row_count = 0;
    };

    /// Throws RowError / Exception(BadArguments) for a column list ingest cannot route (no region key).
    RequestRouter(const RoutingContext& context, const topology::Table& table, InputFormat format,
                  std::vector<std::string> insert_columns, bool skip_unknown_fields);

    /// Feeds a chunk of the body. Throws RowError naming the row.
    void feed(std::string_view chunk);
    /// End of the body: companies not in the cached map are looked up once, all together; a row whose
    /// company has no region (and no default region) throws RowError naming the row and the company.
    void finish();
    /// The routed rows, one entry per target.
    std::vector<Output> take();

    size_t rowCount() const { return row_count_; }
    /// Bytes of routed rows held so far.
    size_t heldBytes() const { return held_bytes_; }

  private:
    struct Waiting {
        size_t row_number;
        std::string company;
        uint64_t key;
        std::string line;
    };

    void onRow(std::span<const FieldValue> values);
    void locateKeyColumns();
    /// The slice of the shard `key` names in `region`, created on first use.
    Output& outputFor(const topology::Region& region, uint64_t key);

    const RoutingContext& context_;
    const topology::Table& table_;
    const ShardingKey& sharding_key_;
    RowReader reader_;
    std::string columns_sql_;
    bool located_ = false;
    size_t region_key_index_ = 0;
    std::vector<size_t> sharding_indexes_;
    std::vector<std::string_view> key_values_;
    std::map<std::pair<const topology::Region*, int>, Output> outputs_;
    text::StringMap<const topology::Region*> known_;  ///< per request: company -> region
    std::vector<Waiting> waiting_;  ///< rows of companies not in the cached map, routed in finish()
    const topology::Region* default_region_ = nullptr;
    size_t row_count_ = 0;
    size_t held_bytes_ = 0;
};

}  // namespace chfleet::ingest
