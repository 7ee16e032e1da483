#pragma once

#include <yaml-cpp/yaml.h>

#include <memory>
#include <string>
#include <vector>

#include "topology/Fleet.h"
#include "topology/FleetSection.h"

namespace chfleet::topology {

/// Reads the core `schema:` section of a fleet file: the database and its tables (columns, engine, keys,
/// materialized views), every SQL fragment checked before it can reach a server (topology/SqlFragment.h).
/// The fields of a table entry that capabilities own (TableField) are read by their registered readers.
class SchemaReader {
  public:
    explicit SchemaReader(FleetReading& reading);
    ~SchemaReader();

    /// Reads `schema:` (at `path`) into reading.fleet().schema.
    void read(const YAML::Node& node, const std::string& path);
    /// Once the sites are read and nodes derived: no two tables create the same object in any region, and
    /// the table fields' own cross-checks.
    void check();

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

    FleetReading& reading_;
    std::vector<std::unique_ptr<TableFieldReader>> field_readers_;  ///< parallel to tableFields()
    std::vector<TableSource> table_sources_;                        ///< parallel to the schema's tables
};

/// Writes `schema:` into the resolved fleet file (dumpFleet), table fields included.
void dumpSchema(const Fleet& fleet, YAML::Emitter& out);

}  // namespace chfleet::topology
