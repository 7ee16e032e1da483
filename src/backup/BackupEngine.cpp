#include "backup/BackupEngine.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "backup/EngineImpl.h"
#include "backup/Progress.h"
#include "clickhouse/Quoting.h"
#include "clickhouse/Result.h"
#include "common/Digest.h"
#include "common/Exception.h"
#include "common/Files.h"
#include "common/Log.h"
#include "common/WorkerPool.h"
#include "erase/EraseSection.h"
#include "erase/ErasureLedger.h"
#include "sync/PartitionRepair.h"
#include "sync/SyncEngine.h"
#include "topology/NodeConnection.h"

namespace chfleet::backup {

namespace fs = std::filesystem;
using clickhouse::qualifiedName;
using clickhouse::quoteString;

std::shared_ptr<spdlog::logger> logger() {
    return log::get("backup");
}

int64_t nowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string manifestKey(const std::string& name, const std::string& region) {
    return "backups/" + name + "/" + region + "/manifest.json";
}

std::string dataPathColumn(clickhouse::Connection& connection) {
    bool paths = clickhouse::scalar(connection,
                                    "SELECT count() FROM system.columns WHERE database = 'system' AND "
                                    "table = 'tables' AND name = 'data_paths'") != "0";
    return paths ? "data_paths[1] AS data_path" : "data_path";
}

/// SHA-256 and size of a local file.
std::pair<std::string, uint64_t> hashFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw Exception(ErrorCode::IoError, "cannot read {}", path);
    }
    Sha256Stream digest;
    std::vector<char> buffer(1 << 20);
    uint64_t size = 0;
    while (in) {
        in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
        auto got = static_cast<size_t>(in.gcount());
        digest.add(std::string_view(buffer.data(), got));
        size += got;
    }
    return {digest.hex(), size};
}

/// The first replica of a shard that answers.
const topology::Node* healthyReplica(const topology::Fleet& fleet, const topology::Region& region,
                                     int shard) {
    std::string errors;
    for (int replica = 1; replica <= region.replicas; ++replica) {
        const auto* node = region.node(shard, replica);
        try {
            auto connection = topology::connectTo(fleet, *node);
            clickhouse::scalar(*connection, "SELECT version()");
            return node;
        } catch (const Exception& error) {
            errors += fmt::format("; {}: {}", node->name, error.what());
        }
    }
    throw Exception(ErrorCode::ConnectionFailed, "no replica of shard {} of region {} answers{}", shard,
                    region.name, errors);
}

/// The manifests of one backup, one per region; throws when the backup is unknown or incomplete.
std::vector<std::pair<Manifest, Repository*>> completeManifests(
    const std::vector<BackupListing>& listings, const std::string& name,
    const std::function<Repository&(const std::string&)>& repo) {
    auto it = std::find_if(listings.begin(), listings.end(),
                           [&](const BackupListing& l) { return l.name == name; });
    if (it == listings.end()) {
        throw Exception(ErrorCode::BadArguments, "no backup named '{}' (chfleet backup list shows them)",
                        name);
    }
    if (!it->complete) {
        throw Exception(ErrorCode::Failed,
                        "backup '{}' is not complete (a run died before its manifests were written): rerun "
                        "chfleet backup create with the same name to complete it, or delete it",
                        name);
    }
    std::vector<std::pair<Manifest, Repository*>> out;
    for (const auto& region : it->regions) {
        auto& repository = repo(region);
        out.emplace_back(Manifest::fromJson(repository.getText(manifestKey(name, region)),
                                            repository.describe() + " " + manifestKey(name, region)),
                         &repository);
    }
    return out;
}

namespace {

/// A backup under way for longer than this is taken for dead: cleanup then collects its blobs.
constexpr int64_t kRunningBackupMs = 24ll * 3600 * 1000;

std::string startedKey(const std::string& name, const std::string& region) {
    return "backups/" + name + "/" + region + "/started.json";
}

std::string piecesPrefix(const std::string& name, const std::string& region) {
    return "backups/" + name + "/" + region + "/pieces/";
}

/// The server's data root (its <path>) from a table's data_path: <root>data/<db>/<table>/.
std::string serverRoot(const std::string& data_path) {
    fs::path path(data_path);
    if (!data_path.empty() && data_path.back() == '/') {
        path = path.parent_path();
    }
    return path.parent_path().parent_path().parent_path().string() + "/";
}

/// A name as ClickHouse writes it into a file name (FREEZE WITH NAME, table folders): letters, digits and '_'
/// kept, every other byte as %XX.
std::string escapeForFileName(const std::string& name) {
    std::string out;
    for (unsigned char c : name) {
        if (std::isalnum(c) || c == '_') {
            out += static_cast<char>(c);
        } else {
            out += fmt::format("%{:02X}", c);
        }
    }
    return out;
}

/// The table holding a logical table's rows on a node.
std::string localTableOf(const topology::Table& table) {
    return table.kind == topology::TableKind::MaterializedView ? ".inner." + table.localName()
                                                               : table.localName();
}

/// One frozen table of one shard, waiting to be stored.
struct FrozenTable {
    TableEntry entry;
    std::string shadow_dir;  ///< its parts, each a folder
    std::map<std::string, uint64_t> rows_by_part;
    std::map<std::string, uint64_t> hash_by_part;  ///< sum of the rows' hashes, per part
    uint64_t active_parts = 0;  ///< when the freeze ended: a table with parts must have a shadow folder
};

struct FrozenShard {
    std::string region;
    const topology::Node* node = nullptr;
    ShardEntry entry;
    std::string shadow_root;  ///< <root>shadow/chfleet_<name>/, removed at the end
    std::vector<FrozenTable> tables;
};

std::string statsKey(const std::string& region) {
    return "stats/" + region + ".json";
}

BackupStats readStats(Repository& repo, const std::string& region) {
    BackupStats stats;
    if (!repo.exists(statsKey(region))) {
        return stats;
    }
    auto json = nlohmann::json::parse(repo.getText(statsKey(region)), nullptr, false);
    if (json.is_object()) {
        stats.last_success_ms = json.value("last_success_ms", int64_t{0});
        stats.last_failure_ms = json.value("last_failure_ms", int64_t{0});
        stats.last_duration_seconds = json.value("last_duration_seconds", 0.0);
        stats.last_size_bytes = json.value("last_size_bytes", uint64_t{0});
        stats.failures = json.value("failures", uint64_t{0});
    }
    return stats;
}

/// Where the erasure ledger stood: "<entries> entries, last <hash>", or "unknown" when no copy of it could be
/// read (restores apply the ledger as it is at restore time in any case).
std::string ledgerPosition(const topology::Fleet& fleet) {
    try {
        erase::ErasureLedger ledger(fleet);
        for (const auto& copy : ledger.readCopies()) {
            if (copy.readable) {
                auto entries = ledger.entries();
                return entries.empty()
                           ? "0 entries"
                           : fmt::format("{} entries, last {}", entries.back().seq, entries.back().hash);
            }
        }
    } catch (const Exception& error) {
        logger()->warn("the erasure ledger could not be read: {}", error.what());
    }
    return "unknown";
}

/// One file to store or fetch.
struct Transfer {
    std::string local_path;
    FileEntry* file = nullptr;
};

}  // namespace

const topology::Site& BackupEngine::Impl::siteNamed(const std::string& name) const {
    if (name.empty()) {
        return fleet.sites.front();
    }
    const auto* site = fleet.site(name);
    if (site == nullptr) {
        std::vector<std::string> names;
        for (const auto& candidate : fleet.sites) {
            names.push_back(candidate.name);
        }
        throw Exception(ErrorCode::BadArguments, "unknown site '{}' (sites: {})", name,
                        fmt::join(names, ", "));
    }
    return *site;
}

Repository& BackupEngine::Impl::repository(const std::string& region) {
    auto it = repositories.find(region);
    if (it != repositories.end()) {
        return *it->second;
    }
    const auto& config = backupConfig(fleet);
    RepositorySpec spec;
    if (override_spec) {
        spec = *override_spec;
    } else {
        auto found = config.repositories.find(region);
        if (found == config.repositories.end()) {
            throw Exception(ErrorCode::InvalidConfig,
                            "{}: no backup repository for region {}: add backup.repositories.{} to the fleet "
                            "file (a folder or an S3 bucket), or give --repo",
                            fleet.source_path, region, region);
        }
        spec = found->second;
    }
    return *repositories.emplace(region, openRepository(spec)).first->second;
}

/// Every region whose repository is known, and each distinct repository once (by its description).
std::vector<std::string> BackupEngine::Impl::regions() const {
    std::set<std::string> names;
    for (const auto& site : fleet.sites) {
        for (const auto& region : site.regions) {
            if (override_spec || backupConfig(fleet).repositories.count(region.name) > 0) {
                names.insert(region.name);
            }
        }
    }
    return {names.begin(), names.end()};
}

std::map<std::string, Repository*> BackupEngine::Impl::distinctRepositories() {
    std::map<std::string, Repository*> out;
    for (const auto& region : regions()) {
        auto& repo = repository(region);
        out.emplace(repo.describe(), &repo);
    }
    return out;
}

std::vector<std::pair<const topology::Table*, std::string>> BackupEngine::Impl::selectTables(
    const std::vector<std::string>& names) const {
    std::vector<std::pair<const topology::Table*, std::string>> out;
    for (const auto& name : names) {
        if (fleet.schema.table(name) == nullptr) {
            std::vector<std::string> known;
            for (const auto& table : fleet.schema.tables) {
                known.push_back(table.name);
            }
            throw Exception(ErrorCode::BadArguments, "unknown table '{}' (tables of the fleet file: {})",
                            name, fmt::join(known, ", "));
        }
    }
    for (const auto& table : fleet.schema.tables) {
        if (names.empty() || std::find(names.begin(), names.end(), table.name) != names.end()) {
            out.emplace_back(&table, localTableOf(table));
        }
    }
    return out;
}

void BackupEngine::Impl::updateStats(Repository& repo, const std::string& region,
                                     const std::function<void(BackupStats&)>& change) {
    BackupStats stats = readStats(repo, region);
    change(stats);
    repo.putText(statsKey(region), nlohmann::json{{"last_success_ms", stats.last_success_ms},
                                                  {"last_failure_ms", stats.last_failure_ms},
                                                  {"last_duration_seconds", stats.last_duration_seconds},
                                                  {"last_size_bytes", stats.last_size_bytes},
                                                  {"failures", stats.failures}}
                                           .dump() +
                                       "\n");
}

/// The complete manifests of a repository (every region it holds).
std::vector<Manifest> BackupEngine::Impl::manifestsIn(Repository& repo) {
    std::vector<Manifest> out;
    for (const auto& object : repo.list("backups/")) {
        if (object.key.ends_with("/manifest.json")) {
            out.push_back(Manifest::fromJson(repo.getText(object.key), repo.describe() + " " + object.key));
        }
    }
    return out;
}

namespace {

FrozenShard freezeShard(const topology::Fleet& fleet, const std::string& backup_name,
                        const std::string& region, const topology::Node& node,
                        const std::vector<std::pair<const topology::Table*, std::string>>& tables,
                        bool consistent) {
    FrozenShard frozen;
    frozen.region = region;
    frozen.node = &node;
    frozen.entry.shard = node.shard;
    frozen.entry.node = node.name;
    auto connection = topology::connectTo(fleet, node);
    const auto& database = fleet.schema.database;
    frozen.entry.server_version = clickhouse::scalar(*connection, "SELECT version()");
    auto objects = clickhouse::query(*connection, "SELECT name, engine, " + dataPathColumn(*connection) +
                                                      ", create_table_query, engine_full FROM system.tables "
                                                      "WHERE database = " +
                                                      quoteString(database));
    std::map<std::string, std::pair<std::string, std::string>> paths;  // name -> data_path, engine
    for (size_t row = 0; row < objects.rowCount(); ++row) {
        const auto& name = objects.getString(row, "name");
        if (name.starts_with(sync::kStagingPrefix) || name.starts_with(kRestorePrefix)) {
            continue;
        }
        frozen.entry.objects[name] = objects.getString(row, "create_table_query");
        paths[name] = {objects.getString(row, "data_path"), objects.getString(row, "engine")};
    }
    std::string freeze_name = "chfleet_" + backup_name;
    for (const auto& [table, local] : tables) {
        auto found = paths.find(local);
        if (found == paths.end()) {
            throw Exception(ErrorCode::Failed, "{} has no table {}.{}: run chfleet schema apply first",
                            node.name, database, local);
        }
        if (frozen.shadow_root.empty()) {
            frozen.shadow_root =
                serverRoot(found->second.first) + "shadow/" + escapeForFileName(freeze_name) + "/";
            std::error_code ignored;
            fs::remove_all(frozen.shadow_root, ignored);  // a killed run's freeze
        }
    }
    if (consistent) {
        for (const auto& [table, local] : tables) {
            if (paths[local].second.starts_with("Replicated")) {
                clickhouse::execute(*connection, "SYSTEM SYNC REPLICA " + qualifiedName(database, local));
            }
        }
    }
    // Merges stay stopped from the freeze until the part list and the parts' row hashes are read, so that
    // every frozen part is still in system.parts with its row count, and still readable by its name (_part)
    // for the checksum `verify --restore-test` compares. Parts inserted after the freeze are listed too, but
    // only the frozen ones (those in the shadow folder) enter the manifest.
    clickhouse::execute(*connection, "SYSTEM STOP MERGES");
    try {
        frozen.entry.frozen_at_ms = nowMs();
        for (const auto& [table, local] : tables) {
            clickhouse::execute(*connection, "ALTER TABLE " + qualifiedName(database, local) +
                                                 " FREEZE WITH NAME " + quoteString(freeze_name));
        }
        for (const auto& [table, local] : tables) {
            FrozenTable frozen_table;
            frozen_table.entry.table = table->name;
            frozen_table.entry.local = local;
            frozen_table.entry.ddl = frozen.entry.objects[local];
            const auto& data_path = paths[local].first;
            auto root = serverRoot(data_path);
            frozen_table.shadow_dir = frozen.shadow_root + data_path.substr(root.size());
            auto parts = clickhouse::query(*connection,
                                           "SELECT name, rows, active FROM system.parts WHERE database = " +
                                               quoteString(database) + " AND table = " + quoteString(local));
            for (size_t row = 0; row < parts.rowCount(); ++row) {
                frozen_table.rows_by_part[parts.getString(row, "name")] = parts.getUInt64(row, "rows");
                frozen_table.active_parts += parts.getBool(row, "active") ? 1 : 0;
            }
            auto hash = sync::readColumns(*connection, database, local).hash;
            auto sums = clickhouse::query(
                *connection, "SELECT _part AS _chfleet_p, sum(" + hash + ") AS _chfleet_h FROM " +
                                 qualifiedName(database, local) + " GROUP BY _part");
            for (size_t row = 0; row < sums.rowCount(); ++row) {
                frozen_table.hash_by_part[sums.getString(row, "_chfleet_p")] =
                    sums.getUInt64(row, "_chfleet_h");
            }
            frozen.tables.push_back(std::move(frozen_table));
        }
    } catch (...) {
        clickhouse::execute(*connection, "SYSTEM START MERGES");
        throw;
    }
    clickhouse::execute(*connection, "SYSTEM START MERGES");
    return frozen;
}

}  // namespace

BackupEngine::BackupEngine(const topology::Fleet& fleet, std::optional<RepositorySpec> repository)
    : impl_(std::make_unique<Impl>(Impl{fleet, std::move(repository), {}, backupConfig(fleet).parallel})) {}

BackupEngine::~BackupEngine() = default;

Repository& BackupEngine::repository(const std::string& region) {
    return impl_->repository(region);
}

CreateReport BackupEngine::create(const std::string& name, const CreateOptions& options) {
    checkBackupName(name);
    auto& impl = *impl_;
    const auto& site = impl.siteNamed(options.site);
    auto tables = impl.selectTables(options.tables);
    auto started = std::chrono::steady_clock::now();
    CreateReport report;
    report.name = name;
    report.site = site.name;
    std::set<std::string> touched;  // per host: the regions of the nodes named
    for (const auto& node_name : options.nodes) {
        const auto* node = impl.fleet.node(node_name);
        if (node == nullptr || node->site != site.name) {
            throw Exception(ErrorCode::BadArguments, "site {} has no node {}", site.name, node_name);
        }
        touched.insert(node->region);
    }
    // Every region's repository must be reachable, and the name free, before anything is frozen.
    std::map<std::string, std::string> bases;
    for (const auto& region : site.regions) {
        auto& repo = impl.repository(region.name);
        if ((options.nodes.empty() || touched.count(region.name) > 0) &&
            repo.exists(manifestKey(name, region.name))) {
            throw Exception(ErrorCode::BadArguments,
                            "backup '{}' already exists in {} (region {}); pick another name", name,
                            repo.describe(), region.name);
        }
        int64_t newest = -1;
        for (const auto& manifest : impl.manifestsIn(repo)) {
            if (manifest.region == region.name && manifest.started_ms > newest) {
                newest = manifest.started_ms;
                bases[region.name] = manifest.name;
            }
        }
        report.regions.push_back(region.name);
    }
    // Per host (--node): a shard is this run's when one of the nodes named is a replica of it (the first
    // named); the other shards are left to the runs on the other hosts.
    std::vector<const topology::Node*> nodes;
    std::vector<std::string> node_regions;
    for (const auto& region : site.regions) {
        for (int shard = 1; shard <= region.shards; ++shard) {
            const topology::Node* chosen = nullptr;
            for (const auto& node_name : options.nodes) {
                const auto* node = impl.fleet.node(node_name);
                if (chosen == nullptr && node->region == region.name && node->shard == shard) {
                    chosen = node;
                }
            }
            if (options.nodes.empty()) {
                chosen = healthyReplica(impl.fleet, region, shard);
            }
            if (chosen != nullptr) {
                nodes.push_back(chosen);
                node_regions.push_back(region.name);
            }
        }
    }
    int64_t started_ms = nowMs();
    std::string ledger_position = ledgerPosition(impl.fleet);
    for (const auto& region : site.regions) {
        auto& repo = impl.repository(region.name);
        if (options.nodes.empty() || !repo.exists(startedKey(name, region.name))) {
            repo.putText(
                startedKey(name, region.name),
                nlohmann::json{{"name", name}, {"site", site.name}, {"started_ms", started_ms}}.dump() +
                    "\n");
        }
    }
    logger()->info("backup {}: freezing {} shards of site {} ({} tables)", name, nodes.size(), site.name,
                   tables.size());
    // Every shard is frozen by its own thread, all started together: the shards' moments differ by the time
    // one FREEZE takes, not by the time the shards before it took.
    std::vector<FrozenShard> frozen(nodes.size());
    std::vector<std::exception_ptr> errors(nodes.size());
    {
        std::vector<std::thread> threads;
        for (size_t i = 0; i < nodes.size(); ++i) {
            threads.emplace_back([&, i] {
                try {
                    frozen[i] =
                        freezeShard(impl.fleet, name, node_regions[i], *nodes[i], tables, options.consistent);
                } catch (...) {
                    errors[i] = std::current_exception();
                }
            });
        }
        for (auto& thread : threads) {
            thread.join();
        }
    }
    auto removeShadows = [&] {
        for (const auto& shard : frozen) {
            if (!shard.shadow_root.empty()) {
                std::error_code ignored;
                fs::remove_all(shard.shadow_root, ignored);
            }
        }
    };
    try {
        for (auto& error : errors) {
            if (error) {
                std::rethrow_exception(error);
            }
        }
        // Each frozen part's files, hashed and stored once per content in the region's repository.
        std::vector<std::pair<std::string, Transfer>> transfers;  // region, file
        uint64_t total_bytes = 0;
        for (auto& shard : frozen) {
            for (auto& table : shard.tables) {
                std::error_code error;
                if (!fs::exists(table.shadow_dir, error)) {
                    if (table.active_parts > 0) {
                        throw Exception(
                            ErrorCode::Failed,
                            "{}: {} has {} parts but FREEZE left nothing in {}: is chfleet running on "
                            "the server's host, with access to its data folder? (docs/backup.md)",
                            shard.node->name, table.entry.local, table.active_parts, table.shadow_dir);
                    }
                    shard.entry.tables.push_back(table.entry);
                    continue;
                }
                for (const auto& part_dir : fs::directory_iterator(table.shadow_dir)) {
                    if (!part_dir.is_directory()) {
                        continue;
                    }
                    PartEntry part;
                    part.name = part_dir.path().filename().string();
                    auto rows = table.rows_by_part.find(part.name);
                    if (rows == table.rows_by_part.end()) {
                        throw Exception(ErrorCode::Failed,
                                        "{}: part {} of {} was frozen but is not in system.parts",
                                        shard.node->name, part.name, table.entry.local);
                    }
                    part.rows = rows->second;
                    part.partition_id = part.name.substr(0, part.name.find('_'));
                    for (const auto& file : fs::recursive_directory_iterator(part_dir.path())) {
                        if (file.is_regular_file()) {
                            FileEntry entry;
                            entry.name = fs::relative(file.path(), part_dir.path()).generic_string();
                            entry.size = file.file_size();
                            total_bytes += entry.size;
                            part.files.push_back(std::move(entry));
                        }
                    }
                    table.entry.partition_rows[part.partition_id] += part.rows;
                    auto hash = table.hash_by_part.find(part.name);
                    table.entry.partition_checksums[part.partition_id] +=
                        hash == table.hash_by_part.end() ? 0 : hash->second;
                    table.entry.parts.push_back(std::move(part));
                }
                shard.entry.tables.push_back(table.entry);
            }
        }
        // Pointers into the manifests' entries are taken once nothing moves any more.
        for (auto& shard : frozen) {
            for (auto& table : shard.entry.tables) {
                auto& frozen_table =
                    *std::find_if(shard.tables.begin(), shard.tables.end(),
                                  [&](const FrozenTable& t) { return t.entry.local == table.local; });
                auto root = frozen_table.shadow_dir;
                for (auto& part : table.parts) {
                    for (auto& file : part.files) {
                        transfers.push_back(
                            {shard.region, Transfer{root + part.name + "/" + file.name, &file}});
                    }
                    ++report.parts;
                }
            }
        }
        report.files = transfers.size();
        report.size_bytes = total_bytes;
        std::mutex seen_mutex;
        std::map<std::string, uint64_t> uploaded;  // per region
        std::set<std::string> seen;                // region|sha256 stored or being stored by this run
        {
            Progress progress("backup " + name, total_bytes, transfers.size(), options.progress);
            WorkerPool pool(static_cast<size_t>(impl.parallel));
            std::vector<std::future<void>> done;
            for (auto& [region, transfer] : transfers) {
                auto& repo = impl.repository(region);
                done.push_back(pool.run([&, transfer, region = region] {
                    auto [sha, size] = hashFile(transfer.local_path);
                    transfer.file->sha256 = sha;
                    transfer.file->size = size;
                    bool first;
                    {
                        std::lock_guard lock(seen_mutex);
                        first = seen.insert(region + "|" + sha).second;
                    }
                    if (first && repo.sizeOf(blobKey(sha)) != std::optional<uint64_t>(size)) {
                        repo.putFile(blobKey(sha), transfer.local_path);
                        std::lock_guard lock(seen_mutex);
                        uploaded[region] += size;
                    }
                    progress.fileDone(size);
                }));
            }
            for (auto& future : done) {
                future.get();
            }
        }
        for (const auto& [region, bytes] : uploaded) {
            report.uploaded_bytes += bytes;
        }
        report.shards = static_cast<int>(frozen.size());
        // One piece per shard (a manifest holding that shard alone), then the region's manifest once every
        // shard's piece is in: by this run, or by the run on another host that brings the last piece.
        for (const auto& region : site.regions) {
            Manifest manifest;
            manifest.name = name;
            manifest.fleet = impl.fleet.name;
            manifest.site = site.name;
            manifest.region = region.name;
            manifest.database = impl.fleet.schema.database;
            manifest.base = bases[region.name];
            manifest.consistent = options.consistent;
            manifest.started_ms = started_ms;
            manifest.ledger_position = ledger_position;
            for (auto& shard : frozen) {
                if (shard.region != region.name) {
                    continue;
                }
                for (const auto& table : shard.entry.tables) {
                    for (const auto& part : table.parts) {
                        for (const auto& file : part.files) {
                            manifest.size_bytes += file.size;
                        }
                    }
                }
                manifest.shards.push_back(shard.entry);
            }
            manifest.finished_ms = nowMs();
            manifest.uploaded_bytes = uploaded[region.name];
            auto& repo = impl.repository(region.name);
            for (const auto& shard : manifest.shards) {
                Manifest piece = manifest;
                piece.shards = {shard};
                piece.size_bytes = 0;
                for (const auto& table : shard.tables) {
                    for (const auto& part : table.parts) {
                        for (const auto& file : part.files) {
                            piece.size_bytes += file.size;
                        }
                    }
                }
                piece.uploaded_bytes =
                    shard.shard == manifest.shards.front().shard ? manifest.uploaded_bytes : 0;
                repo.putText(piecesPrefix(name, region.name) + std::to_string(shard.shard) + ".json",
                             piece.toJson());
            }
        }
        for (const auto& region : site.regions) {
            auto missing = impl.completeFromPieces(name, region);
            if (!missing.empty()) {
                report.waiting.push_back(
                    fmt::format("{}: shards {} not in yet", region.name, fmt::join(missing, ", ")));
            }
        }
    } catch (...) {
        removeShadows();
        for (const auto& region : site.regions) {
            try {
                impl.updateStats(impl.repository(region.name), region.name, [](BackupStats& stats) {
                    ++stats.failures;
                    stats.last_failure_ms = nowMs();
                });
            } catch (const Exception& error) {
                logger()->warn("backup {}: the failure could not be counted in {}: {}", name, region.name,
                               error.what());
            }
        }
        throw;
    }
    removeShadows();
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    logger()->info("backup {}: {}, {} parts, {} bytes, {} bytes stored by this run, {:.1f} s", name,
                   report.waiting.empty() ? "complete" : "this host's shards stored", report.parts,
                   report.size_bytes, report.uploaded_bytes, report.seconds);
    return report;
}

std::vector<int> BackupEngine::Impl::completeFromPieces(const std::string& name,
                                                        const topology::Region& region) {
    auto& repo = repository(region.name);
    if (repo.exists(manifestKey(name, region.name))) {
        return {};
    }
    std::map<int, Manifest> pieces;
    auto prefix = piecesPrefix(name, region.name);
    for (const auto& object : repo.list(prefix)) {
        auto piece = Manifest::fromJson(repo.getText(object.key), repo.describe() + " " + object.key);
        if (piece.shards.size() == 1) {
            pieces[piece.shards.front().shard] = std::move(piece);
        }
    }
    std::vector<int> missing;
    for (int shard = 1; shard <= region.shards; ++shard) {
        if (pieces.count(shard) == 0) {
            missing.push_back(shard);
        }
    }
    if (!missing.empty()) {
        return missing;
    }
    // The pieces' common fields; time, base and erasure position from the earliest run (the one that knew
    // the fewest erasures); consistent only when every piece was.
    Manifest manifest = pieces.begin()->second;
    manifest.shards.clear();
    manifest.size_bytes = 0;
    manifest.uploaded_bytes = 0;
    for (const auto& [shard, piece] : pieces) {
        if (piece.started_ms < manifest.started_ms) {
            manifest.started_ms = piece.started_ms;
            manifest.ledger_position = piece.ledger_position;
            manifest.base = piece.base;
        }
        manifest.consistent = manifest.consistent && piece.consistent;
        manifest.size_bytes += piece.size_bytes;
        manifest.uploaded_bytes += piece.uploaded_bytes;
        manifest.shards.push_back(piece.shards.front());
    }
    manifest.finished_ms = nowMs();
    repo.putText(manifestKey(name, region.name), manifest.toJson());
    for (const auto& object : repo.list(prefix)) {
        repo.remove(object.key);
    }
    double seconds = static_cast<double>(manifest.finished_ms - manifest.started_ms) / 1000.0;
    updateStats(repo, region.name, [&](BackupStats& stats) {
        stats.last_success_ms = manifest.finished_ms;
        stats.last_duration_seconds = seconds;
        stats.last_size_bytes = manifest.size_bytes;
    });
    logger()->info("backup {}: region {} complete ({} shards)", name, region.name, manifest.shards.size());
    return {};
}

std::vector<std::string> BackupEngine::finish(const std::string& name, const std::string& site_name) {
    checkBackupName(name);
    auto& impl = *impl_;
    const auto& site = impl.siteNamed(site_name);
    std::vector<std::string> waiting;
    bool started = false;
    for (const auto& region : site.regions) {
        if (!impl.repository(region.name).exists(startedKey(name, region.name))) {
            continue;
        }
        started = true;
        auto missing = impl.completeFromPieces(name, region);
        if (!missing.empty()) {
            waiting.push_back(fmt::format("{}: shards {} not in yet", region.name, fmt::join(missing, ", ")));
        }
    }
    if (!started) {
        throw Exception(ErrorCode::BadArguments, "no backup '{}' was started on site {}", name, site.name);
    }
    return waiting;
}

std::vector<BackupListing> BackupEngine::list() {
    std::map<std::string, BackupListing> by_name;
    std::map<std::string, std::set<std::string>> started_regions, complete_regions;
    for (auto& [description, repo] : impl_->distinctRepositories()) {
        for (const auto& object : repo->list("backups/")) {
            // backups/<name>/<region>/<file>
            auto first = object.key.find('/', 8);
            auto second = first == std::string::npos ? first : object.key.find('/', first + 1);
            if (second == std::string::npos) {
                continue;
            }
            auto name = object.key.substr(8, first - 8);
            auto region = object.key.substr(first + 1, second - first - 1);
            auto file = object.key.substr(second + 1);
            auto& listing = by_name[name];
            listing.name = name;
            if (file == "started.json") {
                started_regions[name].insert(region);
                if (listing.started_ms == 0) {
                    auto json = nlohmann::json::parse(repo->getText(object.key), nullptr, false);
                    listing.started_ms = json.is_object() ? json.value("started_ms", int64_t{0}) : 0;
                }
            } else if (file == "manifest.json") {
                auto manifest = Manifest::fromJson(repo->getText(object.key), description + " " + object.key);
                complete_regions[name].insert(region);
                listing.started_ms = manifest.started_ms;
                listing.size_bytes += manifest.size_bytes;
                listing.shards += static_cast<int>(manifest.shards.size());
                listing.base = manifest.base;
            }
        }
    }
    std::vector<BackupListing> out;
    for (auto& [name, listing] : by_name) {
        const auto& started = started_regions[name];
        const auto& complete = complete_regions[name];
        listing.regions.assign(started.begin(), started.end());
        listing.complete = !complete.empty() &&
                           std::includes(complete.begin(), complete.end(), started.begin(), started.end());
        out.push_back(listing);
    }
    std::sort(out.begin(), out.end(),
              [](const BackupListing& a, const BackupListing& b) { return a.started_ms < b.started_ms; });
    return out;
}

VerifyReport BackupEngine::verify(const std::string& name) {
    checkBackupName(name);
    auto manifests =
        completeManifests(list(), name, [&](const std::string& r) -> Repository& { return repository(r); });
    VerifyReport report;
    std::mutex mutex;
    std::set<std::string> checked;  // repository|sha
    auto scratch =
        files::absolute(fs::temp_directory_path().string() + "/chfleet-verify-" + std::to_string(::getpid()));
    files::makeDirectories(scratch);
    {
        WorkerPool pool(static_cast<size_t>(impl_->parallel));
        std::vector<std::future<void>> done;
        std::atomic<uint64_t> counter{0};
        for (const auto& [manifest, repo] : manifests) {
            for (const auto& shard : manifest.shards) {
                for (const auto& table : shard.tables) {
                    for (const auto& part : table.parts) {
                        for (const auto& file : part.files) {
                            done.push_back(pool.run([&, repo = repo, region = manifest.region,
                                                     shard_number = shard.shard, table_name = table.table,
                                                     part_name = part.name, file] {
                                std::string where =
                                    fmt::format("shard {} table {} part {} file {}", shard_number, table_name,
                                                part_name, file.name);
                                auto key = blobKey(file.sha256);
                                {
                                    std::lock_guard lock(mutex);
                                    if (!checked.insert(repo->describe() + "|" + file.sha256).second) {
                                        return;
                                    }
                                }
                                std::string problem;
                                if (!repo->exists(key)) {
                                    problem = "missing";
                                } else {
                                    auto local = scratch + "/" + std::to_string(++counter);
                                    repo->getFile(key, local);
                                    auto [sha, size] = hashFile(local);
                                    fs::remove(local);
                                    if (sha != file.sha256 || size != file.size) {
                                        problem = fmt::format(
                                            "content differs (SHA-256 {}, {} bytes; expected {} bytes)", sha,
                                            size, file.size);
                                    }
                                }
                                std::lock_guard lock(mutex);
                                ++report.objects;
                                report.bytes += file.size;
                                if (!problem.empty()) {
                                    report.problems.push_back(
                                        {region, where, repo->describe() + " " + key, problem});
                                }
                            }));
                        }
                    }
                }
            }
        }
        for (auto& future : done) {
            future.get();
        }
    }
    std::error_code ignored;
    fs::remove_all(scratch, ignored);
    return report;
}

DeleteReport BackupEngine::remove(const std::string& name, bool dry_run) {
    checkBackupName(name);
    auto listings = list();
    if (std::none_of(listings.begin(), listings.end(),
                     [&](const BackupListing& l) { return l.name == name; })) {
        throw Exception(ErrorCode::BadArguments, "no backup named '{}' (chfleet backup list shows them)",
                        name);
    }
    return cleanupOf({name}, dry_run);
}

DeleteReport BackupEngine::cleanup(int keep_days, int keep, bool dry_run) {
    auto listings = list();
    int64_t horizon = nowMs() - static_cast<int64_t>(keep_days) * 86400 * 1000;
    std::vector<std::string> doomed;
    int complete_seen = 0;
    for (auto it = listings.rbegin(); it != listings.rend(); ++it) {  // newest first
        if (it->complete) {
            ++complete_seen;
            if (complete_seen > keep && it->started_ms < horizon) {
                doomed.push_back(it->name);
            }
        } else if (it->started_ms < horizon) {
            doomed.push_back(it->name);
        }
    }
    return cleanupOf(doomed, dry_run);
}

DeleteReport BackupEngine::cleanupOf(const std::vector<std::string>& names, bool dry_run) {
    DeleteReport report;
    report.backups = names;
    std::set<std::string> doomed(names.begin(), names.end());
    for (auto& [description, repo] : impl_->distinctRepositories()) {
        std::set<std::string> referenced;
        bool running = false;
        std::map<std::string, bool> has_manifest;  // backups/<name>/<region>/ -> manifest present
        auto objects = repo->list("backups/");
        for (const auto& object : objects) {
            auto name = object.key.substr(8, object.key.find('/', 8) - 8);
            auto folder = object.key.substr(0, object.key.rfind('/') + 1);
            has_manifest[folder] = has_manifest[folder] || object.key.ends_with("/manifest.json");
            if (doomed.count(name) > 0) {
                continue;
            }
            // A piece of a backup still waiting for other hosts keeps its blobs as a manifest does.
            if (object.key.ends_with("/manifest.json") || object.key.find("/pieces/") != std::string::npos) {
                auto manifest = Manifest::fromJson(repo->getText(object.key), description + " " + object.key);
                for (const auto& shard : manifest.shards) {
                    for (const auto& table : shard.tables) {
                        for (const auto& part : table.parts) {
                            for (const auto& file : part.files) {
                                referenced.insert(blobKey(file.sha256));
                            }
                        }
                    }
                }
            }
        }
        for (const auto& object : objects) {
            auto name = object.key.substr(8, object.key.find('/', 8) - 8);
            if (doomed.count(name) == 0 && object.key.ends_with("/started.json") &&
                !has_manifest[object.key.substr(0, object.key.rfind('/') + 1)]) {
                auto json = nlohmann::json::parse(repo->getText(object.key), nullptr, false);
                int64_t started = json.is_object() ? json.value("started_ms", int64_t{0}) : 0;
                running = running || nowMs() - started < kRunningBackupMs;
            }
        }
        if (dry_run) {
            for (const auto& object : repo->list("blobs/")) {
                if (referenced.count(object.key) == 0) {
                    ++report.blobs_removed;
                    report.bytes_freed += object.size;
                }
            }
            continue;
        }
        // The manifest first: from then on the backup is no longer complete, whatever happens next.
        for (const auto& object : objects) {
            auto name = object.key.substr(8, object.key.find('/', 8) - 8);
            if (doomed.count(name) > 0 && object.key.ends_with("/manifest.json")) {
                repo->remove(object.key);
            }
        }
        for (const auto& object : objects) {
            auto name = object.key.substr(8, object.key.find('/', 8) - 8);
            if (doomed.count(name) > 0 && !object.key.ends_with("/manifest.json")) {
                repo->remove(object.key);
            }
        }
        if (running) {
            report.blobs_kept_for_running_backup = true;
            logger()->warn("{}: a backup is under way; blobs are not collected this time", description);
            continue;
        }
        for (const auto& object : repo->list("blobs/")) {
            if (referenced.count(object.key) == 0) {
                repo->remove(object.key);
                ++report.blobs_removed;
                report.bytes_freed += object.size;
            }
        }
    }
    return report;
}

BackupStats backupStats(const topology::Fleet& fleet, const std::string& region,
                        const std::optional<RepositorySpec>& repository) {
    BackupEngine engine(fleet, repository);
    return readStats(engine.repository(region), region);
}

}  // namespace chfleet::backup
