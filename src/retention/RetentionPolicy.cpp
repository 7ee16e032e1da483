#include "retention/RetentionPolicy.h"

#include <algorithm>
#include <set>

#include "topology/FleetSection.h"

namespace chfleet::retention {

using topology::FleetReading;
using topology::MapReader;
using topology::Table;

namespace {

/// Reads a table entry's `retention`; its check makes sure every region it names exists.
class RetentionReader : public topology::TableFieldReader {
  public:
    void read(const MapReader& entry, size_t, Table& table, bool columns_read,
              FleetReading& reading) override {
        const YAML::Node* node = entry.get("retention", false);
        if (node == nullptr) {
            return;
        }
        auto map = reading.mapping(*node, entry.path("retention"), {"column", "days", "regions"});
        if (!map) {
            return;
        }
        Retention retention;
        auto column = map->string("column", true);
        auto days = map->integer("days", true, 1, 100000);
        if (column && columns_read) {
            auto partition_columns = topology::columnReferences(table.partition_by);
            if (table.column(*column) == nullptr) {
                map->unknownColumn("column", table, *column);
            } else if (std::find(partition_columns.begin(), partition_columns.end(), *column) ==
                       partition_columns.end()) {
                // Retention drops whole partitions (18.16 has no TTL): a partition must expire all at once.
                reading.problems().add(
                    map->lineAt("column"), map->path("column"),
                    fmt::format("partition_by ({}) does not use '{}': expired rows are dropped by whole "
                                "partitions, so partition by the retention column, e.g. toYYYYMM({})",
                                table.partition_by.empty() ? "none" : table.partition_by, *column, *column));
            }
        }
        retention.column = column.value_or("");
        retention.days = static_cast<int>(days.value_or(0));
        if (const YAML::Node* regions = map->get("regions", false)) {
            if (!regions->IsMap()) {
                reading.problems().add(topology::lineOf(*regions), map->path("regions"),
                                       "expected a mapping of region name to days");
            } else {
                for (auto it = regions->begin(); it != regions->end(); ++it) {
                    std::string region = it->first.IsScalar() ? it->first.Scalar() : "";
                    std::string region_path = map->path("regions") + "." + region;
                    auto region_days = map->readInteger(it->second, region_path, 1, 100000);
                    if (retention.region_days.count(region) > 0) {
                        reading.problems().add(topology::lineOf(it->first), region_path,
                                               "region given twice");
                    } else if (region_days) {
                        retention.region_days[region] = static_cast<int>(*region_days);
                        regions_named_.push_back({region, topology::lineOf(it->first), region_path});
                    }
                }
            }
        }
        table.fields.set(std::move(retention));
    }

    void check(FleetReading& reading) override {
        std::set<std::string> region_names;
        for (const auto& site : reading.fleet().sites) {
            for (const auto& region : site.regions) {
                region_names.insert(region.name);
            }
        }
        for (const auto& named : regions_named_) {
            if (region_names.count(named.region) == 0) {
                std::vector<std::string> known(region_names.begin(), region_names.end());
                reading.problems().add(named.line, named.path,
                                       fmt::format("unknown region '{}' (regions: {})", named.region,
                                                   topology::joinNames(known)));
            }
        }
    }

  private:
    struct RegionNamed {
        std::string region;
        int line;
        std::string path;
    };
    std::vector<RegionNamed> regions_named_;
};

[[maybe_unused]] const bool kFieldRegistered = topology::registerTableField(
    {"retention", 100, [] { return std::make_unique<RetentionReader>(); },
     [](const Table& table, YAML::Emitter& out) {
         const Retention* retention = policyOf(table);
         if (retention == nullptr) {
             return;
         }
         out << YAML::Key << "retention" << YAML::Value << YAML::BeginMap;
         out << YAML::Key << "column" << YAML::Value << retention->column;
         out << YAML::Key << "days" << YAML::Value << retention->days;
         if (!retention->region_days.empty()) {
             out << YAML::Key << "regions" << YAML::Value << YAML::BeginMap;
             for (const auto& [region, days] : retention->region_days) {
                 out << YAML::Key << region << YAML::Value << days;
             }
             out << YAML::EndMap;
         }
         out << YAML::EndMap;
     },
     [](const Table& table) {
         const Retention* retention = policyOf(table);
         if (retention == nullptr) {
             return std::string();
         }
         std::string text = fmt::format(", retention {} days on {}", retention->days, retention->column);
         for (const auto& [region, days] : retention->region_days) {
             text += fmt::format(" ({}: {} days)", region, days);
         }
         return text;
     },
     [](const Table& table, nlohmann::json& entry) {
         if (const Retention* retention = policyOf(table)) {
             entry["retention"] = {{"column", retention->column},
                                   {"days", retention->days},
                                   {"regions", retention->region_days}};
         }
     }});

}  // namespace

const Retention* policyOf(const Table& table) {
    return table.fields.find<Retention>();
}

}  // namespace chfleet::retention
