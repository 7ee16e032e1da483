#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

// What a backup holds, per region: one manifest.json per region's repository, written after every file it
// names is stored. It alone makes the region's backup complete (see backup/Repository.h for the layout).
namespace chfleet::backup {

/// One file of a part: stored as the blob named by its SHA-256.
struct FileEntry {
    std::string name;
    uint64_t size = 0;
    std::string sha256;
};

/// One frozen data part.
struct PartEntry {
    std::string name;
    std::string partition_id;
    uint64_t rows = 0;
    std::vector<FileEntry> files;
};

/// One table of one shard: its DDL, rows per partition and its parts.
struct TableEntry {
    std::string table;  ///< logical name in the fleet file, e.g. events
    std::string local;  ///< the table that holds the rows on the node, e.g. events_local
    std::string ddl;
    std::map<std::string, uint64_t> partition_rows;
    /// Per partition: the sum (mod 2^64) of every frozen row's hash (sync::readColumns: cityHash64 of every
    /// column, UUIDs as text), read on the frozen replica while its merges were stopped. Empty in backups
    /// made before chfleet recorded it; `verify --restore-test` then compares row counts only.
    std::map<std::string, uint64_t> partition_checksums;
    std::vector<PartEntry> parts;
};

/// One shard: the replica it was taken from and its tables.
struct ShardEntry {
    int shard = 0;
    std::string node;
    std::string server_version;
    int64_t frozen_at_ms = 0;
    std::map<std::string, std::string> objects;  ///< every object of the database: name -> DDL
    std::vector<TableEntry> tables;
};

/// One region's part of a backup.
struct Manifest {
    static constexpr int kFormat = 1;
    int format = kFormat;
    std::string name;
    std::string fleet;
    std::string site;
    std::string region;
    std::string database;
    std::string base;  ///< the newest complete backup of the region when this one began ("" for the first)
    bool consistent = false;
    std::string ledger_position = "unknown";  ///< the erasure ledger's position when the backup was taken
    int64_t started_ms = 0;
    int64_t finished_ms = 0;
    uint64_t size_bytes = 0;      ///< every file the backup references
    uint64_t uploaded_bytes = 0;  ///< what this run stored (the rest was in the repository already)
    std::vector<ShardEntry> shards;

    std::string toJson() const;
    /// Throws Exception(BadResponse) naming `source` when the text is not a manifest.
    static Manifest fromJson(const std::string& text, const std::string& source);
};

/// Backup names are also keys and folder names: letters, digits, '_', '.', '-', starting with a letter or
/// digit, at most 100 characters. Throws Exception(BadArguments) explaining the rule otherwise.
void checkBackupName(const std::string& name);

/// Partition IDs as ClickHouse prints them (202612, all, hex hashes): letters, digits, '_' and '-'.
void checkPartitionId(const std::string& partition);

}  // namespace chfleet::backup
