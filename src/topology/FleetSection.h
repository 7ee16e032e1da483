#pragma once

#include <yaml-cpp/yaml.h>

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "topology/Fleet.h"
#include "topology/FleetFile.h"

// How a capability owns its part of the fleet file. The core (topology/) reads fleet, base_port, credentials
// and sites; every other top-level section (schema, ingest, ...), and every field of a table entry beyond the
// table's own definition, is read, checked and written by the capability it belongs to, which registers it
// here at start-up (a static registration in its own library: adding a section touches no other capability's
// files). The values live in the model: the schema's tables in Fleet::schema (every capability works on
// them), the others in Fleet::sections and Table::fields (ExtensionSet).
namespace chfleet::topology {

/// What a section reader works with while one fleet file is read.
class FleetReading {
  public:
    FleetReading(Fleet& fleet, Problems& problems, std::string file)
        : fleet_(fleet), problems_(problems), file_(std::move(file)) {}

    Fleet& fleet() { return fleet_; }
    Problems& problems() { return problems_; }
    /// A mapping reader for `node`; reports (and returns nullopt) when the node is not a mapping.
    std::optional<MapReader> mapping(const YAML::Node& node, const std::string& path,
                                     std::vector<std::string> known);
    SourceMark markOf(const YAML::Node& node) const { return SourceMark{file_, lineOf(node)}; }
    /// The field path of the table entry at `index` ("schema.tables[2]").
    static std::string tablePath(size_t index) { return itemPath("schema.tables", index); }

  private:
    Fleet& fleet_;
    Problems& problems_;
    std::string file_;
};

/// Reads one top-level section for one file; made anew for each file read, so it may remember where things
/// were written until its checks run.
class SectionReader {
  public:
    virtual ~SectionReader() = default;
    /// Reads the section's value (only when the file has the section) into reading.fleet().sections.
    virtual void read(const YAML::Node& node, const std::string& path, FleetReading& reading) = 0;
    /// Cross-checks and derivations once everything is read and nodes and keepers are derived; runs also
    /// when the file has no such section.
    virtual void check(FleetReading& reading) { (void)reading; }
};

/// Reads one field of every table entry for one file.
class TableFieldReader {
  public:
    virtual ~TableFieldReader() = default;
    /// Reads its field (if given) of the table entry `entry`, the table at `index`, into table.fields.
    /// `columns_read`: the table's columns were read without problems, so references to them can be checked.
    virtual void read(const MapReader& entry, size_t index, Table& table, bool columns_read,
                      FleetReading& reading) = 0;
    /// Cross-checks once everything is read and nodes and keepers are derived.
    virtual void check(FleetReading& reading) { (void)reading; }
};

/// A top-level section of the fleet file and the capability code that reads, checks and writes it.
struct FleetSection {
    std::string key;  ///< e.g. "ingest"
    int order = 0;    ///< sections are read, checked and written in this order, after the core's
    std::function<std::unique_ptr<SectionReader>()> new_reader;
    /// Writes "key: value" into the resolved fleet file (dumpFleet); nothing when the section is empty.
    std::function<void(const Fleet&, YAML::Emitter&)> dump;
    bool required = false;  ///< a fleet file without it is invalid
};

/// A field of every table entry (schema.tables[i].<key>) that a capability owns.
struct TableField {
    std::string key;  ///< e.g. "retention"
    int order = 0;
    std::function<std::unique_ptr<TableFieldReader>()> new_reader;
    /// Writes "key: value" into the table's entry; nothing when the table has no such field.
    std::function<void(const Table&, YAML::Emitter&)> dump;
    /// Optional: the field in `topology check`'s summary line of the table (", retention 90 days on t").
    std::function<std::string(const Table&)> summary;
    /// Optional: the field in `topology check --json`'s entry of the table.
    std::function<void(const Table&, nlohmann::json&)> summary_json;
};

/// Registers a section for every fleet file read from then on. Called once per section, by a capability's
/// static initializer: `const bool kRegistered = topology::registerFleetSection({...});`.
bool registerFleetSection(FleetSection section);
bool registerTableField(TableField field);
/// Every registered section (table field), in order.
const std::vector<FleetSection>& fleetSections();
const std::vector<TableField>& tableFields();

}  // namespace chfleet::topology
