#include "backup/BackupSection.h"

#include "topology/FleetSection.h"

namespace chfleet::backup {

using topology::FleetReading;

namespace {

bool isEnvName(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
}

/// Reads `backup:`; its check makes sure every repository names a region of the fleet.
class BackupSectionReader : public topology::SectionReader {
  public:
    void read(const YAML::Node& node, const std::string& path, FleetReading& reading) override {
        auto map = reading.mapping(node, path, {"repositories", "keep_days", "parallel"});
        if (!map) {
            return;
        }
        config_.keep_days =
            static_cast<int>(map->integer("keep_days", false, 1, 36500).value_or(config_.keep_days));
        config_.parallel =
            static_cast<int>(map->integer("parallel", false, 1, 64).value_or(config_.parallel));
        const YAML::Node* repositories = map->get("repositories", false);
        if (repositories == nullptr) {
            return;
        }
        std::string repositories_path = map->path("repositories");
        if (!repositories->IsMap()) {
            reading.problems().add(topology::lineOf(*repositories), repositories_path,
                                   "expected a mapping of region name to repository");
            return;
        }
        for (const auto& entry : *repositories) {
            auto region = entry.first.as<std::string>();
            readRepository(region, entry.second, topology::childPath(repositories_path, region), reading);
        }
    }

    void check(FleetReading& reading) override {
        auto& fleet = reading.fleet();
        for (const auto& [region, line] : lines_) {
            bool known = false;
            std::vector<std::string> names;
            for (const auto& site : fleet.sites) {
                for (const auto& candidate : site.regions) {
                    known = known || candidate.name == region;
                    names.push_back(candidate.name);
                }
            }
            if (!known) {
                reading.problems().add(
                    line, "backup.repositories." + region,
                    fmt::format("unknown region '{}' (regions: {})", region, topology::joinNames(names)));
            }
        }
        fleet.sections.set(std::move(config_));
    }

  private:
    void readRepository(const std::string& region, const YAML::Node& node, const std::string& path,
                        FleetReading& reading) {
        auto map = reading.mapping(node, path,
                                   {"path", "endpoint", "bucket", "prefix", "region", "access_key_env",
                                    "secret_key_env", "access_key_file", "secret_key_file"});
        if (!map) {
            return;
        }
        lines_[region] = map->line();
        RepositorySpec spec;
        spec.path = map->string("path", false).value_or("");
        if (spec.path.empty()) {
            spec.endpoint = map->string("endpoint", true).value_or("");
            spec.bucket = map->string("bucket", true).value_or("");
            spec.prefix = map->string("prefix", false).value_or("");
            spec.region = map->string("region", false).value_or(spec.region);
            if (!spec.endpoint.starts_with("http://") && !spec.endpoint.starts_with("https://") &&
                map->has("endpoint")) {
                reading.problems().add(map->lineAt("endpoint"), map->path("endpoint"),
                                       "expected http://host:port or https://host");
            }
            while (spec.prefix.starts_with('/')) {
                spec.prefix.erase(0, 1);
            }
            while (spec.prefix.ends_with('/')) {
                spec.prefix.pop_back();
            }
            readSecret(*map, "access_key", spec.access_key, reading);
            readSecret(*map, "secret_key", spec.secret_key, reading);
        } else if (map->has("endpoint") || map->has("bucket")) {
            reading.problems().add(map->lineAt("path"), map->path("path"),
                                   "give either path (a folder) or endpoint and bucket (S3), not both");
        } else if (!spec.path.starts_with('/')) {
            reading.problems().add(map->lineAt("path"), map->path("path"), "expected an absolute path");
        }
        config_.repositories[region] = std::move(spec);
    }

    static void readSecret(const topology::MapReader& map, const std::string& name, topology::SecretRef& ref,
                           FleetReading& reading) {
        auto env = map.string(name + "_env", false);
        auto file = map.string(name + "_file", false);
        if (env && file) {
            reading.problems().add(map.lineAt(name + "_env"), map.path(name + "_env"),
                                   fmt::format("give {0}_env or {0}_file, not both", name));
            return;
        }
        if (env) {
            if (!isEnvName(*env)) {
                reading.problems().add(map.lineAt(name + "_env"), map.path(name + "_env"),
                                       "expected the name of an environment variable (letters, digits, _)");
            }
            ref = topology::SecretRef{*env, ""};
        } else if (file) {
            ref = topology::SecretRef{"", *file};
        }
    }

    BackupConfig config_;
    std::map<std::string, int> lines_;
};

void dumpSecret(YAML::Emitter& out, const std::string& name, const topology::SecretRef& ref) {
    if (!ref.env.empty()) {
        out << YAML::Key << name + "_env" << YAML::Value << ref.env;
    } else if (!ref.file.empty()) {
        out << YAML::Key << name + "_file" << YAML::Value << ref.file;
    }
}

[[maybe_unused]] const bool kSectionRegistered = topology::registerFleetSection(
    {"backup", 300, [] { return std::make_unique<BackupSectionReader>(); },
     [](const topology::Fleet& fleet, YAML::Emitter& out) {
         const auto& config = backupConfig(fleet);
         if (config == BackupConfig{}) {
             return;
         }
         out << YAML::Key << "backup" << YAML::Value << YAML::BeginMap;
         out << YAML::Key << "keep_days" << YAML::Value << config.keep_days;
         out << YAML::Key << "parallel" << YAML::Value << config.parallel;
         out << YAML::Key << "repositories" << YAML::Value << YAML::BeginMap;
         for (const auto& [region, spec] : config.repositories) {
             out << YAML::Key << region << YAML::Value << YAML::BeginMap;
             if (!spec.s3()) {
                 out << YAML::Key << "path" << YAML::Value << spec.path;
             } else {
                 out << YAML::Key << "endpoint" << YAML::Value << spec.endpoint;
                 out << YAML::Key << "bucket" << YAML::Value << spec.bucket;
                 if (!spec.prefix.empty()) {
                     out << YAML::Key << "prefix" << YAML::Value << spec.prefix;
                 }
                 out << YAML::Key << "region" << YAML::Value << spec.region;
                 dumpSecret(out, "access_key", spec.access_key);
                 dumpSecret(out, "secret_key", spec.secret_key);
             }
             out << YAML::EndMap;
         }
         out << YAML::EndMap << YAML::EndMap;
     }});

}  // namespace

const BackupConfig& backupConfig(const topology::Fleet& fleet) {
    static const BackupConfig kNone;
    const auto* config = fleet.sections.find<BackupConfig>();
    return config == nullptr ? kNone : *config;
}

}  // namespace chfleet::backup
