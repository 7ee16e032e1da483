#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "clickhouse/Connection.h"
#include "common/Exception.h"
#include "common/Text.h"
#include "topology/Fleet.h"

namespace chfleet::ingest {

/// One copy of the company -> region mapping: a region of a site, read through its regional Distributed
/// table (`<mapping>_<alias>_distributed`) on the first of its nodes that answers.
struct MappingSource {
    std::string site;
    std::string region;  ///< region name
    std::string table;   ///< the regional Distributed table, unqualified
    std::vector<clickhouse::HttpEndpoint> nodes;

    /// "site/region", for messages.
    std::string describe() const { return site + "/" + region; }
};

/// The first line of an error's message: ClickHouse appends multi-line logs (every connection try of a
/// Distributed query) that would drown a report.
std::string briefError(const Exception& error);

/// True when `error` says the node itself could not be reached or did not answer in time, so that another
/// node of the same region may do; a server's own error (a shard of the region down, a missing table) is
/// not retried in the same region.
bool nodeUnreachable(const Exception& error);

/// The fleet's mapping table; throws Exception(InvalidConfig) when it has none.
const topology::Table& mappingTable(const topology::Fleet& fleet);

/// Every copy of the mapping in the order they are read: `site`'s regions (`region` first when given), then
/// the other sites' regions in file order. Every region of every site holds the whole mapping
/// (docs/ingest.md), so the first one that answers is enough. Throws Exception(InvalidConfig) when the fleet
/// has no mapping table, and Exception(BadArguments) for an unknown site or region.
std::vector<MappingSource> mappingSources(const topology::Fleet& fleet, const std::string& site,
                                          const std::string& region = {});

/// The latest region of each company as one copy of the mapping holds it: the mapping's rows grouped by
/// company, the region of the newest `updated_at` (rows not yet merged by ReplacingMergeTree included).
/// `companies` non-empty: only those (WHERE key IN (...)).
std::string mappingQuery(const topology::Fleet& fleet, const MappingSource& source,
                         const std::vector<std::string>& companies = {});

/// The company -> region mapping as ClickHouse holds it, cached in memory: loaded at start, refreshed every
/// interval, and looked up again (rate limited) for a company it does not know.
///
/// Reads go to the first copy of the mapping that answers completely (see mappingSources): a region whose
/// shards do not all answer is skipped, so a partial copy is never taken for the whole. When no copy
/// answers, a refresh keeps the cache; only a first load without any answer fails.
///
/// Thread safety: every member may be called from any thread. regionOf takes a shared lock on a hash map
/// (no allocation for region names up to 15 bytes); loads build the new map outside the lock and swap it in.
class RegionMap {
  public:
    /// How long a company looked up and not found is not asked for again, and how long after a failed
    /// look-up the next one fails at once instead of waiting for servers that did not answer.
    static constexpr std::chrono::seconds kLookupInterval{5};
    /// Bytes of company IDs asked for in one look-up query (the servers refuse queries over 256 KiB).
    static constexpr size_t kLookupQueryBytes = 64 << 10;

    /// `site`: whose regions to read first (the ingest server's own site); `region`: read first of all.
    RegionMap(const topology::Fleet& fleet, std::string site, std::chrono::seconds refresh_interval,
              std::string region = {});
    ~RegionMap();
    RegionMap(const RegionMap&) = delete;
    RegionMap& operator=(const RegionMap&) = delete;

    /// Full load, replacing the cache. When no copy answers: throws Exception(ConnectionFailed) naming every
    /// copy tried if nothing was ever loaded, else logs a warning and keeps the cache.
    void load();

    /// The region NAME of `company`, or nullopt when the cache does not know it.
    std::optional<std::string> regionOf(std::string_view company) const;

    /// For companies not in the cache: one query for all of them (WHERE company IN (...)), skipping those
    /// found absent less than kLookupInterval ago; adds what it finds and returns how many were found. After
    /// it returns, a company still unknown has no mapping (as of at most kLookupInterval ago). Throws
    /// Exception(ConnectionFailed) when no copy answers (and, for kLookupInterval after such a failure, at
    /// once): the caller must not take "unknown" for "unmapped" then.
    size_t lookUp(const std::vector<std::string>& companies);

    /// Starts the background thread that calls load() every refresh interval (failures are logged).
    void startRefresh();
    /// Stops and joins the refresh thread; safe to call twice.
    void stop();

    size_t size() const;
    /// When the cache was last loaded completely (the epoch before the first load).
    std::chrono::system_clock::time_point loadedAt() const;
    /// The copy the last complete load came from, "site/region" ("" before the first load).
    std::string loadedFrom() const;
    /// Loads (initial or refresh) that found no copy answering, since construction.
    size_t failedLoads() const { return failed_loads_.load(); }
    /// Queries sent to look up companies not in the cache, since construction.
    size_t lookups() const { return lookups_.load(); }

    /// Every cached company and its region, sorted by company.
    std::vector<std::pair<std::string, std::string>> entries() const;

  private:
    using Map = text::StringMap<std::string>;

    /// Runs the mapping query on the first copy that answers; adds its rows to `into`. Returns the copy
    /// read, or nullopt (with every copy's error in `errors`) when none answered.
    std::optional<std::string> read(const std::vector<std::string>& companies, Map& into,
                                    std::vector<std::string>& errors);
    /// The region name for a mapping value, or nullopt (warned about once per value) when the fleet has no
    /// such region.
    std::optional<std::string> checkedRegion(const std::string& value);
    void refreshLoop();

    topology::Fleet fleet_;
    std::vector<MappingSource> sources_;
    std::set<std::string> region_names_;
    std::chrono::seconds refresh_interval_;

    mutable std::shared_mutex map_mutex_;
    Map map_;
    std::chrono::system_clock::time_point loaded_at_{};
    std::string loaded_from_;
    bool loaded_ = false;

    std::mutex lookup_mutex_;  ///< guards absent_since_, failed_at_ and warned_regions_
    std::unordered_map<std::string, std::chrono::steady_clock::time_point> absent_since_;
    std::optional<std::chrono::steady_clock::time_point> lookup_failed_at_;
    std::set<std::string> warned_regions_;
    std::atomic<size_t> lookups_{0};

    std::atomic<size_t> failed_loads_{0};

    std::mutex refresh_mutex_;
    std::condition_variable refresh_wake_;
    bool stopping_ = false;
    std::thread refresh_thread_;
};

}  // namespace chfleet::ingest
