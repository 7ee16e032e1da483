#include "ingest/IngestSection.h"

#include <algorithm>
#include <map>

#include "topology/FleetSection.h"

namespace chfleet::ingest {

using topology::FleetReading;
using topology::MapReader;
using topology::Table;
using topology::TableKind;

namespace {

bool isSha256Hex(std::string_view s) {
    return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

/// Names of the schema's tables (not views), for "did you mean".
std::vector<std::string> tableNames(const topology::Fleet& fleet) {
    std::vector<std::string> names;
    for (const auto& table : fleet.schema.tables) {
        if (table.kind == TableKind::Table && !table.name.empty()) {
            names.push_back(table.name);
        }
    }
    return names;
}

const topology::Region* findRegion(const topology::Site& site, const std::string& name_or_alias) {
    if (const auto* region = site.region(name_or_alias)) {
        return region;
    }
    for (const auto& region : site.regions) {
        if (region.alias == name_or_alias) {
            return &region;
        }
    }
    return nullptr;
}

/// Reads `ingest:`; its check settles the mapping table (given, or company_region_mapping when the schema
/// has it): a table with the columns ingest and residency read and write.
class IngestSectionReader : public topology::SectionReader {
  public:
    void read(const YAML::Node& node, const std::string& path, FleetReading& reading) override {
        auto map = reading.mapping(node, path, {"mapping_table", "users"});
        if (!map) {
            return;
        }
        if (map->has("mapping_table")) {
            mapping_table_given_ = true;
            mapping_table_line_ = map->lineAt("mapping_table");
            config_.mapping_table =
                map->name("mapping_table", true, topology::isSqlIdentifier, topology::kSqlIdentifierRule)
                    .value_or("");
        }
        if (const YAML::Node* users = map->sequence("users", false, true)) {
            std::map<std::string, int> seen;
            for (size_t i = 0; i < users->size(); ++i) {
                readUser((*users)[i], topology::itemPath(map->path("users"), i), seen, reading);
            }
        }
    }

    void check(FleetReading& reading) override {
        const auto& fleet = reading.fleet();
        if (mapping_table_given_) {
            if (!config_.mapping_table.empty()) {
                const Table* table = fleet.schema.table(config_.mapping_table);
                if (table == nullptr) {
                    auto names = tableNames(fleet);
                    std::string suggestion = topology::closest(config_.mapping_table, names);
                    reading.problems().add(
                        mapping_table_line_, "ingest.mapping_table",
                        suggestion.empty() ? fmt::format("unknown table '{}' (tables: {})",
                                                         config_.mapping_table, topology::joinNames(names))
                                           : fmt::format("unknown table '{}'; did you mean '{}'?",
                                                         config_.mapping_table, suggestion));
                } else {
                    checkMappingTable(*table, mapping_table_line_, "ingest.mapping_table", "", reading);
                }
            }
        } else if (const Table* table = fleet.schema.table(IngestConfig::kDefaultMappingTable)) {
            config_.mapping_table = table->name;
            size_t index = static_cast<size_t>(table - fleet.schema.tables.data());
            checkMappingTable(*table, table->mark.line, FleetReading::tablePath(index) + ".name",
                              " (ingest takes it as its mapping table because of its name; fix it, rename "
                              "it, or name another table in ingest.mapping_table)",
                              reading);
        }
        reading.fleet().sections.set(std::move(config_));
    }

  private:
    void readUser(const YAML::Node& node, const std::string& path, std::map<std::string, int>& seen,
                  FleetReading& reading) {
        auto map = reading.mapping(node, path, {"name", "password_sha256", "password"});
        if (!map) {
            return;
        }
        IngestUser user;
        user.mark = reading.markOf(node);
        if (map->has("password")) {
            reading.problems().add(
                map->lineAt("password"), map->path("password"),
                "an inline password is not allowed: fleet files are shared and committed; give "
                "password_sha256, the SHA-256 of the password in hex (printf %s 'secret' | sha256sum)");
        }
        auto name = map->name("name", true, topology::isUserName, topology::kUserNameRule);
        auto hash = map->string("password_sha256", true);
        if (hash && !isSha256Hex(*hash)) {
            reading.problems().add(
                map->lineAt("password_sha256"), map->path("password_sha256"),
                fmt::format("expected 64 lower-case hex digits (the SHA-256 of the password, "
                            "as printed by: printf %s 'secret' | sha256sum), got {} characters",
                            hash->size()));
            hash.reset();
        }
        if (name) {
            auto [it, inserted] = seen.emplace(*name, map->lineAt("name"));
            if (!inserted) {
                reading.problems().add(
                    map->lineAt("name"), map->path("name"),
                    fmt::format("duplicate ingest user '{}' (first at line {})", *name, it->second));
                return;
            }
        }
        user.name = name.value_or("");
        user.password_sha256 = hash.value_or("");
        config_.users.push_back(std::move(user));
    }

    static void checkMappingTable(const Table& table, int line, const std::string& path,
                                  const std::string& why, FleetReading& reading) {
        if (table.kind != TableKind::Table) {
            reading.problems().add(line, path,
                                   fmt::format("'{}' is a materialized view; the mapping table must be a "
                                               "table, which chfleet residency writes to{}",
                                               table.name, why));
            return;
        }
        const std::pair<const char*, const char*> needed[] = {{"region", "String"},
                                                              {"updated_at", "DateTime"}};
        for (const auto& [column_name, type] : needed) {
            const topology::Column* column = table.column(column_name);
            if (column == nullptr || column->type != type) {
                reading.problems().add(
                    line, path,
                    fmt::format("the mapping table '{}' needs a column '{}' of type {}{}{}", table.name,
                                column_name, type,
                                column == nullptr ? std::string() : fmt::format(" (it is {})", column->type),
                                why));
            }
        }
    }

    IngestConfig config_;
    bool mapping_table_given_ = false;
    int mapping_table_line_ = 0;
};

/// Reads a table entry's `default_region`; its check resolves an alias to the region's name once every site
/// is read (every site has the first site's regions: the topology checks report it otherwise).
class DefaultRegionReader : public topology::TableFieldReader {
  public:
    void read(const MapReader& entry, size_t index, Table& table, bool, FleetReading& reading) override {
        auto value = entry.name("default_region", false, topology::isRegionName, topology::kRegionNameRule);
        if (!value) {
            return;
        }
        if (table.kind == TableKind::MaterializedView) {
            reading.problems().add(entry.lineAt("default_region"), entry.path("default_region"),
                                   "only a table has this field: ingest writes to tables, and a materialized "
                                   "view's rows follow its source's");
            return;
        }
        table.fields.set(DefaultRegion{*value});
        given_.push_back({index, entry.lineAt("default_region"), entry.path("default_region")});
    }

    void check(FleetReading& reading) override {
        auto& fleet = reading.fleet();
        for (const auto& given : given_) {
            auto& field = *fleet.schema.tables[given.index].fields.findMutable<DefaultRegion>();
            if (fleet.sites.empty()) {
                continue;
            }
            const auto* region = findRegion(fleet.sites.front(), field.region);
            if (region == nullptr) {
                std::vector<std::string> known;
                for (const auto& candidate : fleet.sites.front().regions) {
                    known.push_back(candidate.name == candidate.alias
                                        ? candidate.name
                                        : fmt::format("{} (alias {})", candidate.name, candidate.alias));
                }
                reading.problems().add(given.line, given.path,
                                       fmt::format("unknown region '{}' (regions: {})", field.region,
                                                   topology::joinNames(known)));
                field.region.clear();
                continue;
            }
            field.region = region->name;
        }
    }

  private:
    struct Given {
        size_t index;
        int line;
        std::string path;
    };
    std::vector<Given> given_;
};

[[maybe_unused]] const bool kSectionRegistered = topology::registerFleetSection(
    {"ingest", 100, [] { return std::make_unique<IngestSectionReader>(); },
     [](const topology::Fleet& fleet, YAML::Emitter& out) {
         const auto& ingest = ingestConfig(fleet);
         if (ingest.mapping_table.empty() && ingest.users.empty()) {
             return;
         }
         out << YAML::Key << "ingest" << YAML::Value << YAML::BeginMap;
         if (!ingest.mapping_table.empty()) {
             out << YAML::Key << "mapping_table" << YAML::Value << ingest.mapping_table;
         }
         if (!ingest.users.empty()) {
             out << YAML::Key << "users" << YAML::Value << YAML::BeginSeq;
             for (const auto& user : ingest.users) {
                 out << YAML::Flow << YAML::BeginMap;
                 out << YAML::Key << "name" << YAML::Value << user.name;
                 out << YAML::Key << "password_sha256" << YAML::Value << user.password_sha256;
                 out << YAML::EndMap;
             }
             out << YAML::EndSeq;
         }
         out << YAML::EndMap;
     }});

[[maybe_unused]] const bool kFieldRegistered =
    topology::registerTableField({"default_region",
                                  200,
                                  [] { return std::make_unique<DefaultRegionReader>(); },
                                  [](const Table& table, YAML::Emitter& out) {
                                      if (!defaultRegion(table).empty()) {
                                          out << YAML::Key << "default_region" << YAML::Value
                                              << defaultRegion(table);
                                      }
                                  },
                                  {},
                                  {}});

}  // namespace

const IngestUser* IngestConfig::user(const std::string& user_name) const {
    for (const auto& candidate : users) {
        if (candidate.name == user_name) {
            return &candidate;
        }
    }
    return nullptr;
}

const IngestConfig& ingestConfig(const topology::Fleet& fleet) {
    static const IngestConfig kNone;
    const auto* config = fleet.sections.find<IngestConfig>();
    return config != nullptr ? *config : kNone;
}

IngestConfig& mutableIngestConfig(topology::Fleet& fleet) {
    if (auto* config = fleet.sections.findMutable<IngestConfig>()) {
        return *config;
    }
    return fleet.sections.set(IngestConfig{});
}

const std::string& defaultRegion(const Table& table) {
    static const std::string kNone;
    const auto* field = table.fields.find<DefaultRegion>();
    return field != nullptr ? field->region : kNone;
}

}  // namespace chfleet::ingest
