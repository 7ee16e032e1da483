// `chfleet residency`: set, import, list, audit.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>

#include "common/Command.h"
#include "common/Exception.h"
#include "common/Files.h"
#include "common/Log.h"
#include "ingest/IngestSection.h"
#include "ingest/route/RegionMap.h"
#include "residency/Residency.h"

namespace chfleet::residency {

using ingest::ingestConfig;
using ingest::mappingTable;
using ingest::RegionMap;

namespace {

auto logger() {
    return log::get("residency");
}

constexpr size_t kDryRunRowsShown = 20;

/// "1 row", "2 rows".
std::string rowCount(uint64_t rows) {
    return fmt::format("{} row{}", rows, rows == 1 ? "" : "s");
}

std::string readMappingFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw Exception(ErrorCode::IoError, "cannot read mapping file {}: {}", path, std::strerror(errno));
    }
    std::ostringstream content;
    content << in.rdbuf();
    return content.str();
}

/// Prints one line per copy written and returns the exit code: 0 when every copy took the rows.
int reportWrites(const topology::Fleet& fleet, const std::vector<MappingRow>& rows,
                 const std::vector<RegionWrite>& writes, bool dry_run) {
    if (dry_run) {
        std::map<std::string, size_t> per_region;
        for (const auto& row : rows) {
            ++per_region[row.region];
        }
        std::string counts;
        for (const auto& [region, count] : per_region) {
            counts += fmt::format("{}{}: {}", counts.empty() ? "" : ", ", region, count);
        }
        std::cout << fmt::format("dry run: would write {} of the mapping ({})", rowCount(rows.size()),
                                 counts);
        std::cout << fmt::format(", with one new updated_at, into every copy of {}:\n",
                                 ingestConfig(fleet).mapping_table);
        for (const auto& write : writes) {
            std::cout << fmt::format("  {:<10} {:<16} {}.{} (insert_distributed_sync=1)\n", write.site,
                                     write.region, fleet.schema.database, write.table);
        }
        std::cout << "rows:\n";
        for (size_t i = 0; i < rows.size() && i < kDryRunRowsShown; ++i) {
            std::cout << fmt::format("  {}\t{}\n", rows[i].company, rows[i].region);
        }
        if (rows.size() > kDryRunRowsShown) {
            std::cout << fmt::format("  ... and {} more\n", rows.size() - kDryRunRowsShown);
        }
        return 0;
    }
    std::vector<std::string> failed;
    for (const auto& write : writes) {
        if (write.ok) {
            std::cout << fmt::format("{:<10} {:<16} ok      {} via {}\n", write.site, write.region,
                                     rowCount(rows.size()), write.node);
        } else {
            std::cout << fmt::format("{:<10} {:<16} FAILED\n", write.site, write.region);
            for (const auto& error : write.errors) {
                std::cout << "    " << error << "\n";
            }
            failed.push_back(write.site + "/" + write.region);
        }
    }
    if (failed.empty()) {
        std::cout << fmt::format("wrote {} of the mapping to all {} copies (every region of every site)\n",
                                 rowCount(rows.size()), writes.size());
        return 0;
    }
    std::string names;
    for (const auto& name : failed) {
        names += (names.empty() ? "" : ", ") + name;
    }
    logger()->error(
        "the mapping rows were not written to {} of {} copies: {}. Run the same command again once those "
        "regions answer: writing again is safe (the mapping keeps the newest row of each company)",
        failed.size(), writes.size(), names);
    return serversExitCode(failed.size(), std::count_if(writes.begin(), writes.end(),
                                                        [](const RegionWrite& w) { return w.reached; }));
}

int listMapping(const topology::Fleet& fleet, const std::string& site, const std::string& region_filter,
                bool json) {
    std::optional<std::string> region;
    if (!region_filter.empty()) {
        region = resolveRegion(fleet, region_filter);
        if (!region) {
            throw Exception(ErrorCode::BadArguments, "--region {}: unknown region (regions: {})",
                            region_filter, describeRegions(fleet));
        }
    }
    RegionMap mapping(fleet, site, std::chrono::seconds(0));
    mapping.load();
    auto entries = mapping.entries();
    if (region) {
        std::erase_if(entries, [&](const auto& entry) { return entry.second != *region; });
    }
    if (json) {
        nlohmann::json companies = nlohmann::json::array();
        for (const auto& [company, company_region] : entries) {
            companies.push_back({{"company", company}, {"region", company_region}});
        }
        std::cout << nlohmann::json{{"read_from", mapping.loadedFrom()},
                                    {"count", entries.size()},
                                    {"companies", companies}}
                         .dump(2)
                  << "\n";
        return 0;
    }
    size_t width = 7;
    for (const auto& entry : entries) {
        width = std::max(width, std::min<size_t>(entry.first.size(), 40));
    }
    std::cout << fmt::format("{:<{}}  {}\n", "company", width, "region");
    for (const auto& [company, company_region] : entries) {
        std::cout << fmt::format("{:<{}}  {}\n", company, width, company_region);
    }
    std::cout << fmt::format("{} companies{} (read from {})\n", entries.size(),
                             region ? " in " + *region : std::string(), mapping.loadedFrom());
    return 0;
}

void printAudit(const AuditReport& report) {
    for (const auto& f : report.violations) {
        std::cout << fmt::format(
            "VIOLATION   {} {} shard {} ({}) {}: company {} {}: {}\n", f.where.site, f.where.region,
            f.where.shard, f.where.node, f.table, f.company,
            f.mapped_region ? "is mapped to " + *f.mapped_region
                            : "has no mapping and the table's default_region is " + f.expected_region,
            rowCount(f.rows));
    }
    for (const auto& f : report.unmapped) {
        std::cout << fmt::format("unmapped    {} {} shard {} ({}) {}: company {} has no mapping: {}\n",
                                 f.where.site, f.where.region, f.where.shard, f.where.node, f.table,
                                 f.company, rowCount(f.rows));
    }
    for (const auto& shard : report.unreachable) {
        std::cout << fmt::format("UNREACHABLE {} {} shard {}: no replica answered; not audited\n", shard.site,
                                 shard.region, shard.shard);
        for (const auto& error : shard.errors) {
            std::cout << "    " << error << "\n";
        }
    }
    uint64_t violating_rows = 0;
    for (const auto& f : report.violations) {
        violating_rows += f.rows;
    }
    std::set<std::string> unmapped;
    for (const auto& f : report.unmapped) {
        unmapped.insert(f.company);
    }
    std::cout << fmt::format(
        "audit of {} shards ({} tables, mapping of {} companies read from {}): {}: {} violations ({}), "
        "{} unmapped companies, {} shards not audited\n",
        report.shards_audited, report.tables.size(), report.mapped_companies, report.mapping_from,
        report.clean() ? "clean" : (report.violations.empty() ? "NOT PROVEN" : "VIOLATIONS"),
        report.violations.size(), rowCount(violating_rows), unmapped.size(), report.unreachable.size());
}

/// `chfleet residency` (residencyMain below is the entry main.cpp dispatches to).
int residencyCommand(const std::vector<std::string>& args) {
    CLI::App app{
        "Manages the company -> region mapping that decides where each company's rows live, and audits that\n"
        "every stored row is in its company's region.\n\n"
        "The mapping is the fleet's mapping table (ingest.mapping_table, default company_region_mapping):\n"
        "(company, region, updated_at), the newest row of a company wins. Every region of every site holds\n"
        "the whole mapping, so that `chfleet ingest serve` can read it from any region that is up: set and\n"
        "import write each row through every region's <mapping>_<alias>_distributed table of every site\n"
        "(insert_distributed_sync=1: success means the shards committed it). If a copy fails the command\n"
        "says which and exits 1; running it again is safe.\n\n"
        "The audit counts, on every shard (one replica, the next if it does not answer), the rows per\n"
        "company of every table with a region key (the mapping itself excepted: it is everywhere by design)\n"
        "and reports rows of a company stored outside its mapped region. Rows of companies with no mapping\n"
        "are listed apart (a warning), unless the table has a default_region and they are elsewhere.\n\n"
        "Examples:\n"
        "  chfleet residency set -f .sandbox/fleet.yaml acme-gmbh eu-central-1\n"
        "  chfleet residency set -f .sandbox/fleet.yaml acme-inc us --dry-run\n"
        "  chfleet residency import -f .sandbox/fleet.yaml companies.csv      # lines: company,region\n"
        "  chfleet residency list -f .sandbox/fleet.yaml --region eu\n"
        "  chfleet residency audit -f .sandbox/fleet.yaml --json\n\n"
        "Exit codes: 0 done / audit clean; 1 a copy was not written / audit found violations or could not\n"
        "read a shard; 2 bad arguments or bad lines in the mapping file (nothing written); 4 invalid fleet\n"
        "file; 5 no region answered when reading the mapping. Reference: docs/ingest.md.",
        "chfleet residency"};
    addCommonOptions(app);
    app.require_subcommand(1);
    std::string file;
    bool json = false;
    bool dry_run = false;
    std::string site;
    std::string metrics_file;
    std::string region_filter;
    auto add_file = [&file](CLI::App* command) { addFleetFileOption(*command, file); };

    std::string company;
    std::string region;
    auto* set = app.add_subcommand(
        "set", "map one company to a region (a name or alias), in every copy of the mapping");
    add_file(set);
    set->add_option("company", company, "the company id (the value of the tables' region key)")->required();
    set->add_option("region", region, "region name or alias, e.g. eu-central-1 or eu")->required();
    set->add_flag("--dry-run", dry_run, "print what would be written, and where; write nothing");

    std::string csv_file;
    auto* import = app.add_subcommand(
        "import",
        "map many companies at once from a CSV file of company,region lines; one INSERT per copy. Every bad "
        "line is reported as file:line and nothing is written while there is one");
    add_file(import);
    import
        ->add_option("csv", csv_file,
                     "the CSV file: company,region per line, optional header "
                     "company_id,region, \"quoted\" fields, empty lines skipped")
        ->required()
        ->check(CLI::ExistingFile);
    import->add_flag("--dry-run", dry_run, "check the file and print what would be written; write nothing");

    auto* list = app.add_subcommand("list", "print the mapping: company and region, sorted by company");
    add_file(list);
    list->add_option("--region", region_filter, "only companies of this region (name or alias)");
    list->add_option("--site", site, "read this site's copy first (default: the first site's)");
    list->add_flag("--json", json, "machine-readable output");

    auto* audit = app.add_subcommand(
        "audit",
        "find rows stored outside their company's region on every shard; exit 1 on any violation or on a "
        "shard that could not be read");
    add_file(audit);
    audit->add_option("--site", site, "only this site (its copy of the mapping is read first)");
    audit->add_flag("--json", json, "machine-readable output (shape: docs/ingest.md)");
    audit->add_option("--metrics-file", metrics_file,
                      "also write chfleet_residency_misplaced_rows per site, region and table to this file "
                      "(replaced atomically; for node_exporter's textfile collector)");

    return runCommand(app, args, [&]() -> int {
        auto fleet = topology::loadFleet(file);
        mappingTable(fleet);  // fails early, with the fix, when the fleet has none
        if (set->parsed()) {
            if (std::string problem = companyProblem(company); !problem.empty()) {
                throw Exception(ErrorCode::BadArguments, "{}", problem);
            }
            auto region_name = resolveRegion(fleet, region);
            if (!region_name) {
                throw Exception(ErrorCode::BadArguments, "unknown region '{}' (regions: {})", region,
                                describeRegions(fleet));
            }
            std::vector<MappingRow> rows{MappingRow{company, *region_name, 0}};
            return reportWrites(fleet, rows, writeMapping(fleet, rows, dry_run), dry_run);
        }
        if (import->parsed()) {
            auto rows = parseMappingCsv(readMappingFile(csv_file), csv_file, fleet);
            if (rows.empty()) {
                throw Exception(ErrorCode::BadArguments,
                                "{} holds no mapping rows (lines company,region); nothing to import",
                                csv_file);
            }
            return reportWrites(fleet, rows, writeMapping(fleet, rows, dry_run), dry_run);
        }
        if (list->parsed()) {
            return listMapping(fleet, site, region_filter, json);
        }
        AuditOptions options;
        options.site = site;
        auto report = auditResidency(fleet, options);
        if (!metrics_file.empty()) {
            files::writeAtomically(metrics_file, auditMetricsText(fleet, report));
        }
        if (json) {
            std::cout << auditJson(report).dump(2) << "\n";
        } else {
            printAudit(report);
        }
        return report.violations.empty() ? serversExitCode(report.unreachable.size(), report.shards_audited)
                                         : static_cast<int>(ErrorCode::Failed);
    });
}

}  // namespace

}  // namespace chfleet::residency

namespace chfleet {

int residencyMain(const std::vector<std::string>& args) {
    return residency::residencyCommand(args);
}

}  // namespace chfleet
