#include "backup/Manifest.h"

#include <nlohmann/json.hpp>

#include "common/Exception.h"

namespace chfleet::backup {

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(FileEntry, name, size, sha256)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(PartEntry, name, partition_id, rows, files)
// WITH_DEFAULT: manifests written before partition_checksums existed still read (the field stays empty).
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(TableEntry, table, local, ddl, partition_rows,
                                                partition_checksums, parts)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ShardEntry, shard, node, server_version, frozen_at_ms, objects, tables)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Manifest, format, name, fleet, site, region, database, base, consistent,
                                   ledger_position, started_ms, finished_ms, size_bytes, uploaded_bytes,
                                   shards)

std::string Manifest::toJson() const {
    return nlohmann::json(*this).dump(1) + "\n";
}

Manifest Manifest::fromJson(const std::string& text, const std::string& source) {
    try {
        auto manifest = nlohmann::json::parse(text).get<Manifest>();
        if (manifest.format != kFormat) {
            throw Exception(ErrorCode::BadResponse, "{}: manifest format {} (this chfleet reads {})", source,
                            manifest.format, kFormat);
        }
        return manifest;
    } catch (const nlohmann::json::exception& error) {
        throw Exception(ErrorCode::BadResponse, "{}: not a backup manifest: {}", source, error.what());
    }
}

void checkBackupName(const std::string& name) {
    bool valid = !name.empty() && name.size() <= 100 && std::isalnum(static_cast<unsigned char>(name[0]));
    for (char c : name) {
        valid = valid && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-');
    }
    if (!valid) {
        throw Exception(
            ErrorCode::BadArguments,
            "invalid backup name '{}': use letters, digits, '_', '.' and '-', starting with a letter or "
            "digit, at most 100 characters",
            name);
    }
}

void checkPartitionId(const std::string& partition) {
    bool valid = !partition.empty() && partition.size() <= 200;
    for (char c : partition) {
        valid = valid && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-');
    }
    if (!valid) {
        throw Exception(
            ErrorCode::BadArguments,
            "invalid partition '{}': give a partition ID as system.parts shows it (e.g. 202612, all): "
            "letters, digits, '_' and '-'",
            partition);
    }
}

}  // namespace chfleet::backup
