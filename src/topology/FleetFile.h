#pragma once

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "topology/Fleet.h"

// The kit every reader of a fleet-file section uses: where a YAML node was written, the problems found
// (reported as `file:line: path: message`), a typed reader of one mapping, name rules, and "did you mean".
namespace chfleet::topology {

/// The 1-based line a node was written on (0 when it has no mark).
int lineOf(const YAML::Node& node);

/// Collects the problems found in one file.
class Problems {
  public:
    explicit Problems(std::string file) : file_(std::move(file)) {}

    void add(int line, std::string path, std::string message) {
        problems_.push_back(FleetProblem{file_, line, std::move(path), std::move(message)});
    }

    /// The problems in file order (a problem found by a cross-check goes where the thing it is about was
    /// written).
    std::vector<FleetProblem> take();

  private:
    std::string file_;
    std::vector<FleetProblem> problems_;
};

/// "parent.key" (or "key" at the top).
std::string childPath(const std::string& parent, std::string_view key);
/// "parent[index]".
std::string itemPath(const std::string& parent, size_t index);

/// The candidate closest to `word` when it is close enough to be a likely typo, else "".
std::string closest(std::string_view word, const std::vector<std::string>& candidates);
/// "a, b, c".
std::string joinNames(const std::vector<std::string>& names);

/// One YAML mapping of the fleet file being read. Reports unknown and repeated keys when it is made, missing
/// required fields and ill-typed values when they are read. Values that are wrong come back empty, so one
/// mistake is reported once rather than again by every check that depends on it.
class MapReader {
  public:
    MapReader(const YAML::Node& node, std::string path, Problems& problems, std::vector<std::string> known);

    int line() const { return lineOf(node_); }
    std::string path(std::string_view key) const { return childPath(path_, key); }
    bool has(const std::string& key) const { return entries_.count(key) > 0; }
    /// The line of `key`'s value, or of the mapping when the key is absent.
    int lineAt(const std::string& key) const;

    /// The value of `key`, or nullptr when absent (reported when `required`).
    const YAML::Node* get(const std::string& key, bool required) const;
    std::optional<std::string> string(const std::string& key, bool required) const;
    /// A string that must satisfy `valid`; `rule` says what a valid one looks like.
    std::optional<std::string> name(const std::string& key, bool required, bool (*valid)(std::string_view),
                                    std::string_view rule) const;
    std::optional<long long> integer(const std::string& key, bool required, long long min,
                                     long long max) const;
    /// `value` (found at `value_path`) as a whole number in min..max.
    std::optional<long long> readInteger(const YAML::Node& value, const std::string& value_path,
                                         long long min, long long max) const;
    std::optional<uint16_t> port(const std::string& key, bool required) const;
    /// The sequence under `key` (nullptr when absent or not a sequence, which is reported).
    const YAML::Node* sequence(const std::string& key, bool required, bool allow_empty) const;

    /// Reports that `field` of a table entry names a column `name` the table does not have.
    void unknownColumn(const std::string& field, const Table& table, const std::string& name) const;
    /// Reports every column `expression` (the value of `field`) uses that the table does not have.
    void checkColumnReferences(const std::string& field, const Table& table,
                               const std::string& expression) const;

  private:
    void reportUnknown(const std::string& key, const YAML::Node& key_node);

    YAML::Node node_;
    std::string path_;
    Problems& problems_;
    std::vector<std::string> known_;
    std::map<std::string, YAML::Node> entries_;
};

/// Database, table, column, cluster and alias names: usable unquoted in ClickHouse SQL and as XML elements.
bool isSqlIdentifier(std::string_view s);
/// Region names (us-east-1): a macro value and a keeper path component.
bool isRegionName(std::string_view s);
/// Fleet, site and node names: also directory names of rendered configs, so they start with a letter or
/// digit.
bool isObjectName(std::string_view s);
/// User names: XML element names in users.d.
bool isUserName(std::string_view s);
/// A host name, IPv4 or IPv6 address.
bool isHostName(std::string_view s);

inline constexpr std::string_view kSqlIdentifierRule = "letters, digits and _, not starting with a digit";
inline constexpr std::string_view kRegionNameRule = "letters, digits, '_', '.' and '-'";
inline constexpr std::string_view kObjectNameRule =
    "letters, digits, '_', '.' and '-', starting with a letter or digit";
inline constexpr std::string_view kUserNameRule =
    "letters, digits, '_', '.' and '-', starting with a letter or '_'";
inline constexpr std::string_view kHostRule = "a host name or an IP address";

/// The names an expression uses as columns: bare identifiers that are not function names, keywords, or parts
/// of a dotted name. String literals and numbers are skipped; `quoted` identifiers count as names.
std::vector<std::string> columnReferences(std::string_view expression);

/// Writes a scalar, as a literal block when it spans lines.
void emitScalar(YAML::Emitter& out, const std::string& value);

}  // namespace chfleet::topology
