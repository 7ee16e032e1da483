#include "residency/Residency.h"

#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <future>
#include <map>
#include <set>
#include <tuple>

#include "clickhouse/HttpConnection.h"
#include "clickhouse/Quoting.h"
#include "clickhouse/Result.h"
#include "clickhouse/WholeBody.h"
#include "common/Exception.h"
#include "common/Log.h"
#include "common/Text.h"
#include "ingest/IngestSection.h"
#include "ingest/route/RegionMap.h"
#include "topology/NodeConnection.h"

namespace chfleet::residency {

using ingest::briefError;
using ingest::defaultRegion;
using ingest::ingestConfig;
using ingest::mappingTable;
using ingest::nodeUnreachable;
using ingest::RegionMap;

namespace {

auto logger() {
    return log::get("residency");
}

constexpr size_t kMaxReportedLines = 50;

/// Splits one CSV record (RFC 4180, without line breaks inside quotes) into `fields`; returns what is wrong
/// with it, or "".
std::string splitCsvLine(std::string_view line, std::vector<std::string>& fields) {
    fields.clear();
    size_t i = 0;
    while (true) {
        std::string field;
        if (i < line.size() && line[i] == '"') {
            ++i;
            while (true) {
                if (i >= line.size()) {
                    return "a quoted field is not closed (a quote inside quotes is written twice: \"\")";
                }
                if (line[i] == '"') {
                    if (i + 1 < line.size() && line[i + 1] == '"') {
                        field += '"';
                        i += 2;
                        continue;
                    }
                    ++i;
                    break;
                }
                field += line[i++];
            }
            if (i < line.size() && line[i] != ',') {
                return fmt::format("unexpected text after a quoted field at column {}", i + 1);
            }
        } else {
            while (i < line.size() && line[i] != ',') {
                if (line[i] == '"') {
                    return fmt::format(
                        "a quote inside an unquoted field at column {} (quote the whole field and double "
                        "the quote)",
                        i + 1);
                }
                field += line[i++];
            }
        }
        fields.push_back(std::move(field));
        if (i >= line.size()) {
            return "";
        }
        ++i;  // the comma
    }
}

/// One copy of the mapping to write: a region of a site.
struct Target {
    std::string site;
    std::string region;
    std::string table;
    std::vector<std::pair<std::string, clickhouse::HttpEndpoint>> nodes;  ///< name, endpoint
};

std::vector<Target> targetsOf(const topology::Fleet& fleet, const topology::Table& table) {
    std::vector<Target> targets;
    for (const auto& site : fleet.sites) {
        for (const auto& region : site.regions) {
            Target target{site.name, region.name, table.regionalName(region), {}};
            for (const auto& node : region.nodes) {
                target.nodes.emplace_back(node.name, topology::endpointFor(fleet, node));
            }
            targets.push_back(std::move(target));
        }
    }
    return targets;
}

/// The newest updated_at (unix time) a copy holds, 0 when it is empty, nullopt when no node of it answered.
std::optional<int64_t> newestUpdatedAt(const topology::Fleet& fleet, const Target& target) {
    std::string sql =
        fmt::format("SELECT toUInt32(max({})) FROM {}", clickhouse::quoteIdentifier("updated_at"),
                    clickhouse::qualifiedName(fleet.schema.database, target.table));
    for (const auto& [name, endpoint] : target.nodes) {
        try {
            clickhouse::HttpConnection connection(endpoint);
            return std::stoll(clickhouse::scalar(connection, sql));
        } catch (const Exception& e) {
            logger()->debug("could not read the newest updated_at of {} on {}: {}", target.table, name,
                            briefError(e));
            if (!nodeUnreachable(e)) {
                break;
            }
        }
    }
    return std::nullopt;
}

/// Writes `body`, rows framed as one block (clickhouse::wholeBody), with `insert` on the first node of
/// `target` that answers.
RegionWrite writeTarget(const std::string& insert, const std::string& body, const Target& target) {
    RegionWrite write{target.site, target.region, target.table, "", false, false, {}};
    for (const auto& [name, endpoint] : target.nodes) {
        try {
            clickhouse::HttpConnection connection(endpoint);
            connection.execute(insert, body,
                               {{"insert_distributed_sync", "1"}, {clickhouse::kDecompressParameter, "1"}});
            write.node = name;
            write.ok = true;
            write.reached = true;
            return write;
        } catch (const Exception& e) {
            write.errors.push_back(fmt::format("{}: {}", name, briefError(e)));
            if (!nodeUnreachable(e)) {
                write.reached = true;
                break;  // the server answered: another node of the region would meet the same problem
            }
        }
    }
    return write;
}

}  // namespace

std::optional<std::string> resolveRegion(const topology::Fleet& fleet, std::string_view name_or_alias) {
    if (fleet.sites.empty()) {
        return std::nullopt;
    }
    for (const auto& region : fleet.sites.front().regions) {
        if (region.name == name_or_alias) {
            return region.name;
        }
    }
    for (const auto& region : fleet.sites.front().regions) {
        if (region.alias == name_or_alias) {
            return region.name;
        }
    }
    return std::nullopt;
}

std::string describeRegions(const topology::Fleet& fleet) {
    std::string text;
    if (!fleet.sites.empty()) {
        for (const auto& region : fleet.sites.front().regions) {
            text += (text.empty() ? "" : ", ") + region.name +
                    (region.alias == region.name ? "" : " (alias " + region.alias + ")");
        }
    }
    return text;
}

std::string companyProblem(std::string_view company) {
    if (company.empty()) {
        return "the company id is empty";
    }
    if (std::isspace(static_cast<unsigned char>(company.front())) ||
        std::isspace(static_cast<unsigned char>(company.back()))) {
        return fmt::format("the company id '{}' has spaces around it", company);
    }
    for (char c : company) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
            return "the company id holds a control character";
        }
    }
    return "";
}

std::vector<MappingRow> parseMappingCsv(std::string_view text, const std::string& file_name,
                                        const topology::Fleet& fleet) {
    const std::string& key = mappingTable(fleet).region_key;
    if (text.substr(0, 3) == "\xEF\xBB\xBF") {
        text.remove_prefix(3);  // a UTF-8 byte order mark, as spreadsheets write it
    }
    std::vector<MappingRow> rows;
    std::map<std::string, size_t, std::less<>> index;  // company -> position in rows
    std::vector<std::string> problems;
    size_t problem_count = 0;
    auto report = [&](int line, const std::string& what) {
        if (++problem_count <= kMaxReportedLines) {
            problems.push_back(fmt::format("{}:{}: {}", file_name, line, what));
        }
    };
    std::vector<std::string> fields;
    bool first_record = true;
    int line_number = 0;
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find('\n', start);
        std::string_view line = text.substr(start, end == std::string_view::npos ? end : end - start);
        start = end == std::string_view::npos ? text.size() : end + 1;
        ++line_number;
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        if (line.empty()) {
            continue;
        }
        std::string error = splitCsvLine(line, fields);
        if (!error.empty()) {
            report(line_number, error);
            first_record = false;
            continue;
        }
        if (first_record) {
            first_record = false;
            if (fields.size() == 2 && text::equalsIgnoreCase(fields[1], "region") &&
                (text::equalsIgnoreCase(fields[0], key) || text::equalsIgnoreCase(fields[0], "company_id") ||
                 text::equalsIgnoreCase(fields[0], "company"))) {
                continue;  // the header
            }
        }
        if (fields.size() != 2) {
            report(line_number, fmt::format("expected 2 fields (company,region), found {}", fields.size()));
            continue;
        }
        if (std::string problem = companyProblem(fields[0]); !problem.empty()) {
            report(line_number, problem);
            continue;
        }
        auto region = resolveRegion(fleet, fields[1]);
        if (!region) {
            report(line_number,
                   fmt::format("unknown region '{}' (regions: {})", fields[1], describeRegions(fleet)));
            continue;
        }
        auto [it, inserted] = index.emplace(fields[0], rows.size());
        if (!inserted) {
            const MappingRow& first = rows[it->second];
            if (first.region != *region) {
                report(line_number,
                       fmt::format("company '{}' is listed again with region {} (line {} says {}); a company "
                                   "has one region",
                                   fields[0], *region, first.line, first.region));
            }
            continue;
        }
        rows.push_back(MappingRow{fields[0], *region, line_number});
    }
    if (problem_count > 0) {
        std::string message;
        for (const auto& problem : problems) {
            message += (message.empty() ? "" : "\n") + problem;
        }
        if (problem_count > problems.size()) {
            message += fmt::format("\n... and {} more bad lines", problem_count - problems.size());
        }
        message += fmt::format("\n{} bad lines in {}; nothing was written. Fix them and run the import again",
                               problem_count, file_name);
        throw Exception(ErrorCode::BadArguments, message);
    }
    return rows;
}

int64_t nextUpdatedAt(int64_t now, int64_t newest_known) {
    return std::max(now, newest_known + 1);
}

std::string mappingTsv(const std::vector<MappingRow>& rows, int64_t updated_at) {
    std::string body;
    std::string time = std::to_string(updated_at);
    for (const auto& row : rows) {
        body += clickhouse::escapeTsvField(row.company);
        body += '\t';
        body += clickhouse::escapeTsvField(row.region);
        body += '\t';
        body += time;
        body += '\n';
    }
    return body;
}

std::vector<RegionWrite> writeMapping(const topology::Fleet& fleet, const std::vector<MappingRow>& rows,
                                      bool dry_run) {
    const topology::Table& table = mappingTable(fleet);
    std::vector<RegionWrite> writes;
    if (dry_run) {
        // No endpoints: a dry run neither connects nor reads the password.
        for (const auto& site : fleet.sites) {
            for (const auto& region : site.regions) {
                writes.push_back(
                    RegionWrite{site.name, region.name, table.regionalName(region), "", true, false, {}});
            }
        }
        return writes;
    }
    std::vector<Target> targets = targetsOf(fleet, table);
    // Every copy is asked for its newest updated_at first, so that this write supersedes all earlier ones
    // wherever they landed, even within the same second.
    std::vector<std::future<std::optional<int64_t>>> newest;
    for (const auto& target : targets) {
        newest.push_back(
            std::async(std::launch::async, [&fleet, &target] { return newestUpdatedAt(fleet, target); }));
    }
    int64_t newest_known = 0;
    for (auto& future : newest) {
        newest_known = std::max(newest_known, future.get().value_or(0));
    }
    int64_t now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    int64_t updated_at = nextUpdatedAt(now, newest_known);
    std::string columns =
        fmt::format("{}, {}, {}", clickhouse::quoteIdentifier(table.region_key),
                    clickhouse::quoteIdentifier("region"), clickhouse::quoteIdentifier("updated_at"));
    // One block (WholeBody.h): a write cut short stores nothing, never a company or region name cut short.
    std::string body = clickhouse::wholeBody(mappingTsv(rows, updated_at));
    std::vector<std::future<RegionWrite>> pending;
    for (const auto& target : targets) {
        std::string insert =
            fmt::format("INSERT INTO {} ({}) FORMAT TabSeparated",
                        clickhouse::qualifiedName(fleet.schema.database, target.table), columns);
        pending.push_back(std::async(std::launch::async,
                                     [insert, &body, &target] { return writeTarget(insert, body, target); }));
    }
    for (auto& future : pending) {
        writes.push_back(future.get());
    }
    return writes;
}

std::vector<const topology::Table*> auditedTables(const topology::Fleet& fleet) {
    std::vector<const topology::Table*> tables;
    for (const auto& table : fleet.schema.tables) {
        if (!table.region_key.empty() && table.name != ingestConfig(fleet).mapping_table) {
            tables.push_back(&table);
        }
    }
    return tables;
}

void classifyShardRows(const ShardLocation& where, const topology::Table& table,
                       const std::vector<std::pair<std::string, uint64_t>>& counts,
                       const std::function<std::optional<std::string>(std::string_view)>& region_of,
                       AuditReport& report) {
    for (const auto& [company, rows] : counts) {
        AuditFinding finding{where, table.name, company, region_of(company), "", rows};
        if (finding.mapped_region) {
            if (*finding.mapped_region != where.region) {
                finding.expected_region = *finding.mapped_region;
                report.violations.push_back(std::move(finding));
            }
        } else {
            finding.expected_region = defaultRegion(table);
            if (!defaultRegion(table).empty() && defaultRegion(table) != where.region) {
                report.violations.push_back(std::move(finding));
            } else {
                report.unmapped.push_back(std::move(finding));
            }
        }
    }
}

AuditReport auditResidency(const topology::Fleet& fleet, const AuditOptions& options) {
    if (!options.site.empty() && fleet.site(options.site) == nullptr) {
        throw Exception(ErrorCode::BadArguments, "no site '{}' in {}", options.site, fleet.source_path);
    }
    RegionMap mapping(fleet, options.site, std::chrono::seconds(0));
    mapping.load();
    AuditReport report;
    report.mapping_from = mapping.loadedFrom();
    report.mapped_companies = mapping.size();
    auto tables = auditedTables(fleet);
    for (const auto* table : tables) {
        report.tables.push_back(table->name);
    }
    auto region_of = [&mapping](std::string_view company) { return mapping.regionOf(company); };
    for (const auto& site : fleet.sites) {
        if (!options.site.empty() && site.name != options.site) {
            continue;
        }
        report.sites.push_back(site.name);
        for (const auto& region : site.regions) {
            for (int shard = 1; shard <= region.shards; ++shard) {
                UnreachableShard failed{site.name, region.name, shard, {}};
                bool audited = false;
                for (int replica = 1; replica <= region.replicas && !audited; ++replica) {
                    const topology::Node* node = region.node(shard, replica);
                    if (node == nullptr) {
                        continue;
                    }
                    try {
                        auto connection = topology::connectTo(fleet, *node);
                        // Every table is read before anything is classified, so that a replica failing
                        // half-way contributes nothing and the next one is read in full.
                        std::vector<std::vector<std::pair<std::string, uint64_t>>> counts;
                        for (const auto* table : tables) {
                            std::string key = clickhouse::quoteIdentifier(table->region_key);
                            auto result = clickhouse::query(
                                *connection,
                                fmt::format(
                                    "SELECT toString({}) AS company, count() AS row_count FROM {} "
                                    "GROUP BY company ORDER BY company",
                                    key,
                                    clickhouse::qualifiedName(fleet.schema.database, table->localName())));
                            auto& table_counts = counts.emplace_back();
                            for (size_t row = 0; row < result.rowCount(); ++row) {
                                table_counts.emplace_back(result.getString(row, "company"),
                                                          result.getUInt64(row, "row_count"));
                            }
                        }
                        ShardLocation where{site.name, region.name, shard, node->name};
                        for (size_t t = 0; t < tables.size(); ++t) {
                            classifyShardRows(where, *tables[t], counts[t], region_of, report);
                        }
                        audited = true;
                    } catch (const Exception& e) {
                        failed.errors.push_back(fmt::format("{}: {}", node->name, briefError(e)));
                    }
                }
                if (audited) {
                    ++report.shards_audited;
                } else {
                    report.unreachable.push_back(std::move(failed));
                }
            }
        }
    }
    return report;
}

nlohmann::json auditJson(const AuditReport& report) {
    auto finding = [](const AuditFinding& f, bool violation) {
        nlohmann::json item{{"site", f.where.site}, {"region", f.where.region}, {"shard", f.where.shard},
                            {"node", f.where.node}, {"table", f.table},         {"company", f.company},
                            {"rows", f.rows}};
        if (violation) {
            item["mapped_region"] = f.mapped_region ? nlohmann::json(*f.mapped_region) : nlohmann::json();
            item["expected_region"] = f.expected_region;
        } else {
            item["default_region"] =
                f.expected_region.empty() ? nlohmann::json() : nlohmann::json(f.expected_region);
        }
        return item;
    };
    nlohmann::json violations = nlohmann::json::array();
    uint64_t violating_rows = 0;
    for (const auto& f : report.violations) {
        violations.push_back(finding(f, true));
        violating_rows += f.rows;
    }
    nlohmann::json unmapped = nlohmann::json::array();
    uint64_t unmapped_rows = 0;
    std::set<std::string> unmapped_companies;
    for (const auto& f : report.unmapped) {
        unmapped.push_back(finding(f, false));
        unmapped_rows += f.rows;
        unmapped_companies.insert(f.company);
    }
    nlohmann::json unreachable = nlohmann::json::array();
    for (const auto& shard : report.unreachable) {
        unreachable.push_back({{"site", shard.site},
                               {"region", shard.region},
                               {"shard", shard.shard},
                               {"errors", shard.errors}});
    }
    return nlohmann::json{
        {"clean", report.clean()},
        {"mapping", {{"read_from", report.mapping_from}, {"companies", report.mapped_companies}}},
        {"sites", report.sites},
        {"tables", report.tables},
        {"shards_audited", report.shards_audited},
        {"violations", violations},
        {"unmapped", unmapped},
        {"unreachable_shards", unreachable},
        {"totals",
         {{"violations", report.violations.size()},
          {"violating_rows", violating_rows},
          {"unmapped_companies", unmapped_companies.size()},
          {"unmapped_rows", unmapped_rows},
          {"unreachable_shards", report.unreachable.size()}}}};
}

std::string auditMetricsText(const topology::Fleet& fleet, const AuditReport& report) {
    std::map<std::tuple<std::string, std::string, std::string>, uint64_t> rows;
    for (const auto& site_name : report.sites) {
        const auto* site = fleet.site(site_name);
        if (site == nullptr) {
            continue;
        }
        for (const auto& region : site->regions) {
            for (const auto& table : report.tables) {
                rows[{site_name, region.name, table}] = 0;
            }
        }
    }
    for (const auto& violation : report.violations) {
        rows[{violation.where.site, violation.where.region, violation.table}] += violation.rows;
    }
    prometheus::Registry registry;
    auto& misplaced = prometheus::BuildGauge()
                          .Name(std::string(kMisplacedRowsMetric))
                          .Help("Rows stored outside their company's region, found by the last audit")
                          .Register(registry);
    for (const auto& [where, count] : rows) {
        const auto& [site, region, table] = where;
        misplaced.Add({{"site", site}, {"region", region}, {"table", table}}).Set(static_cast<double>(count));
    }
    return prometheus::TextSerializer().Serialize(registry.Collect());
}

}  // namespace chfleet::residency
