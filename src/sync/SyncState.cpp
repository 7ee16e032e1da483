#include "sync/SyncState.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string_view>

#include "common/Exception.h"
#include "common/Files.h"
#include "common/Log.h"

namespace chfleet::sync {

namespace {

// Read with std::map objects (the `verified` map can hold tens of thousands of keys; ordered_json's
// linear-search objects made parsing quadratic), written with ordered objects so the file keeps the seed's
// field order.
using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

/// A field of the state file with the wrong type; caught in loadSyncState only.
class StateProblem : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

const char* typeName(const Json& value) {
    return value.type_name();
}

/// The value of `key` when present and not null.
const Json* field(const Json& object, const char* key) {
    auto found = object.find(key);
    if (found == object.end() || found->is_null()) {
        return nullptr;
    }
    return &*found;
}

void readCount(const Json& object, const char* key, uint64_t& out) {
    if (const Json* value = field(object, key)) {
        if (!value->is_number_unsigned()) {
            throw StateProblem(
                fmt::format("field {} must be a non-negative integer, found {}", key, typeName(*value)));
        }
        out = value->get<uint64_t>();
    }
}

void readString(const Json& object, const char* key, std::string& out) {
    if (const Json* value = field(object, key)) {
        if (!value->is_string()) {
            throw StateProblem(fmt::format("field {} must be a string, found {}", key, typeName(*value)));
        }
        out = value->get<std::string>();
    }
}

void readOptionalString(const Json& object, const char* key, std::optional<std::string>& out) {
    if (field(object, key) == nullptr) {
        out.reset();
        return;
    }
    std::string value;
    readString(object, key, value);
    out = std::move(value);
}

void readBool(const Json& object, const char* key, bool& out) {
    if (const Json* value = field(object, key)) {
        if (!value->is_boolean()) {
            throw StateProblem(
                fmt::format("field {} must be true or false, found {}", key, typeName(*value)));
        }
        out = value->get<bool>();
    }
}

/// Calls `each` for every element of the list field `key`, when present; throws if it is not a list.
template <typename Each>
void forEachInList(const Json& object, const char* key, Each each) {
    if (const Json* list = field(object, key)) {
        if (!list->is_array()) {
            throw StateProblem(fmt::format("field {} must be a list, found {}", key, typeName(*list)));
        }
        for (const auto& element : *list) {
            each(element);
        }
    }
}

SyncState stateFromJson(const Json& json) {
    if (!json.is_object()) {
        throw StateProblem(fmt::format("expected a JSON object, found {}", typeName(json)));
    }
    SyncState state;
    readOptionalString(json, "last_check", state.last_check);
    readOptionalString(json, "last_sync", state.last_sync);
    readCount(json, "consecutive_clean", state.consecutive_clean);
    readBool(json, "failback_ready", state.failback_ready);
    readString(json, "active_site", state.active_site);
    readCount(json, "tables_checked", state.tables_checked);
    readCount(json, "tables_with_gaps", state.tables_with_gaps);
    readCount(json, "partitions_synced", state.partitions_synced);
    readCount(json, "rows_synced", state.rows_synced);
    readCount(json, "tables_created", state.tables_created);
    forEachInList(json, "new_tables_detected", [&](const Json& table) {
        if (!table.is_string()) {
            throw StateProblem("field new_tables_detected must hold strings");
        }
        state.new_tables_detected.push_back(table.get<std::string>());
    });
    readOptionalString(json, "last_error", state.last_error);
    readCount(json, "rows_added", state.rows_added);
    readCount(json, "rows_removed", state.rows_removed);
    forEachInList(json, "repairs", [&](const Json& entry) {
        if (!entry.is_object()) {
            throw StateProblem(
                fmt::format("an entry of repairs must be an object, found {}", typeName(entry)));
        }
        RepairRecord repair;
        readString(entry, "time", repair.time);
        readString(entry, "table", repair.table);
        readString(entry, "partition", repair.partition);
        readString(entry, "target", repair.target);
        readCount(entry, "rows_added", repair.rows_added);
        readCount(entry, "rows_removed", repair.rows_removed);
        readString(entry, "policy", repair.policy);
        state.repairs.push_back(std::move(repair));
    });
    if (const Json* verified = field(json, "verified")) {
        if (!verified->is_object()) {
            throw StateProblem(
                fmt::format("field verified must be an object, found {}", typeName(*verified)));
        }
        for (const auto& [key, value] : verified->items()) {
            if (!value.is_string()) {
                throw StateProblem(
                    fmt::format("verified[\"{}\"] must be a string, found {}", key, typeName(value)));
            }
            state.verified.emplace(key, value.get<std::string>());
        }
    }
    return state;
}

OrderedJson optionalString(const std::optional<std::string>& value) {
    return value ? OrderedJson(*value) : OrderedJson(nullptr);
}

/// Appends `text` as a JSON string: as it is when no character needs escaping (the engine's keys and
/// fingerprints), else escaped by nlohmann.
void appendJsonString(std::string& out, const std::string& text) {
    bool plain = std::all_of(text.begin(), text.end(), [](char c) {
        return static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f && c != '"' &&
               c != '\\';
    });
    if (plain) {
        out += '"';
        out += text;
        out += '"';
    } else {
        out += OrderedJson(text).dump();
    }
}

/// Moves a corrupt state file aside so that its content is kept. Returns what happened, for the one warning.
std::string keepCorruptCopy(const std::string& path) {
    std::error_code error;
    if (!std::filesystem::is_regular_file(path, error)) {
        return "it is not a regular file and was left in place";
    }
    std::string base = fmt::format("{}.corrupt-{}", path, [] {
        std::time_t now = std::time(nullptr);
        std::tm utc{};
        ::gmtime_r(&now, &utc);
        char text[32];
        std::strftime(text, sizeof(text), "%Y%m%dT%H%M%SZ", &utc);
        return std::string(text);
    }());
    std::string target = base;
    for (int attempt = 1; std::filesystem::exists(target, error); ++attempt) {
        target = fmt::format("{}-{}", base, attempt);
    }
    std::filesystem::rename(path, target, error);
    if (error) {
        return fmt::format("it could not be moved aside to {} ({}) and was left in place", target,
                           error.message());
    }
    return fmt::format("it was kept as {}", target);
}

}  // namespace

void appendRepair(SyncState& state, RepairRecord repair) {
    state.repairs.push_back(std::move(repair));
    if (state.repairs.size() > kMaxRepairs) {
        state.repairs.erase(
            state.repairs.begin(),
            state.repairs.begin() + static_cast<std::ptrdiff_t>(state.repairs.size() - kMaxRepairs));
    }
}

std::string syncStateJson(const SyncState& state) {
    OrderedJson json;
    json["last_check"] = optionalString(state.last_check);
    json["last_sync"] = optionalString(state.last_sync);
    json["consecutive_clean"] = state.consecutive_clean;
    json["failback_ready"] = state.failback_ready;
    json["active_site"] = state.active_site.empty() ? OrderedJson(nullptr) : OrderedJson(state.active_site);
    json["tables_checked"] = state.tables_checked;
    json["tables_with_gaps"] = state.tables_with_gaps;
    json["partitions_synced"] = state.partitions_synced;
    json["rows_synced"] = state.rows_synced;
    json["tables_created"] = state.tables_created;
    json["new_tables_detected"] = state.new_tables_detected;
    json["last_error"] = optionalString(state.last_error);
    json["rows_added"] = state.rows_added;
    json["rows_removed"] = state.rows_removed;
    OrderedJson repairs = OrderedJson::array();
    for (const auto& repair : state.repairs) {
        repairs.push_back(OrderedJson{{"time", repair.time},
                                      {"table", repair.table},
                                      {"partition", repair.partition},
                                      {"target", repair.target},
                                      {"rows_added", repair.rows_added},
                                      {"rows_removed", repair.rows_removed},
                                      {"policy", repair.policy}});
    }
    json["repairs"] = std::move(repairs);
    json["verified"] = OrderedJson::object();
    std::string text = json.dump(2);
    if (state.verified.empty()) {
        return text + "\n";
    }
    // The tens of thousands of `verified` entries are written straight into the text, as nlohmann would
    // print them, rather than first copied into a JSON object: the text ends with `"verified": {}\n}`.
    constexpr std::string_view kEmptyLast = "{}\n}";
    text.resize(text.size() - kEmptyLast.size());
    text.reserve(text.size() + state.verified.size() * 48);
    text += "{\n";
    for (const auto& [key, fingerprint] : state.verified) {
        text += "    ";
        appendJsonString(text, key);
        text += ": ";
        appendJsonString(text, fingerprint);
        text += ",\n";
    }
    text.resize(text.size() - 2);
    text += "\n  }\n}\n";
    return text;
}

SyncState loadSyncState(const std::string& path) {
    auto logger = log::get("sync");
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0 && errno == ENOENT) {
        logger->info("no state file at {} yet; starting with a fresh state", path);
        return {};
    }
    std::string problem = "it is a folder, not a file";
    if (!S_ISDIR(info.st_mode)) {
        try {
            return stateFromJson(Json::parse(files::read(path)));
        } catch (const Exception& e) {
            problem = e.what();
        } catch (const Json::exception& e) {
            problem = fmt::format("not valid JSON: {}", e.what());
        } catch (const StateProblem& e) {
            problem = e.what();
        }
    }
    std::string kept = keepCorruptCopy(path);
    logger->warn("state file {} is unusable ({}); {}; starting with a fresh state", path, problem, kept);
    return {};
}

void saveSyncState(const std::string& path, const SyncState& state) {
    auto folder = std::filesystem::path(path).parent_path();
    if (!folder.empty()) {
        files::makeDirectories(folder.string());
    }
    files::writeAtomically(path, syncStateJson(state));
}

std::string toIsoUtc(std::chrono::system_clock::time_point time) {
    std::time_t seconds = std::chrono::system_clock::to_time_t(time);
    std::tm utc{};
    ::gmtime_r(&seconds, &utc);
    char text[32];
    std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &utc);
    return text;
}

std::optional<std::chrono::system_clock::time_point> fromIsoUtc(const std::string& text) {
    std::tm parts{};
    int consumed = 0;
    if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &parts.tm_year, &parts.tm_mon, &parts.tm_mday,
                    &parts.tm_hour, &parts.tm_min, &parts.tm_sec, &consumed) != 6 ||
        consumed != 19) {
        return std::nullopt;
    }
    if (parts.tm_mon < 1 || parts.tm_mon > 12 || parts.tm_mday < 1 || parts.tm_mday > 31 ||
        parts.tm_hour > 23 || parts.tm_min > 59 || parts.tm_sec > 60) {
        return std::nullopt;
    }
    std::string_view rest = std::string_view(text).substr(19);
    if (!rest.empty() && rest.front() == '.') {
        size_t digits = rest.find_first_not_of("0123456789", 1);
        if (digits == 1) {
            return std::nullopt;
        }
        rest.remove_prefix(digits == std::string_view::npos ? rest.size() : digits);
    }
    long offset_seconds = 0;
    if (rest == "Z" || rest.empty()) {
        offset_seconds = 0;
    } else if ((rest.front() == '+' || rest.front() == '-') && (rest.size() == 6 || rest.size() == 5)) {
        int hours = 0;
        int minutes = 0;
        std::string zone(rest.substr(1));
        int matched = rest.size() == 6 ? std::sscanf(zone.c_str(), "%2d:%2d", &hours, &minutes)
                                       : std::sscanf(zone.c_str(), "%2d%2d", &hours, &minutes);
        if (matched != 2 || hours > 23 || minutes > 59) {
            return std::nullopt;
        }
        offset_seconds = (rest.front() == '+' ? 1 : -1) * (hours * 3600L + minutes * 60L);
    } else {
        return std::nullopt;
    }
    parts.tm_year -= 1900;
    parts.tm_mon -= 1;
    std::time_t seconds = ::timegm(&parts);
    return std::chrono::system_clock::from_time_t(seconds - offset_seconds);
}

}  // namespace chfleet::sync
