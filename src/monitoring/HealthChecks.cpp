#include "monitoring/HealthChecks.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <system_error>

#include "clickhouse/HttpConnection.h"
#include "clickhouse/Quoting.h"
#include "clickhouse/Result.h"
#include "common/Exception.h"
#include "monitoring/CapabilityMetrics.h"
#include "sync/SyncState.h"
#include "topology/FleetFile.h"
#include "topology/NodeConnection.h"

namespace chfleet::monitoring {

namespace {

void add(std::vector<Finding>& findings, Severity severity, std::string check, std::string subject,
         std::string message, std::string runbook = "") {
    findings.push_back(
        {severity, std::move(check), std::move(subject), std::move(message), std::move(runbook)});
}

std::string shardName(const topology::Node& node) {
    return fmt::format("{}/{}/shard {}", node.site, node.region, node.shard);
}

void checkNodes(const HealthContext& c, std::vector<Finding>& findings) {
    int down = 0;
    for (const auto& read : c.reads) {
        if (!read.up) {
            ++down;
            add(findings, Severity::Critical, "nodes", read.node->name,
                fmt::format("down ({}): {}", shardName(*read.node), read.error), "shard-offline");
            continue;
        }
        for (const auto& error : read.snapshot.read_errors) {
            add(findings, Severity::Warning, "nodes", read.node->name,
                "answers, but refused a read: " + error);
        }
        for (const auto& errors : read.snapshot.cluster_errors) {
            add(findings, Severity::Warning, "nodes", read.node->name,
                fmt::format("system.clusters: {} errors reaching {}:{} of cluster {}", errors.errors,
                            errors.host, errors.port, errors.cluster),
                "shard-offline");
        }
    }
    if (down == 0) {
        add(findings, Severity::Ok, "nodes", "fleet", fmt::format("all {} nodes answer", c.reads.size()));
    }
}

void checkReplication(const HealthContext& c, std::vector<Finding>& findings) {
    const auto& t = c.config.thresholds;
    size_t replicas = 0;
    size_t before = findings.size();
    for (const auto& read : c.reads) {
        for (const auto& r : read.snapshot.replicas) {
            ++replicas;
            std::string table = r.database + "." + r.table;
            if (r.is_readonly) {
                add(findings, Severity::Critical, "replication", read.node->name,
                    fmt::format("{} is read-only (inserts fail with Code 242)", table), "zookeeper-lost");
            }
            if (static_cast<int64_t>(r.absolute_delay) > t.replica_lag_seconds) {
                add(findings, Severity::Critical, "replication", read.node->name,
                    fmt::format("{} lags {} s (threshold {} s)", table, r.absolute_delay,
                                t.replica_lag_seconds),
                    "replica-lag");
            }
            if (static_cast<int64_t>(r.queue_size) > t.replication_queue) {
                add(findings, Severity::Warning, "replication", read.node->name,
                    fmt::format("{} has {} entries in its replication queue (threshold {})", table,
                                r.queue_size, t.replication_queue),
                    "replication-queue");
            }
        }
    }
    if (findings.size() == before) {
        add(findings, Severity::Ok, "replication", "fleet",
            fmt::format("{} replicas: none read-only, lag within {} s, queues within {}", replicas,
                        t.replica_lag_seconds, t.replication_queue));
    }
}

void checkZooKeeper(const HealthContext& c, std::vector<Finding>& findings) {
    size_t before = findings.size();
    for (const auto& read : c.reads) {
        if (read.up && read.snapshot.zookeeper_connected == false) {
            add(findings, Severity::Critical, "zookeeper", read.node->name,
                "the ZooKeeper session is lost (replicated tables are read-only until it is back)",
                "zookeeper-lost");
        }
    }
    if (findings.size() == before) {
        add(findings, Severity::Ok, "zookeeper", "fleet",
            "every node that answers has its ZooKeeper session");
    }
}

void checkDisks(const HealthContext& c, std::vector<Finding>& findings) {
    const int64_t threshold = c.config.thresholds.disk_used_percent;
    size_t before = findings.size();
    for (const auto& read : c.reads) {
        if (!read.up) {
            continue;
        }
        if (read.snapshot.disks.empty()) {
            add(findings, Severity::Info, "disk", read.node->name, read.snapshot.disk_note, "disk-usage");
        }
        for (const auto& disk : read.snapshot.disks) {
            if (disk.total_bytes == 0) {
                continue;
            }
            double used = 100.0 * static_cast<double>(disk.total_bytes - disk.free_bytes) /
                          static_cast<double>(disk.total_bytes);
            if (used > static_cast<double>(threshold)) {
                add(findings, Severity::Warning, "disk", read.node->name,
                    fmt::format("disk {} is {:.1f}% used (threshold {}%, from {})", disk.name, used,
                                threshold, disk.source),
                    "disk-usage");
            }
        }
    }
    if (findings.size() == before) {
        add(findings, Severity::Ok, "disk", "fleet",
            fmt::format("every disk read is under {}% used", threshold));
    }
}

void checkQueries(const HealthContext& c, std::vector<Finding>& findings) {
    const int64_t threshold = c.config.thresholds.query_p99_seconds;
    std::vector<std::string> log_off;
    size_t before = findings.size();
    for (const auto& read : c.reads) {
        if (!read.up) {
            continue;
        }
        if (!read.snapshot.recent) {
            log_off.push_back(read.node->name);
            continue;
        }
        const auto& latency = *read.snapshot.recent;
        if (latency.queries > 0 && latency.p99_seconds > static_cast<double>(threshold)) {
            add(findings, Severity::Warning, "queries", read.node->name,
                fmt::format("last hour: {} queries, p95 {:.3f} s, p99 {:.3f} s (threshold p99 {} s)",
                            latency.queries, latency.p95_seconds, latency.p99_seconds, threshold),
                "slow-queries");
        } else if (latency.queries > 0) {
            add(findings, Severity::Ok, "queries", read.node->name,
                fmt::format("last hour: {} queries, p95 {:.3f} s, p99 {:.3f} s", latency.queries,
                            latency.p95_seconds, latency.p99_seconds));
        }
    }
    if (!log_off.empty()) {
        add(findings, Severity::Info, "queries", topology::joinNames(log_off),
            "the query log is off (log_queries=0): no latency figures", "slow-queries");
    } else if (findings.size() == before) {
        add(findings, Severity::Ok, "queries", "fleet", "no queries in the last hour");
    }
}

/// The companies with the most rows on a shard's first replica that answers.
std::string topCompanies(const HealthContext& c, const topology::Table& table, const topology::Node& node) {
    if (table.region_key.empty()) {
        return "";
    }
    auto endpoint = topology::endpointFor(c.fleet, node);
    endpoint.total_timeout = std::chrono::milliseconds(c.config.exporter_timeout_ms * 4);
    clickhouse::HttpConnection connection(endpoint);
    auto top = clickhouse::query(
        connection, fmt::format("SELECT toString({0}) AS company, count() AS rows FROM {1} GROUP BY {0} "
                                "ORDER BY rows DESC LIMIT 5",
                                clickhouse::quoteIdentifier(table.region_key),
                                clickhouse::qualifiedName(c.fleet.schema.database, table.localName())));
    std::vector<std::string> companies;
    for (size_t r = 0; r < top.rowCount(); ++r) {
        companies.push_back(
            fmt::format("{} ({} rows)", top.getString(r, "company"), top.getUInt64(r, "rows")));
    }
    return topology::joinNames(companies);
}

void checkShardBalance(const HealthContext& c, std::vector<Finding>& findings) {
    const auto& t = c.config.thresholds;
    for (const auto& site : c.fleet.sites) {
        for (const auto& region : site.regions) {
            if (region.shards < 2) {
                continue;
            }
            for (const auto& table : c.fleet.schema.tables) {
                if (table.kind != topology::TableKind::Table) {
                    continue;
                }
                // Rows per shard: the most any answering replica of it holds.
                std::map<int, uint64_t> rows;
                std::map<int, const topology::Node*> holder;
                for (const auto& read : c.reads) {
                    if (!read.up || read.node->site != site.name || read.node->region != region.name) {
                        continue;
                    }
                    for (const auto& parts : read.snapshot.tables) {
                        if (parts.database == c.fleet.schema.database && parts.table == table.localName() &&
                            parts.rows >= rows[read.node->shard]) {
                            rows[read.node->shard] = parts.rows;
                            holder[read.node->shard] = read.node;
                        }
                    }
                }
                double total = 0, weights = 0;
                for (int shard = 1; shard <= region.shards; ++shard) {
                    total += static_cast<double>(rows[shard]);
                    weights += region.weight(shard);
                }
                if (total < static_cast<double>(t.shard_balance_min_rows) || total == 0) {
                    continue;
                }
                int hot = 1;
                double worst = 0;
                for (int shard = 1; shard <= region.shards; ++shard) {
                    double share = static_cast<double>(rows[shard]) / region.weight(shard);
                    double imbalance = (share / (total / weights) - 1.0) * 100.0;
                    if (imbalance > worst) {
                        worst = imbalance;
                        hot = shard;
                    }
                }
                std::string subject = fmt::format("{}/{}/shard {}", site.name, region.name, hot);
                std::string what = fmt::format(
                    "{}: shard {} holds {:.1f}% more rows than its weighted share "
                    "({} of {:.0f} rows)",
                    table.name, hot, worst, rows[hot], total);
                if (worst > static_cast<double>(t.shard_imbalance_investigate_percent)) {
                    std::string companies;
                    if (holder.count(hot) > 0) {
                        try {
                            companies = topCompanies(c, table, *holder[hot]);
                        } catch (const Exception& e) {
                            companies = fmt::format("(not read: {})", e.what());
                        }
                    }
                    add(findings, Severity::Warning, "shard_balance", subject,
                        fmt::format("{} (over {}%: investigate); largest companies there: {}", what,
                                    t.shard_imbalance_investigate_percent, companies),
                        "shard-imbalance");
                } else if (worst >= static_cast<double>(t.shard_imbalance_percent)) {
                    add(findings, Severity::Info, "shard_balance", subject,
                        fmt::format("{} (between {}% and {}%: watch)", what, t.shard_imbalance_percent,
                                    t.shard_imbalance_investigate_percent),
                        "shard-imbalance");
                } else {
                    add(findings, Severity::Ok, "shard_balance", fmt::format("{}/{}", site.name, region.name),
                        fmt::format("{}: within {:.1f}% of the weighted share", table.name, worst));
                }
            }
        }
    }
}

void checkPartsAndMutations(const HealthContext& c, std::vector<Finding>& findings) {
    const auto& t = c.config.thresholds;
    uint64_t pending_total = 0;
    size_t before = findings.size();
    for (const auto& read : c.reads) {
        for (const auto& parts : read.snapshot.tables) {
            if (static_cast<int64_t>(parts.max_parts_per_partition) > t.parts_per_partition) {
                add(findings, Severity::Warning, "parts", read.node->name,
                    fmt::format(
                        "{}.{} has {} active parts in one partition (threshold {}): merges fall behind",
                        parts.database, parts.table, parts.max_parts_per_partition, t.parts_per_partition),
                    "replication-queue");
            }
        }
        for (const auto& m : read.snapshot.mutations) {
            pending_total += m.pending;
            std::string table = m.database + "." + m.table;
            if (m.failed > 0) {
                add(findings, Severity::Warning, "mutations", read.node->name,
                    fmt::format("{}: {} mutations failing (system.mutations.latest_fail_reason)", table,
                                m.failed),
                    "erasure-stuck");
            }
            if (m.pending > 0 &&
                static_cast<int64_t>(m.oldest_pending_age_seconds) > t.mutation_age_minutes * 60) {
                add(findings, Severity::Warning, "mutations", read.node->name,
                    fmt::format("{}: {} mutations pending, the oldest for {} min (threshold {} min)", table,
                                m.pending, m.oldest_pending_age_seconds / 60, t.mutation_age_minutes),
                    "erasure-stuck");
            }
        }
    }
    if (findings.size() == before) {
        add(findings, Severity::Ok, "mutations", "fleet",
            fmt::format("{} mutations pending, none older than {} min, none failing", pending_total,
                        t.mutation_age_minutes));
    }
}

/// The nodes of the pass that accepted a connection and never answered (a hung server): reading them again
/// without the pass's deadline would hold the report for the HTTP client's total timeout (minutes). A node
/// that refuses connections is no such risk.
std::vector<std::string> hungNodes(const HealthContext& c) {
    std::vector<std::string> hung;
    for (const auto& read : c.reads) {
        if (!read.up && read.error.rfind("no answer within", 0) == 0) {
            hung.push_back(read.node->name);
        }
    }
    return hung;
}

/// True (and an info finding) when `check` must not read the nodes now, because some hang.
bool skippedForHungNodes(const HealthContext& c, const std::string& check, const std::string& subject,
                         std::vector<Finding>& findings) {
    auto hung = hungNodes(c);
    if (hung.empty()) {
        return false;
    }
    add(findings, Severity::Info, check, subject,
        fmt::format("not judged: {} accept connections but do not answer (see nodes)",
                    topology::joinNames(hung)),
        "shard-offline");
    return true;
}

void checkErasures(const HealthContext& c, std::vector<Finding>& findings) {
    if (skippedForHungNodes(c, "erasures", "erase", findings)) {
        return;
    }
    auto state = readErasures(c.fleet, c.now);
    if (state.recorded == 0) {
        add(findings, Severity::Info, "erasures", "erase", "no erasure recorded in the ledger");
        return;
    }
    const int64_t threshold = c.config.thresholds.erasure_pending_hours;
    for (const auto& erasure : state.pending) {
        bool late = erasure.age_seconds > threshold * 3600;
        add(findings, late ? Severity::Critical : Severity::Info, "erasures", "erasure " + erasure.erasure,
            fmt::format("requested {} ({} h ago{}), pending on {}", erasure.requested_at,
                        erasure.age_seconds / 3600,
                        late ? fmt::format(", threshold {} h", threshold) : std::string(),
                        topology::joinNames(erasure.pending_nodes)),
            "erasure-stuck");
    }
    if (state.pending.empty()) {
        add(findings, Severity::Ok, "erasures", "erase",
            fmt::format("{} erasures recorded, all done on every node", state.recorded));
    }
}

void checkRetention(const HealthContext& c, std::vector<Finding>& findings) {
    if (skippedForHungNodes(c, "retention", "retention", findings)) {
        return;
    }
    const int64_t threshold = c.config.thresholds.retention_stalled_hours;
    auto report = readRetention(c.fleet, threshold);
    if (report.tables.empty()) {
        add(findings, Severity::Info, "retention", "retention",
            "no table of the schema has a retention policy");
        return;
    }
    size_t before = findings.size();
    for (const auto& table : report.tables) {
        if (table.stalled()) {
            add(findings, Severity::Warning, "retention", fmt::format("{}/{}", table.site, table.region),
                fmt::format("{}: {} expired partitions still present, overdue {} h (threshold {} h) on {}",
                            table.table, table.expired, table.overdue_seconds / 3600, threshold,
                            topology::joinNames(table.stalled_nodes)),
                "retention-stalled");
        }
    }
    if (findings.size() == before) {
        add(findings, Severity::Ok, "retention", "retention",
            fmt::format("{} tables per site and region: none overdue more than {} h", report.tables.size(),
                        threshold));
    }
}

void checkBackups(const HealthContext& c, std::vector<Finding>& findings) {
    auto backups = readBackups(c.fleet);
    if (backups.empty()) {
        add(findings, Severity::Info, "backups", "backup",
            "not configured (the fleet file's backup section names no repository)");
        return;
    }
    const int64_t threshold = c.config.thresholds.backup_age_hours;
    const int64_t now_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(c.now.time_since_epoch()).count();
    for (const auto& entry : backups) {
        if (!entry.stats) {
            add(findings, Severity::Warning, "backups", entry.region,
                "the repository's figures cannot be read: " + entry.error, "backup-failed");
            continue;
        }
        const auto& stats = *entry.stats;
        if (stats.last_failure_ms > stats.last_success_ms) {
            add(findings, Severity::Warning, "backups", entry.region,
                fmt::format("the last backup failed ({} failures in all){}", stats.failures,
                            stats.last_success_ms == 0 ? ", and none ever succeeded" : ""),
                "backup-failed");
        }
        if (stats.last_success_ms == 0) {
            add(findings, Severity::Critical, "backups", entry.region,
                fmt::format("no good backup in the repository (threshold {} h)", threshold), "backup-failed");
            continue;
        }
        int64_t age_hours = (now_ms - stats.last_success_ms) / 3'600'000;
        if (now_ms - stats.last_success_ms > threshold * 3'600'000) {
            add(findings, Severity::Critical, "backups", entry.region,
                fmt::format("the last good backup is {} h old (threshold {} h)", age_hours, threshold),
                "backup-failed");
        } else if (stats.last_failure_ms <= stats.last_success_ms) {
            add(findings, Severity::Ok, "backups", entry.region,
                fmt::format("the last good backup is {} h old ({} bytes, {:.1f} s)", age_hours,
                            stats.last_size_bytes, stats.last_duration_seconds));
        }
    }
}

void checkSync(const HealthContext& c, std::vector<Finding>& findings) {
    const auto& path = c.config.sync_state_file;
    if (path.empty()) {
        add(findings, Severity::Info, "dr_sync", "sync",
            c.fleet.sites.size() < 2 ? "the fleet has one site: no DR sync"
                                     : "not configured (monitoring.sync_state_file is not set)");
        return;
    }
    std::error_code error;
    if (!std::filesystem::exists(path, error)) {
        add(findings, Severity::Info, "dr_sync", "sync",
            fmt::format("no sync cycle has run yet ({} is absent)", path));
        return;
    }
    auto state = sync::loadSyncState(path);
    const int64_t deadline_minutes = c.config.thresholds.sync_not_clean_minutes;
    std::string active = state.active_site.empty() ? "unknown" : state.active_site;
    if (state.last_error) {
        add(findings, Severity::Warning, "dr_sync", "sync",
            fmt::format("the last cycle failed: {} (active site {})", *state.last_error, active),
            "failover-failback");
    }
    auto last_check = state.last_check ? sync::fromIsoUtc(*state.last_check) : std::nullopt;
    if (!last_check) {
        add(findings, Severity::Info, "dr_sync", "sync", "no sync cycle recorded yet");
        return;
    }
    auto age = std::chrono::duration_cast<std::chrono::minutes>(c.now - *last_check).count();
    if (age > deadline_minutes) {
        add(findings, Severity::Warning, "dr_sync", "sync",
            fmt::format("the last cycle was {} min ago (threshold {} min): is the daemon running?", age,
                        deadline_minutes),
            "failover-failback");
    } else if (!state.last_error) {
        add(findings, state.failback_ready ? Severity::Ok : Severity::Info, "dr_sync", "sync",
            fmt::format("active site {}, {} clean cycles in a row, failback {}ready, last cycle {} min ago",
                        active, state.consecutive_clean, state.failback_ready ? "" : "not ", age));
    }
}

void checkSpool(const HealthContext& c, std::vector<Finding>& findings) {
    const auto& dir = c.config.ingest_spool_dir;
    if (dir.empty()) {
        add(findings, Severity::Info, "ingest_spool", "ingest",
            "not configured (monitoring.ingest_spool_dir is not set)");
        return;
    }
    std::error_code error;
    if (!std::filesystem::is_directory(dir, error)) {
        add(findings, Severity::Info, "ingest_spool", "ingest",
            fmt::format("{} does not exist: nothing spooled", dir));
        return;
    }
    uint64_t bytes = 0;
    size_t files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
        if (entry.is_regular_file(error) && entry.path().filename() != "ledger.log") {
            bytes += entry.file_size(error);
            ++files;
        }
    }
    const int64_t threshold = c.config.thresholds.spool_bytes;
    add(findings, static_cast<int64_t>(bytes) > threshold ? Severity::Warning : Severity::Ok, "ingest_spool",
        "ingest", fmt::format("{} bytes in {} spool segments (threshold {} bytes)", bytes, files, threshold),
        "shard-offline");
}

}  // namespace

std::string_view severityName(Severity severity) {
    switch (severity) {
        case Severity::Ok:
            return "ok";
        case Severity::Info:
            return "info";
        case Severity::Warning:
            return "warning";
        case Severity::Critical:
            return "critical";
    }
    return "unknown";
}

const std::vector<HealthCheck>& healthChecks() {
    static const std::vector<HealthCheck> kChecks{
        {"nodes", checkNodes},
        {"replication", checkReplication},
        {"zookeeper", checkZooKeeper},
        {"disk", checkDisks},
        {"queries", checkQueries},
        {"shard_balance", checkShardBalance},
        {"mutations", checkPartsAndMutations},
        {"erasures", checkErasures},
        {"retention", checkRetention},
        {"backups", checkBackups},
        {"dr_sync", checkSync},
        {"ingest_spool", checkSpool},
    };
    return kChecks;
}

std::vector<Finding> runHealthChecks(const HealthContext& context) {
    std::vector<Finding> findings;
    for (const auto& check : healthChecks()) {
        try {
            check.run(context, findings);
        } catch (const std::exception& e) {
            add(findings, Severity::Warning, check.name, "chfleet",
                fmt::format("the check failed: {}", e.what()));
        }
    }
    return findings;
}

Severity worstSeverity(const std::vector<Finding>& findings) {
    Severity worst = Severity::Ok;
    for (const auto& finding : findings) {
        worst = std::max(worst, finding.severity);
    }
    return worst;
}

}  // namespace chfleet::monitoring
