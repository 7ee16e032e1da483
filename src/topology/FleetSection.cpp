#include "topology/FleetSection.h"

#include <algorithm>

namespace chfleet::topology {

namespace {

// Function-local statics: capabilities register from their own static initializers, in any order.
std::vector<FleetSection>& sectionRegistry() {
    static std::vector<FleetSection> sections;
    return sections;
}

std::vector<TableField>& fieldRegistry() {
    static std::vector<TableField> fields;
    return fields;
}

/// Keeps a registry sorted by order (equal orders: in registration order).
template <class Entry>
void insertInOrder(std::vector<Entry>& entries, Entry entry) {
    auto at = std::upper_bound(entries.begin(), entries.end(), entry.order,
                               [](int order, const Entry& other) { return order < other.order; });
    entries.insert(at, std::move(entry));
}

}  // namespace

std::optional<MapReader> FleetReading::mapping(const YAML::Node& node, const std::string& path,
                                               std::vector<std::string> known) {
    if (!node.IsMap()) {
        problems_.add(lineOf(node), path, fmt::format("expected a mapping with fields {}", joinNames(known)));
        return std::nullopt;
    }
    return std::make_optional<MapReader>(node, path, problems_, std::move(known));
}

bool registerFleetSection(FleetSection section) {
    insertInOrder(sectionRegistry(), std::move(section));
    return true;
}

bool registerTableField(TableField field) {
    insertInOrder(fieldRegistry(), std::move(field));
    return true;
}

const std::vector<FleetSection>& fleetSections() {
    return sectionRegistry();
}

const std::vector<TableField>& tableFields() {
    return fieldRegistry();
}

}  // namespace chfleet::topology
