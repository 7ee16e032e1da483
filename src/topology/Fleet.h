#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chfleet::topology {

/// Where something was written in the fleet file, for error messages ("fleet.yaml:12").
struct SourceMark {
    std::string file;
    int line = 0;  ///< 1-based; 0 when the item was derived rather than written

    /// Where a thing was written is provenance, not content: two fleets read from different files (or one
    /// dumped and read back) compare equal when they describe the same thing.
    friend bool operator==(const SourceMark&, const SourceMark&) { return true; }
};

/// One clickhouse-server. Shard and replica numbers are 1-based, as in the seed's tables.
struct Node {
    std::string name;  ///< unique in the fleet, e.g. clickhouse-us-0
    std::string site;
    std::string region;
    int shard = 0;
    int replica = 0;
    std::string host;
    uint16_t http_port = 0;
    uint16_t tcp_port = 0;
    uint16_t interserver_port = 0;
    bool derived = false;  ///< host and ports came from the fleet's base port, not from the file
    SourceMark mark;

    /// Equal in content: `derived` (provenance) is not compared.
    bool operator==(const Node& other) const;
};

/// One ZooKeeper (or ClickHouse Keeper) server of a site's ensemble.
struct Keeper {
    std::string host;
    uint16_t port = 0;
    bool derived = false;
    SourceMark mark;

    /// Equal in content: `derived` (provenance) is not compared.
    bool operator==(const Keeper& other) const { return host == other.host && port == other.port; }
};

/// A region of a site: one ClickHouse cluster of shards x replicas.
struct Region {
    std::string name;     ///< e.g. us-east-1; the {region} macro and the keeper path component
    std::string alias;    ///< short name used in table names, e.g. "us" in events_us_distributed
    std::string cluster;  ///< e.g. teei_us_cluster
    int shards = 0;
    int replicas = 0;
    std::vector<int> weights;  ///< one per shard; empty means all 1
    std::vector<Node> nodes;   ///< ordered by shard, then replica
    SourceMark mark;

    const Node* node(int shard, int replica) const;
    int weight(int shard) const { return weights.empty() ? 1 : weights.at(shard - 1); }

    bool operator==(const Region&) const = default;
};

/// A site (data centre, e.g. primary or dr): its keeper ensemble, its regions and its global read cluster.
struct Site {
    static constexpr int kDefaultKeeperSessionTimeoutMs = 30000;

    std::string name;
    std::string global_cluster;  ///< every shard of every region of this site, for reads
    std::vector<Keeper> keepers;
    /// The servers' keeper session timeout: how long a killed server's session (and so its replica's
    /// "already active" mark) outlives it.
    int keeper_session_timeout_ms = kDefaultKeeperSessionTimeoutMs;
    std::vector<Region> regions;
    SourceMark mark;

    const Region* region(const std::string& name) const;
    std::vector<const Node*> nodes() const;

    bool operator==(const Site&) const = default;
};

/// A secret given by reference: the name of an environment variable or the path of a file holding it.
/// Never inline in the fleet file.
struct SecretRef {
    std::string env;
    std::string file;

    bool empty() const { return env.empty() && file.empty(); }
    /// Reads the secret; throws Exception(InvalidConfig) naming the variable or file when it is missing.
    /// An empty reference resolves to the empty password.
    std::string resolve() const;
    /// "env CHFLEET_PASSWORD", "file /etc/chfleet/password" or "none": where the secret is, never its value.
    std::string describe() const;

    bool operator==(const SecretRef&) const = default;
};

/// The account chfleet and the servers use between themselves (remote_servers, remote()).
struct FleetCredentials {
    std::string user = "default";
    SecretRef password;  ///< empty: no password

    bool operator==(const FleetCredentials&) const = default;
};

/// Values that capabilities keep in the core model: a capability's fleet-file section (in Fleet::sections) or
/// its field of a table entry (in Table::fields). The core model holds them without knowing their types; the
/// owning capability stores and reads them with its own type T, which names its key as
/// `static constexpr std::string_view kExtensionKey` and compares with ==. Copies of a fleet share the
/// values; findMutable copies a shared value before it is changed.
class ExtensionSet {
  public:
    template <class T>
    const T* find() const {
        auto it = items_.find(T::kExtensionKey);
        return it == items_.end() ? nullptr : &static_cast<const Holder<T>&>(*it->second).value;
    }
    template <class T>
    T* findMutable() {
        auto it = items_.find(T::kExtensionKey);
        if (it == items_.end()) {
            return nullptr;
        }
        if (it->second.use_count() > 1) {
            it->second = it->second->clone();
        }
        return &static_cast<Holder<T>&>(*it->second).value;
    }
    template <class T>
    T& set(T value) {
        auto holder = std::make_shared<Holder<T>>(std::move(value));
        T& stored = holder->value;
        items_[std::string(T::kExtensionKey)] = std::move(holder);
        return stored;
    }
    /// The same keys with equal values.
    bool operator==(const ExtensionSet& other) const;

  private:
    struct Base {
        virtual ~Base() = default;
        virtual bool equals(const Base& other) const = 0;
        virtual std::shared_ptr<Base> clone() const = 0;
    };
    template <class T>
    struct Holder : Base {
        explicit Holder(T v) : value(std::move(v)) {}
        bool equals(const Base& other) const override {
            const auto* same = dynamic_cast<const Holder<T>*>(&other);
            return same != nullptr && same->value == value;
        }
        std::shared_ptr<Base> clone() const override { return std::make_shared<Holder<T>>(value); }
        T value;
    };
    std::map<std::string, std::shared_ptr<Base>, std::less<>> items_;
};

struct Column {
    std::string name;
    std::string type;  ///< as ClickHouse prints it in system.columns, e.g. DateTime, Nullable(String)
    std::string default_expression;  ///< optional DEFAULT expression

    bool operator==(const Column&) const = default;
};

enum class TableKind { Table, MaterializedView };

/// A logical table of the schema. chfleet creates, on every node, `<name>_local` (Replicated*MergeTree,
/// or the materialized view), per region `<name>_<alias>_distributed` sharded by `sharding_key`, and per site
/// `<name>_distributed` over the global cluster with no sharding key (reads only).
struct Table {
    std::string name;
    TableKind kind = TableKind::Table;
    std::vector<Column> columns;
    std::string engine =
        "MergeTree";  ///< MergeTree family name without "Replicated", with its arguments if any
    std::string partition_by;
    std::string order_by;
    std::string region_key;    ///< column naming the company whose region owns the row, e.g. company_id
    std::string sharding_key;  ///< expression; default cityHash64(<region_key>)
    // Materialized views only:
    std::string from;    ///< the source table (a logical name of this schema)
    std::string select;  ///< SELECT text; "{from}" stands for the source's local table
    /// The fields of this table entry that other capabilities own (retention, default_region, ...).
    ExtensionSet fields;
    SourceMark mark;

    const Column* column(const std::string& name) const;
    std::string localName() const { return name + "_local"; }
    std::string regionalName(const Region& region) const {
        return name + "_" + region.alias + "_distributed";
    }
    std::string globalName() const { return name + "_distributed"; }

    bool operator==(const Table&) const = default;
};

struct Schema {
    std::string database;
    std::vector<Table> tables;

    const Table* table(const std::string& name) const;

    bool operator==(const Schema&) const = default;
};

/// The whole fleet as the fleet file describes it, with derived nodes and keepers filled in.
struct Fleet {
    std::string name;
    std::string source_path;  ///< the file it was loaded from
    FleetCredentials credentials;
    uint16_t base_port = 0;  ///< first port of derived nodes and keepers (0: none derived)
    std::vector<Site> sites;
    Schema schema;
    /// The fleet-file sections that capabilities own (ingest, ...): see topology/FleetSection.h.
    ExtensionSet sections;

    const Site* site(const std::string& name) const;
    const Node* node(const std::string& name) const;
    std::vector<const Node*> nodes() const;
    /// Every port the fleet uses (keepers and nodes), for checks and for picking free ranges.
    std::vector<uint16_t> ports() const;

    /// Equal in content: the same sites, keepers, nodes, credentials and schema. Where it was read from
    /// (source_path, marks) and how nodes were placed (base_port, derived) are not compared, so that
    /// parseFleet(dumpFleet(f)) == f.
    bool operator==(const Fleet& other) const;
};

struct LoadOptions {
    /// Overrides the file's base_port for derived nodes and keepers (sandbox up --base-port).
    std::optional<uint16_t> base_port;
};

/// One problem found in a fleet file.
struct FleetProblem {
    std::string file;
    int line = 0;      ///< 1-based
    std::string path;  ///< the field, e.g. sites[0].regions[1].shards; empty for YAML syntax errors
    std::string message;

    /// "<file>:<line>: <path>: <message>" (or "<file>:<line>: <message>" without a path).
    std::string text() const;
};

/// The outcome of reading a fleet file: the fleet when it is valid, otherwise every problem found.
struct FleetCheck {
    std::optional<Fleet> fleet;
    std::vector<FleetProblem> problems;

    bool valid() const { return problems.empty(); }
    /// The problems' texts joined by '\n'.
    std::string describeProblems() const;
};

/// Reads and validates a fleet file, returning the problems rather than throwing (topology check).
/// Throws Exception(IoError) only when the file cannot be read.
FleetCheck checkFleet(const std::string& path, const LoadOptions& options = {});
/// The same from YAML text; `name_for_errors` stands for the file name in messages.
FleetCheck checkFleetText(const std::string& yaml_text, const std::string& name_for_errors,
                          const LoadOptions& options = {});

/// Reads and validates a fleet file. Every problem found is reported, one line each, as
/// "<file>:<line>: <field path>: <what is wrong>", in one Exception(InvalidConfig).
/// A relative password_file is taken relative to the fleet file's directory.
Fleet loadFleet(const std::string& path, const LoadOptions& options = {});
/// The same from YAML text; `name_for_errors` stands for the file name in messages.
Fleet parseFleet(const std::string& yaml_text, const std::string& name_for_errors,
                 const LoadOptions& options = {});

/// The fleet as YAML with every node and keeper written out explicitly (the sandbox's resolved fleet file).
/// Secrets stay references.
std::string dumpFleet(const Fleet& fleet);

}  // namespace chfleet::topology
