#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "TestFleet.h"

namespace chfleet::testing {

/// Maps companies to regions through `chfleet residency import` on the binary's shared fleet.
inline void mapCompanies(const std::vector<std::pair<std::string, std::string>>& companies) {
    auto& fleet = FleetEnvironment::fleet();
    std::string path = fleet.sandbox().dir() + "/companies-" + std::to_string(::getpid()) + "-" +
                       std::to_string(std::rand()) + ".csv";
    {
        std::ofstream out(path);
        for (const auto& [company, region] : companies) {
            out << company << "," << region << "\n";
        }
    }
    auto imported = fleet.chfleet({"residency", "import", "-f", fleet.fleetPath(), path});
    ASSERT_EQ(imported.exit_code, 0) << imported.output;
}

}  // namespace chfleet::testing
