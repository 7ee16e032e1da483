#include "monitoring/MonitoringSection.h"

#include "topology/FleetSection.h"

namespace chfleet::monitoring {

using topology::FleetReading;

namespace {

/// One integer threshold: its key in the file and where it lives in Thresholds.
struct ThresholdKey {
    const char* key;
    int64_t Thresholds::*field;
    long long min;
    long long max;
};

constexpr long long kMaxValue = 1LL << 50;

const ThresholdKey kThresholdKeys[] = {
    {"replica_lag_seconds", &Thresholds::replica_lag_seconds, 1, kMaxValue},
    {"replication_queue", &Thresholds::replication_queue, 1, kMaxValue},
    {"disk_used_percent", &Thresholds::disk_used_percent, 1, 100},
    {"shard_imbalance_percent", &Thresholds::shard_imbalance_percent, 1, 1000},
    {"shard_imbalance_investigate_percent", &Thresholds::shard_imbalance_investigate_percent, 1, 1000},
    {"shard_balance_min_rows", &Thresholds::shard_balance_min_rows, 0, kMaxValue},
    {"query_p99_seconds", &Thresholds::query_p99_seconds, 1, kMaxValue},
    {"parts_per_partition", &Thresholds::parts_per_partition, 1, kMaxValue},
    {"mutation_age_minutes", &Thresholds::mutation_age_minutes, 1, kMaxValue},
    {"sync_not_clean_minutes", &Thresholds::sync_not_clean_minutes, 1, kMaxValue},
    {"erasure_pending_hours", &Thresholds::erasure_pending_hours, 1, kMaxValue},
    {"retention_stalled_hours", &Thresholds::retention_stalled_hours, 1, kMaxValue},
    {"backup_age_hours", &Thresholds::backup_age_hours, 1, kMaxValue},
    {"spool_bytes", &Thresholds::spool_bytes, 1, kMaxValue},
};

std::vector<std::string> thresholdKeyNames() {
    std::vector<std::string> names;
    for (const auto& key : kThresholdKeys) {
        names.emplace_back(key.key);
    }
    return names;
}

/// Reads `monitoring:`; its check settles the imbalance thresholds' order.
class MonitoringSectionReader : public topology::SectionReader {
  public:
    void read(const YAML::Node& node, const std::string& path, FleetReading& reading) override {
        auto map = reading.mapping(
            node, path,
            {"thresholds", "exporter_timeout_ms", "runbook_base_url", "host_data_path", "sync_state_file",
             "ingest_spool_dir", "exporter_targets", "sync_targets", "ingest_targets"});
        if (!map) {
            return;
        }
        line_ = map->line();
        if (const YAML::Node* thresholds = map->get("thresholds", false)) {
            if (auto values = reading.mapping(*thresholds, map->path("thresholds"), thresholdKeyNames())) {
                for (const auto& key : kThresholdKeys) {
                    if (auto value = values->integer(key.key, false, key.min, key.max)) {
                        config_.thresholds.*key.field = *value;
                    }
                }
            }
        }
        if (auto timeout = map->integer("exporter_timeout_ms", false, 100, 600000)) {
            config_.exporter_timeout_ms = *timeout;
        }
        readString(*map, "runbook_base_url", config_.runbook_base_url);
        readString(*map, "host_data_path", config_.host_data_path);
        readString(*map, "sync_state_file", config_.sync_state_file);
        readString(*map, "ingest_spool_dir", config_.ingest_spool_dir);
        readTargets(*map, "exporter_targets", config_.exporter_targets, reading);
        readTargets(*map, "sync_targets", config_.sync_targets, reading);
        readTargets(*map, "ingest_targets", config_.ingest_targets, reading);
        while (!config_.runbook_base_url.empty() && config_.runbook_base_url.back() == '/') {
            config_.runbook_base_url.pop_back();
        }
    }

    void check(FleetReading& reading) override {
        const auto& t = config_.thresholds;
        if (t.shard_imbalance_investigate_percent < t.shard_imbalance_percent) {
            reading.problems().add(
                line_, "monitoring.thresholds.shard_imbalance_investigate_percent",
                fmt::format("{} is below shard_imbalance_percent ({}): the level to "
                            "investigate must be at least the level still called normal",
                            t.shard_imbalance_investigate_percent, t.shard_imbalance_percent));
        }
        reading.fleet().sections.set(std::move(config_));
    }

  private:
    static void readString(const topology::MapReader& map, const char* key, std::string& into) {
        if (auto value = map.string(key, false)) {
            into = *value;
        }
    }

    static void readTargets(const topology::MapReader& map, const char* key, std::vector<std::string>& into,
                            FleetReading& reading) {
        const YAML::Node* list = map.sequence(key, false, true);
        if (list == nullptr) {
            return;
        }
        into.clear();
        for (size_t i = 0; i < list->size(); ++i) {
            const YAML::Node& item = (*list)[i];
            if (!item.IsScalar() || item.Scalar().find(':') == std::string::npos) {
                reading.problems().add(topology::lineOf(item), topology::itemPath(map.path(key), i),
                                       "expected host:port, e.g. 127.0.0.1:9363");
                continue;
            }
            into.push_back(item.Scalar());
        }
    }

    MonitoringConfig config_;
    int line_ = 0;
};

void dumpTargets(YAML::Emitter& out, const char* key, const std::vector<std::string>& targets) {
    out << YAML::Key << key << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (const auto& target : targets) {
        out << target;
    }
    out << YAML::EndSeq;
}

[[maybe_unused]] const bool kSectionRegistered = topology::registerFleetSection(
    {"monitoring", 400, [] { return std::make_unique<MonitoringSectionReader>(); },
     [](const topology::Fleet& fleet, YAML::Emitter& out) {
         const auto& config = monitoringConfig(fleet);
         if (config == MonitoringConfig{}) {
             return;
         }
         out << YAML::Key << "monitoring" << YAML::Value << YAML::BeginMap;
         out << YAML::Key << "thresholds" << YAML::Value << YAML::BeginMap;
         for (const auto& key : kThresholdKeys) {
             out << YAML::Key << key.key << YAML::Value << config.thresholds.*key.field;
         }
         out << YAML::EndMap;
         out << YAML::Key << "exporter_timeout_ms" << YAML::Value << config.exporter_timeout_ms;
         out << YAML::Key << "runbook_base_url" << YAML::Value << config.runbook_base_url;
         out << YAML::Key << "host_data_path" << YAML::Value << config.host_data_path;
         if (!config.sync_state_file.empty()) {
             out << YAML::Key << "sync_state_file" << YAML::Value << config.sync_state_file;
         }
         if (!config.ingest_spool_dir.empty()) {
             out << YAML::Key << "ingest_spool_dir" << YAML::Value << config.ingest_spool_dir;
         }
         dumpTargets(out, "exporter_targets", config.exporter_targets);
         dumpTargets(out, "sync_targets", config.sync_targets);
         dumpTargets(out, "ingest_targets", config.ingest_targets);
         out << YAML::EndMap;
     }});

}  // namespace

const MonitoringConfig& monitoringConfig(const topology::Fleet& fleet) {
    static const MonitoringConfig kDefaults;
    const auto* config = fleet.sections.find<MonitoringConfig>();
    return config == nullptr ? kDefaults : *config;
}

std::string hostDataPath(const std::string& path_template, const topology::Node& node) {
    std::string path = path_template;
    for (size_t at = path.find("{node}"); at != std::string::npos; at = path.find("{node}", at)) {
        path.replace(at, 6, node.name);
        at += node.name.size();
    }
    return path;
}

}  // namespace chfleet::monitoring
