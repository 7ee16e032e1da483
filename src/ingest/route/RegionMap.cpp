#include "ingest/route/RegionMap.h"

#include <fmt/chrono.h>

#include <algorithm>

#include "clickhouse/HttpConnection.h"
#include "clickhouse/Quoting.h"
#include "clickhouse/Result.h"
#include "common/Exception.h"
#include "common/Log.h"
#include "ingest/IngestSection.h"
#include "topology/NodeConnection.h"

namespace chfleet::ingest {

namespace {

auto logger() {
    return log::get("ingest");
}

/// A mapping read is small (one row per company); a server that takes longer than this is treated as not
/// answering, so that the next copy is tried.
constexpr std::chrono::seconds kMappingReadTimeout{60};

std::string regionNames(const topology::Site& site) {
    std::string names;
    for (const auto& region : site.regions) {
        names += (names.empty() ? "" : ", ") + region.name;
    }
    return names;
}

}  // namespace

std::string briefError(const Exception& error) {
    std::string_view text = error.what();
    return std::string(text.substr(0, text.find('\n')));
}

bool nodeUnreachable(const Exception& error) {
    return error.code() == ErrorCode::ConnectionFailed || error.code() == ErrorCode::Timeout;
}

const topology::Table& mappingTable(const topology::Fleet& fleet) {
    const topology::Table* table = ingestConfig(fleet).mapping_table.empty()
                                       ? nullptr
                                       : fleet.schema.table(ingestConfig(fleet).mapping_table);
    if (table == nullptr) {
        throw Exception(ErrorCode::InvalidConfig,
                        "{}: the fleet has no company -> region mapping table; add a table "
                        "'company_region_mapping' (region key, region String, updated_at DateTime) to the "
                        "schema, or name one in ingest.mapping_table (docs/fleet-file.md)",
                        fleet.source_path);
    }
    return *table;
}

std::vector<MappingSource> mappingSources(const topology::Fleet& fleet, const std::string& site,
                                          const std::string& region) {
    const topology::Table& table = mappingTable(fleet);
    const topology::Site* first = site.empty() ? &fleet.sites.front() : fleet.site(site);
    if (first == nullptr) {
        std::string names;
        for (const auto& candidate : fleet.sites) {
            names += (names.empty() ? "" : ", ") + candidate.name;
        }
        throw Exception(ErrorCode::BadArguments, "no site '{}' in {} (sites: {})", site, fleet.source_path,
                        names);
    }
    if (!region.empty() && first->region(region) == nullptr) {
        throw Exception(ErrorCode::BadArguments, "no region '{}' in site '{}' (regions: {})", region,
                        first->name, regionNames(*first));
    }
    std::vector<const topology::Site*> sites{first};
    for (const auto& other : fleet.sites) {
        if (&other != first) {
            sites.push_back(&other);
        }
    }
    std::vector<MappingSource> sources;
    auto add = [&](const topology::Site& from, const topology::Region& copy) {
        MappingSource source;
        source.site = from.name;
        source.region = copy.name;
        source.table = table.regionalName(copy);
        for (const auto& node : copy.nodes) {
            auto endpoint = topology::endpointFor(fleet, node);
            endpoint.total_timeout = kMappingReadTimeout;
            source.nodes.push_back(std::move(endpoint));
        }
        sources.push_back(std::move(source));
    };
    for (const auto* from : sites) {
        if (from == first && !region.empty()) {
            add(*from, *from->region(region));
        }
        for (const auto& copy : from->regions) {
            if (!(from == first && copy.name == region)) {
                add(*from, copy);
            }
        }
    }
    return sources;
}

std::string mappingQuery(const topology::Fleet& fleet, const MappingSource& source,
                         const std::vector<std::string>& companies) {
    const topology::Table& table = mappingTable(fleet);
    std::string key = clickhouse::quoteIdentifier(table.region_key);
    // The aliases differ from the column names: ClickHouse would substitute an alias named like the column
    // into argMax's own argument (cyclic alias).
    std::string sql =
        fmt::format("SELECT {} AS company, argMax({}, {}) AS mapped_region FROM {}", key,
                    clickhouse::quoteIdentifier("region"), clickhouse::quoteIdentifier("updated_at"),
                    clickhouse::qualifiedName(fleet.schema.database, source.table));
    if (!companies.empty()) {
        sql += " WHERE " + key + " IN (";
        for (size_t i = 0; i < companies.size(); ++i) {
            sql += (i == 0 ? "" : ", ") + clickhouse::quoteString(companies[i]);
        }
        sql += ")";
    }
    sql += " GROUP BY " + key;
    return sql;
}

RegionMap::RegionMap(const topology::Fleet& fleet, std::string site, std::chrono::seconds refresh_interval,
                     std::string region)
    : fleet_(fleet), sources_(mappingSources(fleet, site, region)), refresh_interval_(refresh_interval) {
    for (const auto& fleet_site : fleet.sites) {
        for (const auto& fleet_region : fleet_site.regions) {
            region_names_.insert(fleet_region.name);
        }
    }
}

RegionMap::~RegionMap() {
    stop();
}

std::optional<std::string> RegionMap::checkedRegion(const std::string& value) {
    if (region_names_.count(value) > 0) {
        return value;
    }
    std::lock_guard lock(lookup_mutex_);
    if (warned_regions_.insert(value).second) {
        logger()->warn(
            "the mapping table {} names region '{}', which is not a region of the fleet; its companies are "
            "treated as unmapped. Correct them with chfleet residency set",
            ingestConfig(fleet_).mapping_table, value);
    }
    return std::nullopt;
}

std::optional<std::string> RegionMap::read(const std::vector<std::string>& companies, Map& into,
                                           std::vector<std::string>& errors) {
    for (const auto& source : sources_) {
        std::string sql = mappingQuery(fleet_, source, companies);
        for (const auto& endpoint : source.nodes) {
            try {
                clickhouse::HttpConnection connection(endpoint);
                auto result = clickhouse::query(connection, sql);
                for (size_t row = 0; row < result.rowCount(); ++row) {
                    if (auto region = checkedRegion(result.getString(row, "mapped_region"))) {
                        into.insert_or_assign(result.getString(row, "company"), std::move(*region));
                    }
                }
                return source.describe();
            } catch (const Exception& e) {
                // The next node of the region, or the next region when the server answered with an error
                // (a shard of the region down): any complete answer is as good.
                errors.push_back(fmt::format("{}: {}", source.describe(), briefError(e)));
                if (!nodeUnreachable(e)) {
                    break;
                }
            }
        }
    }
    return std::nullopt;
}

void RegionMap::load() {
    Map fresh;
    std::vector<std::string> errors;
    auto from = read({}, fresh, errors);
    if (!from) {
        ++failed_loads_;
        std::string tried;
        for (const auto& error : errors) {
            tried += "\n  " + error;
        }
        std::shared_lock lock(map_mutex_);
        if (!loaded_) {
            throw Exception(ErrorCode::ConnectionFailed,
                            "could not read the company -> region mapping from any region of any site; "
                            "start a region's servers (or check the fleet credentials) and retry:{}",
                            tried);
        }
        logger()->warn(
            "could not refresh the company -> region mapping from any region (keeping the {} "
            "companies loaded at {:%F %T} UTC):{}",
            map_.size(), fmt::gmtime(std::chrono::system_clock::to_time_t(loaded_at_)), tried);
        return;
    }
    for (const auto& error : errors) {
        logger()->info("mapping copy skipped: {}", error);
    }
    size_t count = fresh.size();
    {
        std::unique_lock lock(map_mutex_);
        map_.swap(fresh);
        loaded_at_ = std::chrono::system_clock::now();
        loaded_from_ = *from;
        loaded_ = true;
    }
    {
        std::lock_guard lock(lookup_mutex_);
        absent_since_.clear();
    }
    logger()->debug("loaded the mapping of {} companies from {}", count, *from);
}

std::optional<std::string> RegionMap::regionOf(std::string_view company) const {
    std::shared_lock lock(map_mutex_);
    auto it = map_.find(company);
    if (it == map_.end()) {
        return std::nullopt;
    }
    return it->second;
}

size_t RegionMap::lookUp(const std::vector<std::string>& companies) {
    auto now = std::chrono::steady_clock::now();
    std::vector<std::string> wanted;
    {
        std::shared_lock map_lock(map_mutex_);
        std::lock_guard lock(lookup_mutex_);
        if (lookup_failed_at_ && now - *lookup_failed_at_ < kLookupInterval) {
            throw Exception(ErrorCode::ConnectionFailed,
                            "the company -> region mapping could not be read from any region less than {} "
                            "seconds ago; not asking again yet",
                            kLookupInterval.count());
        }
        std::set<std::string_view> seen;
        for (const auto& company : companies) {
            if (map_.find(company) != map_.end() || !seen.insert(company).second) {
                continue;
            }
            auto absent = absent_since_.find(company);
            if (absent != absent_since_.end() && now - absent->second < kLookupInterval) {
                continue;
            }
            wanted.push_back(company);
        }
    }
    if (wanted.empty()) {
        return 0;
    }
    // Several queries when the companies' IDs are many: each query stays far below the servers'
    // max_query_size.
    Map found;
    std::vector<std::string> errors;
    bool answered = true;
    for (size_t begin = 0; begin < wanted.size() && answered;) {
        size_t end = begin;
        for (size_t bytes = 0; end < wanted.size() && (end == begin || bytes < kLookupQueryBytes); ++end) {
            bytes += wanted[end].size() + 4;
        }
        ++lookups_;
        answered = read(std::vector<std::string>(wanted.begin() + begin, wanted.begin() + end), found, errors)
                       .has_value();
        begin = end;
    }
    if (!answered) {
        std::lock_guard lock(lookup_mutex_);
        lookup_failed_at_ = now;
        std::string tried;
        for (const auto& error : errors) {
            tried += "\n  " + error;
        }
        throw Exception(ErrorCode::ConnectionFailed,
                        "could not look up {} companies in the company -> region mapping: no region "
                        "answered:{}",
                        wanted.size(), tried);
    }
    {
        std::unique_lock lock(map_mutex_);
        for (auto& [company, region] : found) {
            map_.insert_or_assign(company, region);
        }
    }
    {
        std::lock_guard lock(lookup_mutex_);
        lookup_failed_at_.reset();
        // Forget companies found absent long ago, so that the set does not grow without bound.
        for (auto it = absent_since_.begin(); it != absent_since_.end();) {
            it = now - it->second >= kLookupInterval ? absent_since_.erase(it) : std::next(it);
        }
        for (const auto& company : wanted) {
            if (found.find(company) == found.end()) {
                absent_since_[company] = now;
            }
        }
    }
    return found.size();
}

void RegionMap::startRefresh() {
    std::lock_guard lock(refresh_mutex_);
    if (refresh_thread_.joinable()) {
        return;
    }
    stopping_ = false;
    refresh_thread_ = std::thread([this] { refreshLoop(); });
}

void RegionMap::stop() {
    {
        std::lock_guard lock(refresh_mutex_);
        stopping_ = true;
    }
    refresh_wake_.notify_all();
    if (refresh_thread_.joinable()) {
        refresh_thread_.join();
    }
}

void RegionMap::refreshLoop() {
    std::unique_lock lock(refresh_mutex_);
    while (!refresh_wake_.wait_for(lock, refresh_interval_, [this] { return stopping_; })) {
        lock.unlock();
        try {
            load();
        } catch (const std::exception& e) {
            logger()->warn("mapping refresh failed: {}", e.what());
        }
        lock.lock();
    }
}

size_t RegionMap::size() const {
    std::shared_lock lock(map_mutex_);
    return map_.size();
}

std::chrono::system_clock::time_point RegionMap::loadedAt() const {
    std::shared_lock lock(map_mutex_);
    return loaded_at_;
}

std::string RegionMap::loadedFrom() const {
    std::shared_lock lock(map_mutex_);
    return loaded_from_;
}

std::vector<std::pair<std::string, std::string>> RegionMap::entries() const {
    std::vector<std::pair<std::string, std::string>> result;
    {
        std::shared_lock lock(map_mutex_);
        result.assign(map_.begin(), map_.end());
    }
    std::sort(result.begin(), result.end());
    return result;
}

}  // namespace chfleet::ingest
