#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "topology/Fleet.h"

/// What `chfleet residency` does besides parsing its command line: writing the company -> region mapping to
/// every copy of it, reading mapping files, and auditing where each company's rows are stored.
namespace chfleet::residency {

/// The region name for a region name or alias of the fleet; nullopt when there is none.
std::optional<std::string> resolveRegion(const topology::Fleet& fleet, std::string_view name_or_alias);
/// "us-east-1 (alias us), eu-central-1 (alias eu)": the regions of the first site, for messages.
std::string describeRegions(const topology::Fleet& fleet);
/// Why `company` cannot be a company id ("" when it can): empty, spaces around it, control characters.
std::string companyProblem(std::string_view company);

/// One company -> region assignment.
struct MappingRow {
    std::string company;
    std::string region;  ///< region name
    int line = 0;        ///< where it was read (mapping files), 0 otherwise
};

/// Reads a mapping file: one `company,region` per line (region a name or alias), an optional first line
/// `company_id,region` (or `<region key>,region`, or `company,region`), RFC 4180 quoting ("a,b" and ""
/// inside quotes), CRLF or LF line ends, empty lines skipped. A company listed twice with the same region is
/// kept once. Every bad line is reported, as "<file_name>:<line>: <what>", in one
/// Exception(BadArguments) (at most 50 lines, then how many more); nothing is returned then.
std::vector<MappingRow> parseMappingCsv(std::string_view text, const std::string& file_name,
                                        const topology::Fleet& fleet);

/// The outcome of writing the mapping rows to one region of one site.
struct RegionWrite {
    std::string site;
    std::string region;
    std::string table;  ///< the regional Distributed table written through
    std::string node;   ///< the node that took the rows ("" when none did, or on a dry run)
    bool ok = false;
    bool reached = false;             ///< a node of the copy answered (even with an error)
    std::vector<std::string> errors;  ///< one per node tried and failed
};

/// The `updated_at` a write uses: now, or one second past the newest `updated_at` any copy holds when that is
/// later, so that a write always supersedes every earlier one, even within the same second.
/// `newest_known` is a unix time (0: none known).
int64_t nextUpdatedAt(int64_t now, int64_t newest_known);

/// The TabSeparated body of an INSERT of `rows` (company, region, updated_at as a unix time).
std::string mappingTsv(const std::vector<MappingRow>& rows, int64_t updated_at);

/// Writes `rows` into every region of every site: one INSERT ... FORMAT TabSeparated per region into its
/// regional Distributed table with insert_distributed_sync=1 (so success means the shards committed), on the
/// first node of the region that takes it; regions in parallel. A failed region does not stop the others;
/// writing again is safe (ReplacingMergeTree(updated_at): the newest row of a company wins). `dry_run`:
/// nothing is sent, every region is reported as it would be written.
std::vector<RegionWrite> writeMapping(const topology::Fleet& fleet, const std::vector<MappingRow>& rows,
                                      bool dry_run);

/// Where rows sit in an audit: one shard of one region of one site, read on `node`.
struct ShardLocation {
    std::string site;
    std::string region;  ///< region name
    int shard = 0;
    std::string node;
};

/// Rows of one company in one table of one shard that the audit reports.
struct AuditFinding {
    ShardLocation where;
    std::string table;
    std::string company;
    std::optional<std::string> mapped_region;  ///< nullopt: the company has no mapping
    std::string expected_region;  ///< where the rows belong: the mapped region, or the table's default_region
    uint64_t rows = 0;
};

struct UnreachableShard {
    std::string site;
    std::string region;
    int shard = 0;
    std::vector<std::string> errors;  ///< one per replica tried
};

struct AuditOptions {
    std::string site;  ///< only this site ("" = every site); its copy of the mapping is read first
};

/// The result of `chfleet residency audit`.
struct AuditReport {
    std::string mapping_from;  ///< "site/region" the mapping was read from
    size_t mapped_companies = 0;
    std::vector<std::string> sites;
    std::vector<std::string> tables;  ///< the logical tables audited
    size_t shards_audited = 0;
    /// Rows of a company stored outside its mapped region, or (unmapped) outside its table's default_region.
    std::vector<AuditFinding> violations;
    /// Rows of companies with no mapping, in tables without a default_region or in the default region.
    std::vector<AuditFinding> unmapped;
    std::vector<UnreachableShard> unreachable;

    /// No violation and every shard audited.
    bool clean() const { return violations.empty() && unreachable.empty(); }
};

/// The logical tables the audit reads: every table and materialized view with a region key, except the
/// mapping table (which every region holds in full by design).
std::vector<const topology::Table*> auditedTables(const topology::Fleet& fleet);

/// Sorts one table's per-company row counts on one shard into `report` (violations and unmapped).
void classifyShardRows(const ShardLocation& where, const topology::Table& table,
                       const std::vector<std::pair<std::string, uint64_t>>& counts,
                       const std::function<std::optional<std::string>(std::string_view)>& region_of,
                       AuditReport& report);

/// Reads the mapping (options.site's copy first), then on every shard of every region of every site (one
/// replica, failing over to the next) counts each audited table's rows per company and classifies them.
AuditReport auditResidency(const topology::Fleet& fleet, const AuditOptions& options);

/// The gauge `residency audit --metrics-file` writes and the rule ChfleetResidencyViolation reads.
inline constexpr std::string_view kMisplacedRowsMetric = "chfleet_residency_misplaced_rows";

/// The audit as Prometheus text (kMisplacedRowsMetric): per audited site, region (where the rows sit) and
/// table, the rows of companies stored outside their region; 0 for every one without a violation, so that an
/// alert resolves once the rows are gone.
std::string auditMetricsText(const topology::Fleet& fleet, const AuditReport& report);

/// The report as `chfleet residency audit --json` prints it (the shape is documented in docs/ingest.md).
nlohmann::json auditJson(const AuditReport& report);

}  // namespace chfleet::residency
