#pragma once

#include <map>
#include <string>
#include <string_view>

#include "topology/Fleet.h"

// Backup's part of the fleet file: the `backup:` section (where each region's backups go, how long they are
// kept). Read, checked and written here; registered with the fleet-file loader (topology/FleetSection.h).
namespace chfleet::backup {

/// Where one region's backups are kept: a local folder, or an S3-compatible bucket.
struct RepositorySpec {
    std::string path;      ///< local folder; empty for S3
    std::string endpoint;  ///< S3: http(s)://host:port
    std::string bucket;
    std::string prefix;                ///< S3: key prefix, without leading or trailing '/'
    std::string region = "us-east-1";  ///< S3 signing region
    topology::SecretRef access_key{"AWS_ACCESS_KEY_ID", ""};
    topology::SecretRef secret_key{"AWS_SECRET_ACCESS_KEY", ""};
    bool s3() const { return path.empty(); }
    bool operator==(const RepositorySpec&) const = default;
};

/// The `backup:` section.
struct BackupConfig {
    static constexpr std::string_view kExtensionKey = "backup";
    static constexpr int kDefaultKeepDays = 30;  ///< the seed's retention of backups
    /// Per region name: its repository. A region's data goes only to its own repository.
    std::map<std::string, RepositorySpec> repositories;
    int keep_days = kDefaultKeepDays;
    int parallel = 4;  ///< files transferred at once
    bool operator==(const BackupConfig&) const = default;
};

/// The fleet's backup section (empty repositories when the file has none).
const BackupConfig& backupConfig(const topology::Fleet& fleet);

}  // namespace chfleet::backup
