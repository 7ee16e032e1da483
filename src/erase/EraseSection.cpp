#include "erase/EraseSection.h"

#include <cstdlib>
#include <filesystem>

#include "common/Exception.h"
#include "common/Files.h"
#include "topology/FleetSection.h"

namespace chfleet::erase {

namespace {

/// Reads the `erase:` section.
class EraseSectionReader : public topology::SectionReader {
  public:
    void read(const YAML::Node& node, const std::string& path, topology::FleetReading& reading) override {
        auto map = reading.mapping(node, path,
                                   {"ledger_file", "ledger_database", "salt_env", "salt_file",
                                    "mutation_timeout_seconds", "ingest_grace_seconds"});
        if (!map) {
            return;
        }
        EraseConfig config;
        if (auto file = map->string("ledger_file", false)) {
            config.ledger_file = *file;
        }
        if (auto database = map->name("ledger_database", false, topology::isSqlIdentifier,
                                      topology::kSqlIdentifierRule)) {
            config.ledger_database = *database;
        }
        auto salt_env = map->string("salt_env", false);
        auto salt_file = map->string("salt_file", false);
        if (salt_env && salt_file) {
            reading.problems().add(map->lineAt("salt_file"), map->path("salt_file"),
                                   "give either salt_env or salt_file, not both");
        } else if (salt_file) {
            config.salt = topology::SecretRef{"", *salt_file};
        } else if (salt_env) {
            config.salt = topology::SecretRef{*salt_env, ""};
        }
        if (auto timeout = map->integer("mutation_timeout_seconds", false, 1, 7 * 24 * 3600)) {
            config.mutation_timeout_seconds = static_cast<int>(*timeout);
        }
        if (auto grace = map->integer("ingest_grace_seconds", false, 0, 3600)) {
            config.ingest_grace_seconds = static_cast<int>(*grace);
        }
        reading.fleet().sections.set(std::move(config));
    }
};

[[maybe_unused]] const bool kSectionRegistered = topology::registerFleetSection(
    {"erase", 300, [] { return std::make_unique<EraseSectionReader>(); },
     [](const topology::Fleet& fleet, YAML::Emitter& out) {
         const EraseConfig* config = fleet.sections.find<EraseConfig>();
         if (config == nullptr) {
             return;
         }
         out << YAML::Key << "erase" << YAML::Value << YAML::BeginMap;
         out << YAML::Key << "ledger_file" << YAML::Value << ledgerFilePath(fleet);
         out << YAML::Key << "ledger_database" << YAML::Value << config->ledger_database;
         if (!config->salt.env.empty()) {
             out << YAML::Key << "salt_env" << YAML::Value << config->salt.env;
         } else {
             out << YAML::Key << "salt_file" << YAML::Value << config->salt.file;
         }
         out << YAML::Key << "mutation_timeout_seconds" << YAML::Value << config->mutation_timeout_seconds;
         out << YAML::Key << "ingest_grace_seconds" << YAML::Value << config->ingest_grace_seconds;
         out << YAML::EndMap;
     }});

/// `path` taken relative to the fleet file's directory.
std::string besideFleetFile(const topology::Fleet& fleet, const std::string& path) {
    if (path.empty() || std::filesystem::path(path).is_absolute() || fleet.source_path.empty()) {
        return path;
    }
    return (std::filesystem::path(fleet.source_path).parent_path() / path).lexically_normal().string();
}

}  // namespace

const EraseConfig& eraseConfig(const topology::Fleet& fleet) {
    static const EraseConfig kDefaults;
    const EraseConfig* config = fleet.sections.find<EraseConfig>();
    return config != nullptr ? *config : kDefaults;
}

std::string ledgerFilePath(const topology::Fleet& fleet) {
    return besideFleetFile(fleet, eraseConfig(fleet).ledger_file);
}

std::string fleetSalt(const topology::Fleet& fleet) {
    const auto& salt = eraseConfig(fleet).salt;
    std::string value;
    if (!salt.env.empty()) {
        const char* text = std::getenv(salt.env.c_str());
        value = text != nullptr ? text : "";
    } else {
        std::string path = besideFleetFile(fleet, salt.file);
        try {
            value = files::read(path);
        } catch (const Exception& e) {
            throw Exception(ErrorCode::InvalidConfig,
                            "cannot read the erasure salt file {} (erase.salt_file): {}", path, e.what());
        }
        while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) {
            value.pop_back();
        }
    }
    if (value.empty()) {
        throw Exception(
            ErrorCode::InvalidConfig,
            "the erasure salt ({}) is not set or empty: erasure records companies by a salted "
            "hash and needs the fleet's secret salt; set it to the same long random value on "
            "every machine that runs chfleet (e.g. `openssl rand -hex 32`), and never change it",
            salt.env.empty() ? "erase.salt_file " + salt.file : "environment variable " + salt.env);
    }
    return value;
}

}  // namespace chfleet::erase
