// Reading, validating and writing fleet files (docs/fleet-file.md is the reference of the format).
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string_view>
#include <tuple>

#include "common/Exception.h"
#include "topology/Fleet.h"
#include "topology/FleetFile.h"
#include "topology/FleetSection.h"

namespace chfleet::topology {

namespace {

constexpr uint16_t kDefaultHttpPort = 8123;
constexpr uint16_t kDefaultTcpPort = 9000;
constexpr uint16_t kDefaultInterserverPort = 9009;
constexpr uint16_t kDefaultKeeperPort = 2181;
constexpr std::string_view kDerivedHost = "127.0.0.1";
constexpr int kPortsPerNode = 3;
constexpr int kMaxShardsOrReplicas = 1000;

// ---- reading ----

/// What the reader remembers about where things were written, beyond the marks the model keeps.
struct NodeSource {
    std::string path;  ///< sites[i].regions[j].nodes[k], or sites[i].regions[j] for derived nodes
    int port_lines[kPortsPerNode] = {0, 0, 0};
};

struct RegionSource {
    std::string path;
    bool nodes_listed = false;
    bool counts_valid = false;  ///< shards and replicas were read
    std::string node_prefix;
    std::vector<NodeSource> nodes;  ///< parallel to Region::nodes until they are sorted
};

struct SiteSource {
    std::string path;
    bool keepers_listed = false;
    std::vector<std::string> keeper_paths;
    std::vector<int> keeper_lines;
    std::vector<RegionSource> regions;
};

/// Reads one fleet file into a Fleet, deriving what the file leaves out and checking everything it can.
class FleetReader {
  public:
    FleetReader(std::string file, const LoadOptions& options)
        : problems_(file), file_(file), options_(options), reading_(fleet_, problems_, std::move(file)) {
        for (const auto& section : fleetSections()) {
            section_readers_.push_back(section.new_reader());
        }
    }

    FleetCheck read(const std::string& text) {
        YAML::Node root;
        try {
            root = YAML::Load(text);
        } catch (const YAML::ParserException& e) {
            problems_.add(e.mark.is_null() ? 0 : e.mark.line + 1, "", "malformed YAML: " + e.msg);
            return finish();
        }
        if (!root.IsDefined() || root.IsNull()) {
            problems_.add(1, "", "the file is empty; a fleet file starts with 'fleet: <name>'");
            return finish();
        }
        if (!root.IsMap()) {
            problems_.add(lineOf(root), "", "the top level must be a mapping (fleet:, sites:, schema:, ...)");
            return finish();
        }
        fleet_.source_path = file_;
        std::vector<std::string> top_keys = {"fleet", "base_port", "credentials", "sites"};
        for (const auto& section : fleetSections()) {
            top_keys.push_back(section.key);
        }
        MapReader top(root, "", problems_, std::move(top_keys));
        if (auto name = top.name("fleet", true, isObjectName, kObjectNameRule)) {
            fleet_.name = *name;
        }
        if (auto base = top.port("base_port", false)) {
            fleet_.base_port = *base;
        }
        base_port_line_ = top.lineAt("base_port");
        if (options_.base_port) {
            fleet_.base_port = *options_.base_port;
        }
        if (const YAML::Node* credentials = top.get("credentials", false)) {
            readCredentials(*credentials, top.path("credentials"));
        }
        if (const YAML::Node* sites = top.sequence("sites", true, false)) {
            for (size_t i = 0; i < sites->size(); ++i) {
                readSite((*sites)[i], itemPath("sites", i));
            }
        }
        for (size_t i = 0; i < section_readers_.size(); ++i) {
            const std::string& key = fleetSections()[i].key;
            if (const YAML::Node* section = top.get(key, fleetSections()[i].required)) {
                section_readers_[i]->read(*section, key, reading_);
            }
        }
        deriveKeepersAndNodes();
        checkSites();
        checkAddresses();
        for (auto& reader : section_readers_) {
            reader->check(reading_);
        }
        for (auto& site : fleet_.sites) {
            for (auto& region : site.regions) {
                std::stable_sort(region.nodes.begin(), region.nodes.end(), [](const Node& a, const Node& b) {
                    return std::tie(a.shard, a.replica) < std::tie(b.shard, b.replica);
                });
            }
        }
        return finish();
    }

  private:
    FleetCheck finish() {
        FleetCheck check;
        check.problems = problems_.take();
        if (check.problems.empty()) {
            check.fleet = std::move(fleet_);
        }
        return check;
    }

    std::optional<MapReader> mapping(const YAML::Node& node, const std::string& path,
                                     std::vector<std::string> known) {
        return reading_.mapping(node, path, std::move(known));
    }

    SourceMark markOf(const YAML::Node& node) const { return reading_.markOf(node); }

    void readCredentials(const YAML::Node& node, const std::string& path) {
        auto map = mapping(node, path, {"user", "password_env", "password_file", "password"});
        if (!map) {
            return;
        }
        if (auto user = map->name("user", false, isUserName, kUserNameRule)) {
            fleet_.credentials.user = *user;
        }
        if (map->has("password")) {
            problems_.add(
                map->lineAt("password"), map->path("password"),
                "an inline password is not allowed: fleet files are shared and committed; put the "
                "password in an environment variable (password_env: NAME) or a file readable only by "
                "its owner (password_file: PATH)");
        }
        auto env = map->name("password_env", false, isSqlIdentifier, "an environment variable name");
        auto file = map->string("password_file", false);
        if (env && file) {
            problems_.add(map->lineAt("password_file"), map->path("password_file"),
                          "give either password_env or password_file, not both");
            return;
        }
        fleet_.credentials.password.env = env.value_or("");
        fleet_.credentials.password.file = file.value_or("");
    }

    void readSite(const YAML::Node& node, const std::string& path) {
        auto map = mapping(node, path,
                           {"name", "global_cluster", "keepers", "keeper_session_timeout_ms", "regions"});
        Site site;
        SiteSource source;
        source.path = path;
        site.mark = markOf(node);
        if (map) {
            site.name = map->name("name", true, isObjectName, kObjectNameRule).value_or("");
            site.global_cluster =
                map->name("global_cluster", true, isSqlIdentifier, kSqlIdentifierRule).value_or("");
            if (auto timeout = map->integer("keeper_session_timeout_ms", false, 1000, 600000)) {
                site.keeper_session_timeout_ms = static_cast<int>(*timeout);
            }
            if (const YAML::Node* keepers = map->sequence("keepers", false, false)) {
                source.keepers_listed = true;
                for (size_t i = 0; i < keepers->size(); ++i) {
                    readKeeper((*keepers)[i], itemPath(map->path("keepers"), i), site, source);
                }
            } else if (map->has("keepers")) {
                source.keepers_listed = true;  // reported as wrong; not derived either
            }
            if (const YAML::Node* regions = map->sequence("regions", true, false)) {
                for (size_t i = 0; i < regions->size(); ++i) {
                    readRegion((*regions)[i], itemPath(map->path("regions"), i), site, source);
                }
            }
        }
        fleet_.sites.push_back(std::move(site));
        site_sources_.push_back(std::move(source));
    }

    void readKeeper(const YAML::Node& node, const std::string& path, Site& site, SiteSource& source) {
        auto map = mapping(node, path, {"host", "port"});
        if (!map) {
            return;
        }
        Keeper keeper;
        keeper.mark = markOf(node);
        keeper.host = map->name("host", true, isHostName, kHostRule).value_or("");
        keeper.port = map->has("port") ? map->port("port", true).value_or(0) : kDefaultKeeperPort;
        source.keeper_paths.push_back(path);
        source.keeper_lines.push_back(map->lineAt("port"));
        site.keepers.push_back(std::move(keeper));
    }

    void readRegion(const YAML::Node& node, const std::string& path, Site& site, SiteSource& site_source) {
        auto map =
            mapping(node, path,
                    {"name", "alias", "cluster", "shards", "replicas", "weights", "node_prefix", "nodes"});
        Region region;
        RegionSource source;
        source.path = path;
        region.mark = markOf(node);
        if (map) {
            region.name = map->name("name", true, isRegionName, kRegionNameRule).value_or("");
            if (map->has("alias")) {
                region.alias = map->name("alias", true, isSqlIdentifier, kSqlIdentifierRule).value_or("");
            } else {
                region.alias = region.name;
                std::replace_if(
                    region.alias.begin(), region.alias.end(), [](char c) { return c == '-' || c == '.'; },
                    '_');
            }
            region.cluster = map->name("cluster", true, isSqlIdentifier, kSqlIdentifierRule).value_or("");
            auto shards = map->integer("shards", true, 1, kMaxShardsOrReplicas);
            auto replicas = map->integer("replicas", true, 1, kMaxShardsOrReplicas);
            region.shards = static_cast<int>(shards.value_or(0));
            region.replicas = static_cast<int>(replicas.value_or(0));
            source.counts_valid = shards && replicas;
            readWeights(*map, region);
            source.node_prefix =
                map->name("node_prefix", false, isObjectName, kObjectNameRule)
                    .value_or(site.name.empty() || region.alias.empty() ? ""
                                                                        : site.name + "-" + region.alias);
            if (const YAML::Node* nodes = map->sequence("nodes", false, false)) {
                source.nodes_listed = true;
                for (size_t i = 0; i < nodes->size(); ++i) {
                    readNode((*nodes)[i], itemPath(map->path("nodes"), i), site, region, source);
                }
                checkListedNodes(*map, region, source);
            } else if (map->has("nodes")) {
                source.nodes_listed = true;
            }
        }
        site.regions.push_back(std::move(region));
        site_source.regions.push_back(std::move(source));
    }

    void readWeights(const MapReader& map, Region& region) {
        const YAML::Node* weights = map.sequence("weights", false, false);
        if (weights == nullptr) {
            return;
        }
        bool all_read = true;
        long long total = 0;
        for (size_t i = 0; i < weights->size(); ++i) {
            auto weight = map.readInteger((*weights)[i], itemPath(map.path("weights"), i), 0, 1000000);
            all_read = all_read && weight.has_value();
            total += weight.value_or(0);
            region.weights.push_back(static_cast<int>(weight.value_or(0)));
        }
        if (!all_read) {
            region.weights.clear();
            return;
        }
        if (region.shards > 0 && static_cast<int>(region.weights.size()) != region.shards) {
            problems_.add(map.lineAt("weights"), map.path("weights"),
                          fmt::format("{} weights given for {} shards; give one weight per shard",
                                      region.weights.size(), region.shards));
            region.weights.clear();
        } else if (total == 0) {
            problems_.add(
                map.lineAt("weights"), map.path("weights"),
                "every weight is 0: no shard would receive rows; give at least one shard a weight above 0");
            region.weights.clear();
        }
    }

    void readNode(const YAML::Node& node, const std::string& path, const Site& site, Region& region,
                  RegionSource& source) {
        auto map = mapping(node, path,
                           {"name", "host", "http_port", "tcp_port", "interserver_port", "shard", "replica"});
        if (!map) {
            return;
        }
        Node result;
        NodeSource node_source;
        node_source.path = path;
        result.mark = markOf(node);
        result.site = site.name;
        result.region = region.name;
        // 0 stands for "not read" (the problem is reported) from here on.
        result.shard = static_cast<int>(map->integer("shard", true, 1, kMaxShardsOrReplicas).value_or(0));
        result.replica = static_cast<int>(map->integer("replica", true, 1, kMaxShardsOrReplicas).value_or(0));
        if (region.shards > 0 && result.shard > region.shards) {
            problems_.add(map->lineAt("shard"), map->path("shard"),
                          fmt::format("shard {} is out of range: the region has {} shards (1..{})",
                                      result.shard, region.shards, region.shards));
            result.shard = 0;
        }
        if (region.replicas > 0 && result.replica > region.replicas) {
            problems_.add(
                map->lineAt("replica"), map->path("replica"),
                fmt::format("replica {} is out of range: the region has {} replicas per shard (1..{})",
                            result.replica, region.replicas, region.replicas));
            result.replica = 0;
        }
        if (map->has("name")) {
            result.name = map->name("name", true, isObjectName, kObjectNameRule).value_or("");
        } else if (result.shard > 0 && result.replica > 0 && !source.node_prefix.empty()) {
            result.name = derivedNodeName(source.node_prefix, region, result.shard, result.replica);
        }
        result.host = map->name("host", true, isHostName, kHostRule).value_or("");
        const std::pair<const char*, uint16_t> port_fields[kPortsPerNode] = {
            {"http_port", kDefaultHttpPort},
            {"tcp_port", kDefaultTcpPort},
            {"interserver_port", kDefaultInterserverPort}};
        uint16_t* ports[kPortsPerNode] = {&result.http_port, &result.tcp_port, &result.interserver_port};
        for (int p = 0; p < kPortsPerNode; ++p) {
            const char* field = port_fields[p].first;
            *ports[p] = map->has(field) ? map->port(field, true).value_or(0) : port_fields[p].second;
            node_source.port_lines[p] = map->lineAt(field);
        }
        region.nodes.push_back(std::move(result));
        source.nodes.push_back(std::move(node_source));
    }

    static std::string derivedNodeName(const std::string& prefix, const Region& region, int shard,
                                       int replica) {
        return fmt::format("{}-{}", prefix, (shard - 1) * region.replicas + (replica - 1));
    }

    void checkListedNodes(const MapReader& map, const Region& region, const RegionSource& source) {
        if (!source.counts_valid) {
            return;
        }
        size_t expected = static_cast<size_t>(region.shards) * static_cast<size_t>(region.replicas);
        if (region.nodes.size() != expected) {
            problems_.add(map.lineAt("nodes"), map.path("nodes"),
                          fmt::format("{} nodes listed; a region of {} shards x {} replicas needs exactly {}",
                                      region.nodes.size(), region.shards, region.replicas, expected));
        }
        std::map<std::pair<int, int>, int> seen;
        for (size_t i = 0; i < region.nodes.size(); ++i) {
            const Node& node = region.nodes[i];
            if (node.shard == 0 || node.replica == 0) {
                continue;
            }
            auto [it, inserted] = seen.emplace(std::make_pair(node.shard, node.replica), node.mark.line);
            if (!inserted) {
                problems_.add(node.mark.line, source.nodes[i].path,
                              fmt::format("shard {} replica {} is listed twice (first at line {})",
                                          node.shard, node.replica, it->second));
            }
        }
    }

    // ---- derivation and fleet-wide checks ----

    /// Derived addresses: in site order, the site's keeper (one client port) when it lists none, then the
    /// nodes of each region that lists none, three consecutive ports each (http, tcp, interserver), counting
    /// from base_port; all on 127.0.0.1.
    void deriveKeepersAndNodes() {
        long long next_port = fleet_.base_port;
        long long first_port = next_port;
        for (size_t s = 0; s < fleet_.sites.size(); ++s) {
            Site& site = fleet_.sites[s];
            SiteSource& site_source = site_sources_[s];
            if (!site_source.keepers_listed) {
                if (fleet_.base_port == 0) {
                    problems_.add(
                        site.mark.line, site_source.path + ".keepers",
                        "no keepers are listed and there is no base_port to derive one from; list the "
                        "site's keepers or set base_port");
                } else {
                    Keeper keeper;
                    keeper.host = kDerivedHost;
                    keeper.port = static_cast<uint16_t>(std::min(next_port, 65535LL));
                    keeper.derived = true;
                    keeper.mark = SourceMark{file_, 0};
                    site.keepers.push_back(keeper);
                    site_source.keeper_paths.push_back(site_source.path + ".keepers");
                    site_source.keeper_lines.push_back(site.mark.line);
                    next_port += 1;
                }
            }
            for (size_t r = 0; r < site.regions.size(); ++r) {
                Region& region = site.regions[r];
                RegionSource& source = site_source.regions[r];
                if (source.nodes_listed || !source.counts_valid) {
                    continue;
                }
                if (fleet_.base_port == 0) {
                    problems_.add(
                        region.mark.line, source.path + ".nodes",
                        fmt::format("no nodes are listed and there is no base_port to derive them from; "
                                    "list the region's {} nodes or set base_port",
                                    region.shards * region.replicas));
                    continue;
                }
                for (int shard = 1; shard <= region.shards; ++shard) {
                    for (int replica = 1; replica <= region.replicas; ++replica) {
                        Node node;
                        node.name = source.node_prefix.empty()
                                        ? ""
                                        : derivedNodeName(source.node_prefix, region, shard, replica);
                        node.site = site.name;
                        node.region = region.name;
                        node.shard = shard;
                        node.replica = replica;
                        node.host = kDerivedHost;
                        node.http_port = static_cast<uint16_t>(std::min(next_port, 65535LL));
                        node.tcp_port = static_cast<uint16_t>(std::min(next_port + 1, 65535LL));
                        node.interserver_port = static_cast<uint16_t>(std::min(next_port + 2, 65535LL));
                        node.derived = true;
                        node.mark = SourceMark{file_, 0};
                        region.nodes.push_back(node);
                        NodeSource node_source;
                        node_source.path = source.path;
                        std::fill(std::begin(node_source.port_lines), std::end(node_source.port_lines),
                                  region.mark.line);
                        source.nodes.push_back(node_source);
                        next_port += kPortsPerNode;
                    }
                }
            }
        }
        if (next_port - 1 > 65535) {
            problems_.add(
                base_port_line_, "base_port",
                fmt::format("derived ports run from {} to {}, past 65535; lower base_port{}", first_port,
                            next_port - 1, options_.base_port ? " (given as an option)" : ""));
            derived_ports_valid_ = false;
        }
    }

    void checkSites() {
        std::map<std::string, int> site_names;
        std::map<std::string, std::string> clusters;  // name -> where first defined
        std::map<std::string, std::pair<int, std::string>> node_names;
        auto add_cluster = [&](const std::string& cluster, int line, const std::string& path) {
            if (cluster.empty()) {
                return;
            }
            auto [it, inserted] = clusters.emplace(cluster, fmt::format("line {}", line));
            if (!inserted) {
                problems_.add(line, path,
                              fmt::format("duplicate cluster name '{}' (first at {}); every region and "
                                          "every site's global cluster needs its own name",
                                          cluster, it->second));
            }
        };
        for (size_t s = 0; s < fleet_.sites.size(); ++s) {
            const Site& site = fleet_.sites[s];
            const SiteSource& site_source = site_sources_[s];
            if (!site.name.empty()) {
                auto [it, inserted] = site_names.emplace(site.name, site.mark.line);
                if (!inserted) {
                    problems_.add(
                        site.mark.line, site_source.path + ".name",
                        fmt::format("duplicate site name '{}' (first at line {})", site.name, it->second));
                }
            }
            add_cluster(site.global_cluster, site.mark.line, site_source.path + ".global_cluster");
            std::map<std::string, int> region_names;
            std::map<std::string, int> aliases;
            for (size_t r = 0; r < site.regions.size(); ++r) {
                const Region& region = site.regions[r];
                const RegionSource& source = site_source.regions[r];
                if (!region.name.empty()) {
                    auto [it, inserted] = region_names.emplace(region.name, region.mark.line);
                    if (!inserted) {
                        problems_.add(
                            region.mark.line, source.path + ".name",
                            fmt::format("duplicate region name '{}' in site '{}' (first at line {})",
                                        region.name, site.name, it->second));
                    }
                }
                if (!region.alias.empty()) {
                    auto [it, inserted] = aliases.emplace(region.alias, region.mark.line);
                    if (!inserted) {
                        problems_.add(
                            region.mark.line, source.path + ".alias",
                            fmt::format("duplicate alias '{}' in site '{}' (first at line {}); the alias "
                                        "names the region's tables",
                                        region.alias, site.name, it->second));
                    }
                }
                add_cluster(region.cluster, region.mark.line, source.path + ".cluster");
                for (size_t n = 0; n < region.nodes.size(); ++n) {
                    const Node& node = region.nodes[n];
                    int line = node.derived ? region.mark.line : node.mark.line;
                    if (node.name.empty()) {
                        continue;
                    }
                    auto [it, inserted] =
                        node_names.emplace(node.name, std::make_pair(line, source.nodes[n].path));
                    if (!inserted) {
                        problems_.add(
                            line, source.nodes[n].path + (node.derived ? ".node_prefix" : ".name"),
                            fmt::format("duplicate node name '{}'{} (first at line {}); node names are "
                                        "unique in the fleet",
                                        node.name, node.derived ? " (derived)" : "", it->second.first));
                    }
                }
            }
        }
        checkMirroredRegions();
    }

    /// Every site has the regions of the first site, with the same aliases: a DR site mirrors the primary,
    /// and a region's tables are named after its alias, so both sites' schemas have the same table names.
    void checkMirroredRegions() {
        if (fleet_.sites.size() < 2) {
            return;
        }
        const Site& first = fleet_.sites.front();
        for (size_t s = 1; s < fleet_.sites.size(); ++s) {
            const Site& site = fleet_.sites[s];
            std::vector<std::string> missing;
            std::vector<std::string> extra;
            for (const auto& region : first.regions) {
                if (!region.name.empty() && site.region(region.name) == nullptr) {
                    missing.push_back(region.name);
                }
            }
            for (size_t r = 0; r < site.regions.size(); ++r) {
                const Region& region = site.regions[r];
                const Region* mirrored = first.region(region.name);
                if (region.name.empty()) {
                    continue;
                }
                if (mirrored == nullptr) {
                    extra.push_back(region.name);
                } else if (!region.alias.empty() && !mirrored->alias.empty() &&
                           region.alias != mirrored->alias) {
                    problems_.add(
                        region.mark.line, site_sources_[s].regions[r].path + ".alias",
                        fmt::format("alias '{}' differs from site '{}''s alias '{}' for region {}; the "
                                    "alias names the region's tables, which are the same on every site",
                                    region.alias, first.name, mirrored->alias, region.name));
                }
            }
            if (!missing.empty() || !extra.empty()) {
                std::string what;
                if (!missing.empty()) {
                    what += "missing " + joinNames(missing);
                }
                if (!extra.empty()) {
                    what += std::string(what.empty() ? "" : "; ") + "not in site '" + first.name +
                            "': " + joinNames(extra);
                }
                problems_.add(
                    site.mark.line, site_sources_[s].path + ".regions",
                    fmt::format("regions differ from site '{}' ({}); every site has the same regions, as a "
                                "DR site mirrors the primary",
                                first.name, what));
            }
        }
    }

    /// No two listening sockets of the fleet (keeper client ports, node http/tcp/interserver ports) share a
    /// host:port.
    void checkAddresses() {
        if (!derived_ports_valid_) {
            return;
        }
        struct User {
            std::string what;
            int line;
        };
        std::map<std::pair<std::string, uint16_t>, User> used;
        auto claim = [&](const std::string& host, uint16_t port, const std::string& what, int line,
                         const std::string& path) {
            if (host.empty() || port == 0) {
                return;
            }
            auto [it, inserted] = used.emplace(std::make_pair(host, port), User{what, line});
            if (!inserted) {
                problems_.add(line, path,
                              fmt::format("{}:{} is already used by {} (line {})", host, port,
                                          it->second.what, it->second.line));
            }
        };
        static constexpr const char* kPortNames[kPortsPerNode] = {"http_port", "tcp_port",
                                                                  "interserver_port"};
        for (size_t s = 0; s < fleet_.sites.size(); ++s) {
            const Site& site = fleet_.sites[s];
            const SiteSource& site_source = site_sources_[s];
            for (size_t k = 0; k < site.keepers.size(); ++k) {
                const Keeper& keeper = site.keepers[k];
                claim(keeper.host, keeper.port, fmt::format("keeper {} of site '{}'", k + 1, site.name),
                      site_source.keeper_lines[k],
                      site_source.keeper_paths[k] + (keeper.derived ? "" : ".port"));
            }
            for (size_t r = 0; r < site.regions.size(); ++r) {
                const Region& region = site.regions[r];
                const RegionSource& source = site_source.regions[r];
                for (size_t n = 0; n < region.nodes.size(); ++n) {
                    const Node& node = region.nodes[n];
                    const uint16_t ports[kPortsPerNode] = {node.http_port, node.tcp_port,
                                                           node.interserver_port};
                    for (int p = 0; p < kPortsPerNode; ++p) {
                        claim(node.host, ports[p], fmt::format("the {} of node {}", kPortNames[p], node.name),
                              source.nodes[n].port_lines[p],
                              source.nodes[n].path + (node.derived ? "" : std::string(".") + kPortNames[p]));
                    }
                }
            }
        }
    }

    Problems problems_;
    std::string file_;
    LoadOptions options_;
    Fleet fleet_;
    FleetReading reading_;
    std::vector<std::unique_ptr<SectionReader>> section_readers_;  ///< parallel to fleetSections()
    int base_port_line_ = 1;
    bool derived_ports_valid_ = true;
    std::vector<SiteSource> site_sources_;
};

std::string readTextFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw Exception(ErrorCode::IoError, "cannot read fleet file {}: {}; check the path given with -f",
                        path, std::strerror(errno));
    }
    std::ostringstream content;
    content << in.rdbuf();
    return content.str();
}

}  // namespace

FleetCheck checkFleetText(const std::string& yaml_text, const std::string& name_for_errors,
                          const LoadOptions& options) {
    FleetReader reader(name_for_errors, options);
    return reader.read(yaml_text);
}

FleetCheck checkFleet(const std::string& path, const LoadOptions& options) {
    FleetCheck check = checkFleetText(readTextFile(path), path, options);
    if (check.fleet) {
        std::string& password_file = check.fleet->credentials.password.file;
        if (!password_file.empty() && std::filesystem::path(password_file).is_relative()) {
            password_file =
                (std::filesystem::path(path).parent_path() / password_file).lexically_normal().string();
        }
    }
    return check;
}

Fleet parseFleet(const std::string& yaml_text, const std::string& name_for_errors,
                 const LoadOptions& options) {
    FleetCheck check = checkFleetText(yaml_text, name_for_errors, options);
    if (!check.valid()) {
        throw Exception(ErrorCode::InvalidConfig, check.describeProblems());
    }
    return std::move(*check.fleet);
}

Fleet loadFleet(const std::string& path, const LoadOptions& options) {
    FleetCheck check = checkFleet(path, options);
    if (!check.valid()) {
        throw Exception(ErrorCode::InvalidConfig, check.describeProblems());
    }
    return std::move(*check.fleet);
}

}  // namespace chfleet::topology
