#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "topology/Fleet.h"
#include "topology/FleetFile.h"
#include "topology/FleetSection.h"
#include "topology/SqlFragment.h"

// The schema's part of the fleet file: `schema:` (the database and its tables), read, checked and written
// here and registered with the fleet-file loader (topology/FleetSection.h). The tables themselves are core
// model (Fleet::schema): every capability works on them.
namespace chfleet::schema {

using topology::closest;
using topology::Column;
using topology::columnReferences;
using topology::emitScalar;
using topology::Fleet;
using topology::FleetReading;
using topology::isSqlIdentifier;
using topology::itemPath;
using topology::joinNames;
using topology::kSqlIdentifierRule;
using topology::lineOf;
using topology::MapReader;
using topology::SectionReader;
using topology::sqlFragmentProblem;
using topology::Table;
using topology::TableFieldReader;
using topology::tableFields;
using topology::TableKind;
using topology::textAfterArguments;

namespace {

bool isMergeTreeFamily(std::string_view engine_name) {
    static const std::set<std::string, std::less<>> family = {
        "MergeTree",           "ReplacingMergeTree",           "SummingMergeTree", "AggregatingMergeTree",
        "CollapsingMergeTree", "VersionedCollapsingMergeTree", "GraphiteMergeTree"};
    return family.count(engine_name) > 0;
}

/// Reads the `schema:` section of a fleet file: the database and its tables (columns, engine, keys,
/// materialized views), every SQL fragment checked before it can reach a server (topology/SqlFragment.h).
/// The fields of a table entry that capabilities own (TableField) are read by their registered readers.
class SchemaReader : public SectionReader {
  public:
    SchemaReader();

    /// Reads `schema:` (at `path`) into reading.fleet().schema.
    void read(const YAML::Node& node, const std::string& path, FleetReading& reading) override;
    /// Once the sites are read and nodes derived: no two tables create the same object in any region, and
    /// the table fields' own cross-checks.
    void check(FleetReading& reading) override;

  private:
    /// Where a table entry and its view fields were written.
    struct TableSource {
        std::string path;
        int from_line = 0;
        std::string from_path;
    };

    void readTable(const YAML::Node& node, const std::string& path);
    bool soundSql(const MapReader& map, const std::string& key, const std::string& value,
                  bool single_item = false);
    bool readColumns(const MapReader& map, Table& table);
    void readViewFields(const MapReader& map, Table& table, TableSource& source);
    void checkTableReferences();
    void checkTableNames();

    FleetReading* reading_ = nullptr;  ///< the file being read (set by read and check)
    std::vector<std::unique_ptr<TableFieldReader>> field_readers_;  ///< parallel to tableFields()
    std::vector<TableSource> table_sources_;                        ///< parallel to the schema's tables
};

}  // namespace

SchemaReader::SchemaReader() {
    for (const auto& field : tableFields()) {
        field_readers_.push_back(field.new_reader());
    }
}

void SchemaReader::check(FleetReading& reading) {
    reading_ = &reading;
    checkTableNames();
    for (auto& reader : field_readers_) {
        reader->check(*reading_);
    }
}

void SchemaReader::read(const YAML::Node& node, const std::string& path, FleetReading& reading) {
    reading_ = &reading;
    auto map = reading_->mapping(node, path, {"database", "tables"});
    if (!map) {
        return;
    }
    reading_->fleet().schema.database =
        map->name("database", true, isSqlIdentifier, kSqlIdentifierRule).value_or("");
    if (const YAML::Node* tables = map->sequence("tables", false, true)) {
        for (size_t i = 0; i < tables->size(); ++i) {
            readTable((*tables)[i], itemPath(map->path("tables"), i));
        }
    }
    checkTableReferences();
}

void SchemaReader::readTable(const YAML::Node& node, const std::string& path) {
    std::vector<std::string> keys = {"name",         "kind",     "columns",    "engine",
                                     "partition_by", "order_by", "region_key", "sharding_key"};
    for (const auto& field : tableFields()) {
        keys.push_back(field.key);
    }
    keys.insert(keys.end(), {"from", "select"});
    auto map = reading_->mapping(node, path, std::move(keys));
    Table table;
    TableSource source;
    source.path = path;
    table.mark = reading_->markOf(node);
    if (!map) {
        reading_->fleet().schema.tables.push_back(std::move(table));
        table_sources_.push_back(std::move(source));
        return;
    }
    table.name = map->name("name", true, isSqlIdentifier, kSqlIdentifierRule).value_or("");
    if (auto kind = map->string("kind", false)) {
        if (*kind == "materialized_view") {
            table.kind = TableKind::MaterializedView;
        } else if (*kind != "table") {
            reading_->problems().add(map->lineAt("kind"), map->path("kind"),
                                     fmt::format("unknown kind '{}' (table or materialized_view)", *kind));
        }
    }
    bool columns_read = readColumns(*map, table);
    if (auto engine = map->string("engine", false); engine && soundSql(*map, "engine", *engine)) {
        table.engine = *engine;
        std::string engine_name = engine->substr(0, engine->find('('));
        while (!engine_name.empty() && std::isspace(static_cast<unsigned char>(engine_name.back()))) {
            engine_name.pop_back();
        }
        if (engine_name.rfind("Replicated", 0) == 0 && isMergeTreeFamily(engine_name.substr(10))) {
            reading_->problems().add(
                map->lineAt("engine"), map->path("engine"),
                fmt::format("write '{}' without 'Replicated': chfleet makes every local table "
                            "replicated and chooses its keeper path",
                            engine_name));
        } else if (!isMergeTreeFamily(engine_name)) {
            reading_->problems().add(
                map->lineAt("engine"), map->path("engine"),
                fmt::format("'{}' is not a MergeTree family engine (MergeTree, ReplacingMergeTree, "
                            "SummingMergeTree, AggregatingMergeTree, CollapsingMergeTree, "
                            "VersionedCollapsingMergeTree, GraphiteMergeTree)",
                            engine_name));
        } else if (std::string rest = textAfterArguments(*engine); !rest.empty()) {
            reading_->problems().add(
                map->lineAt("engine"), map->path("engine"),
                fmt::format("text after the engine's arguments ('{}'); write the engine as Name "
                            "or Name(arguments): chfleet writes PARTITION BY and ORDER BY from "
                            "their own fields",
                            rest));
        } else if (columns_read && engine->find('(') != std::string::npos) {
            map->checkColumnReferences("engine", table, engine->substr(engine->find('(')));
        }
    } else if (engine) {
        table.engine = *engine;
    }
    // A fragment that is not sound is reported once: its columns are not looked for.
    table.partition_by = map->string("partition_by", false).value_or("");
    bool partition_sound = table.partition_by.empty() || soundSql(*map, "partition_by", table.partition_by);
    table.order_by = map->string("order_by", true).value_or("");
    bool order_sound = table.order_by.empty() || soundSql(*map, "order_by", table.order_by);
    // A materialized view may hold rows of no company (aggregates over all of them): no region_key then.
    if (auto region_key = map->string("region_key", table.kind == TableKind::Table)) {
        table.region_key = *region_key;
        if (columns_read && table.column(*region_key) == nullptr) {
            map->unknownColumn("region_key", table, *region_key);
        }
    }
    bool sharding_sound = true;
    if (auto sharding_key = map->string("sharding_key", false)) {
        table.sharding_key = *sharding_key;
        sharding_sound = soundSql(*map, "sharding_key", *sharding_key, true);
    } else if (!table.region_key.empty()) {
        table.sharding_key = "cityHash64(" + table.region_key + ")";
    }
    if (columns_read) {
        if (partition_sound) {
            map->checkColumnReferences("partition_by", table, table.partition_by);
        }
        if (order_sound) {
            map->checkColumnReferences("order_by", table, table.order_by);
        }
        if (map->has("sharding_key") && sharding_sound) {
            map->checkColumnReferences("sharding_key", table, table.sharding_key);
        }
    }
    for (auto& reader : field_readers_) {
        reader->read(*map, reading_->fleet().schema.tables.size(), table, columns_read, *reading_);
    }
    readViewFields(*map, table, source);
    reading_->fleet().schema.tables.push_back(std::move(table));
    table_sources_.push_back(std::move(source));
}

/// Reports `value` (of `key`) when it is not a sound SQL fragment (topology/SqlFragment.h); true when it
/// is.
bool SchemaReader::soundSql(const MapReader& map, const std::string& key, const std::string& value,
                            bool single_item) {
    if (auto problem = sqlFragmentProblem(value, single_item)) {
        reading_->problems().add(map.lineAt(key), map.path(key), *problem);
        return false;
    }
    return true;
}

bool SchemaReader::readColumns(const MapReader& map, Table& table) {
    const YAML::Node* columns = map.sequence("columns", true, false);
    if (columns == nullptr) {
        return false;
    }
    bool all_read = true;
    std::map<std::string, int> seen;
    for (size_t i = 0; i < columns->size(); ++i) {
        const YAML::Node& item = (*columns)[i];
        std::string path = itemPath(map.path("columns"), i);
        auto column_map = reading_->mapping(item, path, {"name", "type", "default"});
        if (!column_map) {
            all_read = false;
            continue;
        }
        Column column;
        auto name = column_map->name("name", true, isSqlIdentifier, kSqlIdentifierRule);
        auto type = column_map->string("type", true);
        column.default_expression = column_map->string("default", false).value_or("");
        if (type) {
            soundSql(*column_map, "type", *type, true);
        }
        if (!column.default_expression.empty()) {
            soundSql(*column_map, "default", column.default_expression, true);
        }
        if (!name || !type) {
            all_read = false;
            continue;
        }
        column.name = *name;
        column.type = *type;
        auto [it, inserted] = seen.emplace(column.name, lineOf(item));
        if (!inserted) {
            reading_->problems().add(
                column_map->lineAt("name"), column_map->path("name"),
                fmt::format("duplicate column '{}' (first at line {})", column.name, it->second));
            continue;
        }
        table.columns.push_back(std::move(column));
    }
    return all_read;
}

void SchemaReader::readViewFields(const MapReader& map, Table& table, TableSource& source) {
    if (table.kind == TableKind::Table) {
        for (const char* field : {"from", "select"}) {
            if (map.has(field)) {
                reading_->problems().add(
                    map.lineAt(field), map.path(field),
                    "only a materialized view has this field (add 'kind: materialized_view')");
            }
        }
        return;
    }
    table.from = map.string("from", true).value_or("");
    source.from_line = map.lineAt("from");
    source.from_path = map.path("from");
    if (auto select = map.string("select", true)) {
        table.select = *select;
        soundSql(map, "select", *select);
        if (select->find("{from}") == std::string::npos) {
            reading_->problems().add(
                map.lineAt("select"), map.path("select"),
                "the SELECT must read from '{from}' (it stands for the source's local table on each "
                "node)");
        }
    }
}

void SchemaReader::checkTableReferences() {
    std::map<std::string, int> seen;
    auto& tables = reading_->fleet().schema.tables;
    for (size_t i = 0; i < tables.size(); ++i) {
        const Table& table = tables[i];
        if (!table.name.empty()) {
            auto [it, inserted] = seen.emplace(table.name, table.mark.line);
            if (!inserted) {
                reading_->problems().add(
                    table.mark.line, table_sources_[i].path + ".name",
                    fmt::format("duplicate table '{}' (first at line {})", table.name, it->second));
            }
        }
        if (table.kind == TableKind::MaterializedView && !table.from.empty()) {
            const Table* from = reading_->fleet().schema.table(table.from);
            if (from == nullptr) {
                std::vector<std::string> names;
                for (const auto& other : tables) {
                    if (other.kind == TableKind::Table && !other.name.empty()) {
                        names.push_back(other.name);
                    }
                }
                std::string suggestion = closest(table.from, names);
                reading_->problems().add(
                    table_sources_[i].from_line, table_sources_[i].from_path,
                    suggestion.empty()
                        ? fmt::format("unknown table '{}' (tables: {})", table.from, joinNames(names))
                        : fmt::format("unknown table '{}'; did you mean '{}'?", table.from, suggestion));
            } else if (from->kind != TableKind::Table) {
                reading_->problems().add(
                    table_sources_[i].from_line, table_sources_[i].from_path,
                    fmt::format("'{}' is a materialized view; a materialized view reads from a table",
                                table.from));
            }
        }
    }
}

/// Each logical table becomes <name>_local, <name>_distributed and <name>_<alias>_distributed per region:
/// no two of those may coincide.
void SchemaReader::checkTableNames() {
    std::set<std::string> aliases;
    for (const auto& site : reading_->fleet().sites) {
        for (const auto& region : site.regions) {
            if (!region.alias.empty()) {
                aliases.insert(region.alias);
            }
        }
    }
    std::map<std::string, std::string> objects;
    const auto& tables = reading_->fleet().schema.tables;
    for (size_t i = 0; i < tables.size(); ++i) {
        const Table& table = tables[i];
        if (table.name.empty() || reading_->fleet().schema.table(table.name) != &table) {
            continue;
        }
        std::vector<std::string> names = {table.localName(), table.globalName()};
        for (const auto& alias : aliases) {
            names.push_back(table.name + "_" + alias + "_distributed");
        }
        for (const auto& object : names) {
            auto [it, inserted] = objects.emplace(object, table.name);
            if (!inserted) {
                reading_->problems().add(
                    table.mark.line, table_sources_[i].path + ".name",
                    fmt::format("table '{}' would create '{}', which table '{}' creates too; rename "
                                "one of them",
                                table.name, object, it->second));
                break;
            }
        }
    }
}

/// Writes `schema:` into the resolved fleet file (dumpFleet), table fields included.
void dumpSchema(const Fleet& fleet, YAML::Emitter& out) {
    out << YAML::Key << "schema" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "database" << YAML::Value << fleet.schema.database;
    out << YAML::Key << "tables" << YAML::Value << YAML::BeginSeq;
    for (const auto& table : fleet.schema.tables) {
        out << YAML::BeginMap;
        out << YAML::Key << "name" << YAML::Value << table.name;
        if (table.kind == TableKind::MaterializedView) {
            out << YAML::Key << "kind" << YAML::Value << "materialized_view";
            out << YAML::Key << "from" << YAML::Value << table.from;
        }
        out << YAML::Key << "columns" << YAML::Value << YAML::BeginSeq;
        for (const auto& column : table.columns) {
            out << YAML::Flow << YAML::BeginMap;
            out << YAML::Key << "name" << YAML::Value << column.name;
            out << YAML::Key << "type" << YAML::Value << column.type;
            if (!column.default_expression.empty()) {
                out << YAML::Key << "default" << YAML::Value << column.default_expression;
            }
            out << YAML::EndMap;
        }
        out << YAML::EndSeq;
        out << YAML::Key << "engine" << YAML::Value << table.engine;
        if (!table.partition_by.empty()) {
            out << YAML::Key << "partition_by" << YAML::Value << table.partition_by;
        }
        out << YAML::Key << "order_by" << YAML::Value << table.order_by;
        out << YAML::Key << "region_key" << YAML::Value << table.region_key;
        out << YAML::Key << "sharding_key" << YAML::Value << table.sharding_key;
        for (const auto& field : tableFields()) {
            field.dump(table, out);
        }
        if (table.kind == TableKind::MaterializedView) {
            out << YAML::Key << "select" << YAML::Value;
            emitScalar(out, table.select);
        }
        out << YAML::EndMap;
    }
    out << YAML::EndSeq;
    out << YAML::EndMap;
}

[[maybe_unused]] const bool kSectionRegistered = topology::registerFleetSection(
    {"schema", 0, [] { return std::make_unique<SchemaReader>(); }, dumpSchema, true});

}  // namespace chfleet::schema
