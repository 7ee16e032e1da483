#include "retention/RetentionRun.h"

#include <algorithm>
#include <ctime>
#include <map>
#include <memory>
#include <set>

#include "clickhouse/Capabilities.h"
#include "clickhouse/Quoting.h"
#include "clickhouse/Result.h"
#include "common/Exception.h"
#include "common/Log.h"
#include "topology/NodeConnection.h"

namespace chfleet::retention {

using clickhouse::qualifiedName;
using clickhouse::quoteString;

namespace {

auto logger() {
    return log::get("retention");
}

/// One replica of a shard, read.
struct Replica {
    const topology::Node* node = nullptr;
    std::unique_ptr<clickhouse::Connection> connection;
    NodeFacts facts;
    bool ttl = false;
};

/// A partition as the union of a shard's replicas sees it.
struct ShardPartition {
    PartitionFacts facts;
    bool first = true;
};

std::string partitionList(const std::vector<std::string>& ids) {
    std::string text;
    for (const auto& id : ids) {
        text += (text.empty() ? "" : ", ") + id;
    }
    return text;
}

class RetentionPass {
  public:
    RetentionPass(const topology::Fleet& fleet, const RunOptions& options, bool act)
        : fleet_(fleet), options_(options), act_(act && !options.dry_run) {
        report_.now = options.now != 0 ? options.now : static_cast<uint64_t>(std::time(nullptr));
        report_.dry_run = !act_;
        report_.state_file = statePath(fleet, options.state_file);
    }

    RetentionReport run() {
        if (options_.site && fleet_.site(*options_.site) == nullptr) {
            throw Exception(ErrorCode::BadArguments, "no site named '{}' in {}", *options_.site,
                            fleet_.source_path);
        }
        RetentionState state = loadState(report_.state_file);
        for (const auto& site : fleet_.sites) {
            if (options_.site && site.name != *options_.site) {
                continue;
            }
            for (const auto& region : site.regions) {
                auto tables = retainedTables(fleet_, region.name);
                size_t first = report_.tables.size();
                for (const auto& table : tables) {
                    TableReport entry;
                    entry.site = site.name;
                    entry.region = region.name;
                    entry.table = table.table->name;
                    entry.days = table.days;
                    entry.horizon = horizonOf(table.days, report_.now);
                    report_.tables.push_back(std::move(entry));
                }
                for (int shard = 1; shard <= region.shards; ++shard) {
                    runShard(region, shard, tables, first);
                }
            }
        }
        for (auto& entry : report_.tables) {
            std::string key = stateKey(entry.site, entry.region, entry.table);
            if (act_) {
                state[key] = LastRun{report_.now, entry.dropped, entry.rows_dropped, entry.errors.empty()};
            }
            if (auto it = state.find(key); it != state.end()) {
                entry.last_run = it->second;
            }
        }
        if (act_) {
            saveState(report_.state_file, state);
        }
        return report_;
    }

  private:
    void runShard(const topology::Region& region, int shard, const std::vector<RetainedTable>& tables,
                  size_t first_entry) {
        std::vector<Replica> replicas;
        bool all_read = true;
        for (int number = 1; number <= region.replicas; ++number) {
            const topology::Node* node = region.node(shard, number);
            if (node == nullptr) {
                continue;
            }
            NodeReport node_report;
            node_report.node = node->name;
            node_report.site = node->site;
            node_report.region = region.name;
            node_report.shard = shard;
            Replica replica;
            replica.node = node;
            try {
                replica.connection = topology::connectTo(fleet_, *node);
                auto capabilities = clickhouse::detectCapabilities(*replica.connection);
                node_report.version = capabilities.version;
                node_report.ttl = replica.ttl = capabilities.ttl;
                replica.facts = readNodeFacts(*replica.connection, fleet_.schema.database, tables);
                node_report.queries = 1 + replica.facts.queries;
            } catch (const Exception& e) {
                node_report.reachable = false;
                node_report.error = e.what();
                all_read = false;
                logger()->warn("{}: cannot read it ({}); no partition of shard {} of {} is changed",
                               node->name, e.what(), shard, region.name);
            }
            for (size_t t = 0; t < tables.size() && node_report.reachable; ++t) {
                const auto& node_table = replica.facts.tables[tables[t].table->name];
                auto& entry = report_.tables[first_entry + t];
                bool stalled = false;
                for (const auto& [id, partition] : node_table.partitions) {
                    if (verdictOf(partition, tables[t].days, report_.now) != Verdict::Expired) {
                        continue;
                    }
                    uint64_t due = partition.newest + static_cast<uint64_t>(tables[t].days) * kSecondsPerDay;
                    entry.overdue_seconds =
                        std::max(entry.overdue_seconds, report_.now > due ? report_.now - due : 0);
                    stalled = stalled ||
                              isPastHorizon(partition.newest + static_cast<uint64_t>(options_.grace.count()),
                                            tables[t].days, report_.now);
                }
                if (stalled) {
                    node_report.stalled_tables.push_back(tables[t].table->name);
                    entry.stalled_nodes.push_back(node->name);
                }
            }
            report_.nodes.push_back(std::move(node_report));
            if (replica.connection != nullptr && report_.nodes.back().reachable) {
                replicas.push_back(std::move(replica));
            }
        }
        for (size_t t = 0; t < tables.size(); ++t) {
            runTable(region, shard, tables[t], replicas, all_read, report_.tables[first_entry + t]);
        }
    }

    void runTable(const topology::Region& region, int shard, const RetainedTable& table,
                  std::vector<Replica>& replicas, bool all_read, TableReport& entry) {
        const std::string& name = table.table->name;
        std::map<std::string, ShardPartition> partitions;
        std::string unknown_reason;
        bool has_ttl = false;
        for (auto& replica : replicas) {
            auto& node_table = replica.facts.tables[name];
            if (!node_table.unknown_reason.empty()) {
                unknown_reason = replica.node->name + ": " + node_table.unknown_reason;
            }
            has_ttl = has_ttl || (replica.ttl && node_table.has_ttl);
            for (const auto& [id, facts] : node_table.partitions) {
                auto& merged = partitions[id];
                if (merged.first) {
                    merged.facts = facts;
                    merged.first = false;
                    continue;
                }
                merged.facts.rows = std::max(merged.facts.rows, facts.rows);
                merged.facts.dated = merged.facts.dated && facts.dated;
                merged.facts.oldest = std::min(merged.facts.oldest, facts.oldest);
                merged.facts.newest = std::max(merged.facts.newest, facts.newest);
            }
        }
        std::vector<std::string> expired;
        std::vector<std::string> straddling;
        uint64_t expired_rows = 0;
        for (const auto& [id, partition] : partitions) {
            ++entry.partitions;
            Verdict verdict = unknown_reason.empty() ? verdictOf(partition.facts, table.days, report_.now)
                                                     : Verdict::Unknown;
            if (partition.facts.dated && (!entry.oldest || partition.facts.oldest < *entry.oldest)) {
                entry.oldest = partition.facts.oldest;
            }
            switch (verdict) {
                case Verdict::Expired:
                    ++entry.expired;
                    entry.expired_rows += partition.facts.rows;
                    expired_rows += partition.facts.rows;
                    expired.push_back(id);
                    break;
                case Verdict::Straddling:
                    ++entry.straddling;
                    straddling.push_back(id);
                    break;
                case Verdict::Unknown:
                    ++entry.unknown;
                    break;
                case Verdict::Keep:
                    break;
            }
        }
        std::string where = fmt::format("shard {} of {}", shard, region.name);
        if (!unknown_reason.empty() && !partitions.empty()) {
            entry.notes.push_back(fmt::format("{}: {} partition(s) kept, ages unknown: {}", where,
                                              partitions.size(), unknown_reason));
        }
        if (!straddling.empty()) {
            entry.notes.push_back(fmt::format("{}: partition(s) {} kept: rows on both sides of the horizon{}",
                                              where, partitionList(straddling),
                                              options_.trim ? "; their expired rows are trimmed" : ""));
        }
        if (expired.empty() && (straddling.empty() || !options_.trim)) {
            return;
        }
        if (!all_read) {
            entry.errors.push_back(where + ": a replica did not answer; nothing changed on this shard");
            return;
        }
        Replica& acting = replicas.front();
        std::string target = qualifiedName(fleet_.schema.database, table.stored_name);
        std::vector<std::string> statements;
        bool materialize = has_ttl && acting.ttl && !expired.empty();
        if (materialize) {
            statements.push_back("ALTER TABLE " + target + " MATERIALIZE TTL");
        } else {
            for (const auto& id : expired) {
                statements.push_back("ALTER TABLE " + target + " DROP PARTITION ID " + quoteString(id));
            }
        }
        if (options_.trim && !straddling.empty()) {
            statements.push_back("ALTER TABLE " + target + " DELETE WHERE " +
                                 pastHorizonSql(table.column, table.kind, entry.horizon));
        }
        for (const auto& statement : statements) {
            entry.statements.push_back(acting.node->name + ": " + statement);
        }
        if (!act_) {
            return;
        }
        for (const auto& statement : statements) {
            logger()->info("{}: {}", acting.node->name, statement);
            try {
                acting.connection->execute(statement);
            } catch (const Exception& e) {
                entry.errors.push_back(fmt::format("{}: {}: {}", acting.node->name, statement, e.what()));
                return;
            }
        }
        if (!materialize && !expired.empty()) {
            confirmDropped(table, target, expired, expired_rows, replicas, entry);
        }
    }

    /// Waits until every replica has applied the drops, then checks that none still holds a dropped
    /// partition.
    void confirmDropped(const RetainedTable& table, const std::string& target,
                        const std::vector<std::string>& ids, uint64_t rows, std::vector<Replica>& replicas,
                        TableReport& entry) {
        std::string tuples;
        for (const auto& id : ids) {
            tuples += (tuples.empty() ? "" : ", ") + std::string("(") + quoteString(table.stored_name) +
                      ", " + quoteString(id) + ")";
        }
        bool confirmed = true;
        for (auto& replica : replicas) {
            try {
                replica.connection->execute("SYSTEM SYNC REPLICA " + target);
                auto left = clickhouse::query(
                    *replica.connection,
                    "SELECT DISTINCT partition_id FROM system.parts WHERE active AND database = " +
                        quoteString(fleet_.schema.database) + " AND (table, partition_id) IN (" + tuples +
                        ")");
                if (left.rowCount() > 0) {
                    std::vector<std::string> still;
                    for (size_t row = 0; row < left.rowCount(); ++row) {
                        still.push_back(left.getString(row, "partition_id"));
                    }
                    entry.errors.push_back(
                        fmt::format("{}: partition(s) {} of {} still present after the drop",
                                    replica.node->name, partitionList(still), target));
                    confirmed = false;
                }
            } catch (const Exception& e) {
                entry.errors.push_back(fmt::format("{}: cannot confirm the drop of {}: {}",
                                                   replica.node->name, target, e.what()));
                confirmed = false;
            }
        }
        if (confirmed) {
            entry.dropped += ids.size();
            entry.rows_dropped += rows;
        }
    }

    const topology::Fleet& fleet_;
    const RunOptions& options_;
    bool act_;
    RetentionReport report_;
};

}  // namespace

bool RetentionReport::ok() const {
    for (const auto& node : nodes) {
        if (!node.reachable) {
            return false;
        }
    }
    for (const auto& table : tables) {
        if (!table.errors.empty()) {
            return false;
        }
    }
    return true;
}

RetentionReport runRetention(const topology::Fleet& fleet, const RunOptions& options) {
    return RetentionPass(fleet, options, true).run();
}

RetentionReport status(const topology::Fleet& fleet, const RunOptions& options) {
    return RetentionPass(fleet, options, false).run();
}

}  // namespace chfleet::retention
