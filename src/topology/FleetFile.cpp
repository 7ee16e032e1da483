#include "topology/FleetFile.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>

#include "common/Text.h"

namespace chfleet::topology {

namespace {

bool isAsciiAlnum(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0;
}

size_t editDistance(std::string_view a, std::string_view b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) {
        row[j] = j;
    }
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t diagonal = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

/// Words that may stand bare in a key expression without being columns.
bool isSqlKeyword(std::string_view word) {
    static const std::set<std::string, std::less<>> keywords = {
        "and",    "or",     "not",  "in",  "is",   "null",  "like",    "ilike", "between", "interval",
        "second", "minute", "hour", "day", "week", "month", "quarter", "year",  "as",      "case",
        "when",   "then",   "else", "end", "true", "false", "asc",     "desc",  "cast",    "global"};
    return keywords.count(text::toLower(word)) > 0;
}

bool parseInteger(const YAML::Node& value, long long& result) {
    if (!value.IsScalar()) {
        return false;
    }
    const std::string& text = value.Scalar();
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), result);
    return error == std::errc() && end == text.data() + text.size() && !text.empty();
}

}  // namespace

int lineOf(const YAML::Node& node) {
    YAML::Mark mark = node.Mark();
    return mark.is_null() ? 0 : mark.line + 1;
}

std::vector<FleetProblem> Problems::take() {
    std::stable_sort(problems_.begin(), problems_.end(),
                     [](const FleetProblem& a, const FleetProblem& b) { return a.line < b.line; });
    return std::move(problems_);
}

std::string childPath(const std::string& parent, std::string_view key) {
    return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

std::string itemPath(const std::string& parent, size_t index) {
    return fmt::format("{}[{}]", parent, index);
}

std::string closest(std::string_view word, const std::vector<std::string>& candidates) {
    std::string best;
    size_t best_distance = word.size() <= 3 ? 1 : 2;
    for (const auto& candidate : candidates) {
        size_t distance = editDistance(word, candidate);
        if (distance <= best_distance && (best.empty() || distance < editDistance(word, best))) {
            best = candidate;
        }
    }
    return best;
}

std::string joinNames(const std::vector<std::string>& names) {
    std::string result;
    for (const auto& name : names) {
        result += result.empty() ? name : ", " + name;
    }
    return result;
}

MapReader::MapReader(const YAML::Node& node, std::string path, Problems& problems,
                     std::vector<std::string> known)
    : node_(node), path_(std::move(path)), problems_(problems), known_(std::move(known)) {
    for (auto it = node.begin(); it != node.end(); ++it) {
        std::string key = it->first.IsScalar() ? it->first.Scalar() : std::string();
        if (std::find(known_.begin(), known_.end(), key) == known_.end()) {
            reportUnknown(key, it->first);
            continue;
        }
        if (entries_.count(key) > 0) {
            problems_.add(lineOf(it->first), childPath(path_, key),
                          fmt::format("field given twice (first at line {})", lineOf(entries_.at(key))));
            continue;
        }
        entries_.emplace(key, it->second);
    }
}

const YAML::Node* MapReader::get(const std::string& key, bool required) const {
    auto it = entries_.find(key);
    if (it == entries_.end() || it->second.IsNull()) {
        if (required) {
            problems_.add(it == entries_.end() ? line() : lineOf(it->second), path(key),
                          it == entries_.end() ? "required field is missing" : "required field has no value");
        }
        return nullptr;
    }
    return &it->second;
}

int MapReader::lineAt(const std::string& key) const {
    auto it = entries_.find(key);
    return it == entries_.end() ? line() : lineOf(it->second);
}

std::optional<std::string> MapReader::string(const std::string& key, bool required) const {
    const YAML::Node* value = get(key, required);
    if (value == nullptr) {
        return std::nullopt;
    }
    if (!value->IsScalar()) {
        problems_.add(lineOf(*value), path(key), "expected a text value");
        return std::nullopt;
    }
    if (value->Scalar().empty()) {
        if (required) {
            problems_.add(lineOf(*value), path(key), "must not be empty");
        }
        return std::nullopt;
    }
    return value->Scalar();
}

std::optional<std::string> MapReader::name(const std::string& key, bool required,
                                           bool (*valid)(std::string_view), std::string_view rule) const {
    auto value = string(key, required);
    if (value && !valid(*value)) {
        problems_.add(lineAt(key), path(key), fmt::format("'{}' is not a valid name: {}", *value, rule));
        return std::nullopt;
    }
    return value;
}

std::optional<long long> MapReader::integer(const std::string& key, bool required, long long min,
                                            long long max) const {
    const YAML::Node* value = get(key, required);
    if (value == nullptr) {
        return std::nullopt;
    }
    return readInteger(*value, path(key), min, max);
}

std::optional<long long> MapReader::readInteger(const YAML::Node& value, const std::string& value_path,
                                                long long min, long long max) const {
    long long result = 0;
    if (!parseInteger(value, result)) {
        problems_.add(lineOf(value), value_path,
                      fmt::format("expected a whole number, got '{}'",
                                  value.IsScalar() ? value.Scalar() : "a list or mapping"));
        return std::nullopt;
    }
    if (result < min || result > max) {
        problems_.add(lineOf(value), value_path,
                      fmt::format("{} is out of range ({}..{})", result, min, max));
        return std::nullopt;
    }
    return result;
}

std::optional<uint16_t> MapReader::port(const std::string& key, bool required) const {
    auto value = integer(key, required, 1, 65535);
    return value ? std::optional<uint16_t>(static_cast<uint16_t>(*value)) : std::nullopt;
}

const YAML::Node* MapReader::sequence(const std::string& key, bool required, bool allow_empty) const {
    const YAML::Node* value = get(key, required);
    if (value == nullptr) {
        return nullptr;
    }
    if (!value->IsSequence()) {
        problems_.add(lineOf(*value), path(key), "expected a list");
        return nullptr;
    }
    if (!allow_empty && value->size() == 0) {
        problems_.add(lineOf(*value), path(key), "must list at least one item");
        return nullptr;
    }
    return value;
}

void MapReader::unknownColumn(const std::string& field, const Table& table, const std::string& name) const {
    std::vector<std::string> names;
    for (const auto& column : table.columns) {
        names.push_back(column.name);
    }
    std::string suggestion = closest(name, names);
    problems_.add(lineAt(field), path(field),
                  suggestion.empty()
                      ? fmt::format("unknown column '{}' (columns: {})", name, joinNames(names))
                      : fmt::format("unknown column '{}'; did you mean '{}'?", name, suggestion));
}

void MapReader::checkColumnReferences(const std::string& field, const Table& table,
                                      const std::string& expression) const {
    std::set<std::string> reported;
    for (const auto& name : columnReferences(expression)) {
        if (table.column(name) == nullptr && reported.insert(name).second) {
            unknownColumn(field, table, name);
        }
    }
}

void MapReader::reportUnknown(const std::string& key, const YAML::Node& key_node) {
    std::string suggestion = closest(key, known_);
    if (!suggestion.empty()) {
        problems_.add(lineOf(key_node), path(key),
                      fmt::format("unknown field; did you mean '{}'?", suggestion));
    } else {
        problems_.add(lineOf(key_node), path(key),
                      fmt::format("unknown field (fields here: {})", joinNames(known_)));
    }
}

bool isSqlIdentifier(std::string_view s) {
    if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) {
        return false;
    }
    return std::all_of(s.begin(), s.end(), [](char c) { return isAsciiAlnum(c) || c == '_'; });
}

bool isRegionName(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        return isAsciiAlnum(c) || c == '_' || c == '.' || c == '-';
    });
}

bool isObjectName(std::string_view s) {
    return !s.empty() && isAsciiAlnum(s[0]) && isRegionName(s);
}

bool isUserName(std::string_view s) {
    return !s.empty() && (std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_') && isRegionName(s);
}

bool isHostName(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        return isAsciiAlnum(c) || c == '.' || c == '-' || c == ':' || c == '_';
    });
}

std::vector<std::string> columnReferences(std::string_view expression) {
    std::vector<std::string> names;
    size_t i = 0;
    auto next_significant = [&](size_t from) {
        while (from < expression.size() && std::isspace(static_cast<unsigned char>(expression[from]))) {
            ++from;
        }
        return from < expression.size() ? expression[from] : '\0';
    };
    char previous = '\0';
    while (i < expression.size()) {
        char c = expression[i];
        if (c == '\'' || c == '"') {
            size_t end = i + 1;
            while (end < expression.size() && expression[end] != c) {
                end += expression[end] == '\\' ? 2 : 1;
            }
            i = end + 1;
            previous = c;
        } else if (c == '`') {
            size_t end = expression.find('`', i + 1);
            if (end == std::string_view::npos) {
                break;
            }
            if (next_significant(end + 1) != '(' && previous != '.') {
                names.emplace_back(expression.substr(i + 1, end - i - 1));
            }
            i = end + 1;
            previous = '`';
        } else if (std::isdigit(static_cast<unsigned char>(c))) {
            while (i < expression.size() && (isAsciiAlnum(expression[i]) || expression[i] == '.')) {
                ++i;
            }
            previous = '0';
        } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
            size_t end = i;
            while (end < expression.size() && (isAsciiAlnum(expression[end]) || expression[end] == '_')) {
                ++end;
            }
            std::string_view word = expression.substr(i, end - i);
            if (next_significant(end) != '(' && previous != '.' && !isSqlKeyword(word)) {
                names.emplace_back(word);
            }
            i = end;
            previous = 'a';
        } else {
            if (!std::isspace(static_cast<unsigned char>(c))) {
                previous = c;
            }
            ++i;
        }
    }
    return names;
}

void emitScalar(YAML::Emitter& out, const std::string& value) {
    if (value.find('\n') != std::string::npos) {
        out << YAML::Literal << value;
    } else {
        out << value;
    }
}

}  // namespace chfleet::topology
