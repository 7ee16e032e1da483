#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "topology/Fleet.h"

// Ingest's part of the fleet file: the `ingest:` section (who may write, where the company -> region mapping
// is) and the `default_region` field of a table entry. Read, checked and written here; registered with the
// fleet-file loader (topology/FleetSection.h).
namespace chfleet::ingest {

/// An account allowed to write through `chfleet ingest serve`. Only a hash of its password is kept, as
/// ClickHouse's own users.xml keeps password_sha256_hex.
struct IngestUser {
    std::string name;
    std::string password_sha256;  ///< lower-case hex SHA-256 of the password
    topology::SourceMark mark;

    bool operator==(const IngestUser& other) const {
        return name == other.name && password_sha256 == other.password_sha256;
    }
};

/// The `ingest:` section: who may write through chfleet ingest and where the company -> region mapping is.
struct IngestConfig {
    static constexpr std::string_view kExtensionKey = "ingest";
    static constexpr const char* kDefaultMappingTable = "company_region_mapping";

    /// Logical name of the mapping table (columns: the region key, `region`, `updated_at`); empty when the
    /// schema has none (ingest then routes nothing and refuses to start).
    std::string mapping_table;
    std::vector<IngestUser> users;

    const IngestUser* user(const std::string& name) const;

    bool operator==(const IngestConfig&) const = default;
};

/// The fleet's ingest section (with the mapping table derived from the schema when the file names none).
const IngestConfig& ingestConfig(const topology::Fleet& fleet);
/// The same, to change after loading (tests).
IngestConfig& mutableIngestConfig(topology::Fleet& fleet);

/// A table's `default_region`: the region that receives rows of a company with no mapping.
struct DefaultRegion {
    static constexpr std::string_view kExtensionKey = "default_region";
    std::string region;  ///< the region's name (an alias in the file is resolved)

    bool operator==(const DefaultRegion&) const = default;
};

/// The table's default region, "" when it has none (rows of unmapped companies are then refused).
const std::string& defaultRegion(const topology::Table& table);

}  // namespace chfleet::ingest
