#include "retention/RetentionState.h"

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/Exception.h"
#include "common/Files.h"

namespace chfleet::retention {

std::string stateKey(const std::string& site, const std::string& region, const std::string& table) {
    return site + "/" + region + "/" + table;
}

std::string statePath(const topology::Fleet& fleet, const std::string& explicit_path) {
    if (!explicit_path.empty()) {
        return explicit_path;
    }
    if (const char* from_environment = std::getenv("CHFLEET_RETENTION_STATE");
        from_environment != nullptr && *from_environment != '\0') {
        return from_environment;
    }
    auto folder = std::filesystem::path(files::absolute(fleet.source_path)).parent_path();
    return (folder / "retention-state.json").string();
}

RetentionState loadState(const std::string& path) {
    RetentionState state;
    if (!std::filesystem::exists(path)) {
        return state;
    }
    try {
        auto json = nlohmann::json::parse(files::read(path));
        for (const auto& [key, entry] : json.at("last_runs").items()) {
            LastRun run;
            run.finished = entry.at("finished").get<uint64_t>();
            run.partitions_dropped = entry.at("partitions_dropped").get<uint64_t>();
            run.rows_dropped = entry.at("rows_dropped").get<uint64_t>();
            run.ok = entry.at("ok").get<bool>();
            state[key] = run;
        }
    } catch (const nlohmann::json::exception& e) {
        throw Exception(ErrorCode::IoError,
                        "{} is not a retention state file ({}); move it away to start afresh", path,
                        e.what());
    }
    return state;
}

void saveState(const std::string& path, const RetentionState& state) {
    nlohmann::json runs = nlohmann::json::object();
    for (const auto& [key, run] : state) {
        runs[key] = {{"finished", run.finished},
                     {"partitions_dropped", run.partitions_dropped},
                     {"rows_dropped", run.rows_dropped},
                     {"ok", run.ok}};
    }
    files::writeAtomically(path, nlohmann::json{{"last_runs", runs}}.dump(2) + "\n");
}

}  // namespace chfleet::retention
