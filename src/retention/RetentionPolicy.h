#pragma once

#include <map>
#include <string>
#include <string_view>

#include "topology/Fleet.h"

// Retention's part of the fleet file: the `retention` field of a table entry (how long its rows are kept,
// per region). Read, checked and written here; registered with the fleet-file loader
// (topology/FleetSection.h).
namespace chfleet::retention {

/// How long a table's rows are kept: `days` by default, overridden per region.
struct Retention {
    static constexpr std::string_view kExtensionKey = "retention";

    std::string column;  ///< the Date/DateTime column the age is measured on
    int days = 0;
    std::map<std::string, int> region_days;

    int daysFor(const std::string& region) const {
        auto it = region_days.find(region);
        return it == region_days.end() ? days : it->second;
    }

    bool operator==(const Retention&) const = default;
};

/// The table's retention policy, nullptr when its rows are kept for ever.
const Retention* policyOf(const topology::Table& table);

}  // namespace chfleet::retention
