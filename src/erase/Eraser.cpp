#include "erase/Eraser.h"

#include <fmt/chrono.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <thread>

#include "clickhouse/Capabilities.h"
#include "clickhouse/Quoting.h"
#include "clickhouse/Result.h"
#include "common/Exception.h"
#include "common/Log.h"
#include "erase/EraseSection.h"
#include "erase/ErasureLedger.h"
#include "erase/Subject.h"
#include "topology/NodeConnection.h"

namespace chfleet::erase {

using clickhouse::qualifiedName;
using clickhouse::quoteString;

namespace {

auto logger() {
    return log::get("erase");
}

/// Statements that hold the ID are kept out of system.query_log (they stay in system.mutations).
const clickhouse::Settings kNoQueryLog = {{"log_queries", "0"}};

constexpr std::chrono::milliseconds kPollInterval{250};
/// How often a long wait says what it waits for.
constexpr std::chrono::seconds kProgressInterval{5};

std::string nowIso() {
    return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}",
                       fmt::gmtime(std::chrono::system_clock::to_time_t(std::chrono::system_clock::now())));
}

/// One erasable table as one node stores it.
struct Storage {
    const topology::Table* table = nullptr;
    std::string name;  ///< the local table, or the materialized view's inner table
};

/// A node during one run.
struct NodeWork {
    const topology::Node* node = nullptr;
    std::unique_ptr<clickhouse::Connection> connection;
    clickhouse::ServerCapabilities capabilities;
    std::vector<Storage> storage;
    bool reachable = false;
    NodeReceipt receipt;
};

/// The condition matching the subject's rows in one table.
using ConditionFor = std::function<std::string(const topology::Table&)>;

class ErasureRun {
  public:
    /// `secret`: the company ID when the run knows it, kept out of every message it records or logs.
    ErasureRun(const topology::Fleet& fleet, ConditionFor condition, const EraseOptions& options,
               const std::set<std::string>& sites, std::string secret = {})
        : fleet_(fleet), condition_(std::move(condition)), options_(options), secret_(std::move(secret)) {
        for (const auto* node : fleet.nodes()) {
            if (sites.empty() || sites.count(node->site) > 0) {
                NodeWork work;
                work.node = node;
                work.receipt.node = node->name;
                work.receipt.site = node->site;
                work.receipt.region = node->region;
                work.receipt.shard = node->shard;
                work.receipt.replica = node->replica;
                nodes_.push_back(std::move(work));
            }
        }
    }

    /// Step 1: connects and counts on every node.
    void countBefore() {
        for (auto& work : nodes_) {
            try {
                work.connection = topology::connectTo(fleet_, *work.node);
                work.capabilities = clickhouse::detectCapabilities(*work.connection);
                resolveStorage(work);
                auto counts = countRows(work);
                uint64_t total = 0;
                for (const auto& [table, rows] : counts) {
                    total += rows;
                }
                work.receipt.table_rows_before = counts;
                work.receipt.rows_before = total;
                work.reachable = true;
            } catch (const Exception& e) {
                work.receipt.error = clean(e.what());
                logger()->warn("{}: not reachable, the erasure stays pending there: {}", work.node->name,
                               work.receipt.error);
            }
        }
    }

    /// Total rows found before, on the nodes that answered.
    uint64_t rowsFound() const {
        uint64_t total = 0;
        for (const auto& work : nodes_) {
            total += work.receipt.rows_before.value_or(0);
        }
        return total;
    }
    bool allReachable() const {
        return std::all_of(nodes_.begin(), nodes_.end(), [](const NodeWork& w) { return w.reachable; });
    }

    /// Step 2: per shard, the mutations on one replica that answers. Dry run: only says what would run.
    void mutate() {
        std::map<std::tuple<std::string, std::string, int>, std::vector<NodeWork*>> shards;
        for (auto& work : nodes_) {
            shards[{work.node->site, work.node->region, work.node->shard}].push_back(&work);
        }
        for (auto& [key, replicas] : shards) {
            NodeWork* leader = nullptr;
            bool replica_down = false;
            for (auto* work : replicas) {
                if (work->reachable && leader == nullptr) {
                    leader = work;
                }
                replica_down = replica_down || !work->reachable;
            }
            if (leader == nullptr) {
                continue;
            }
            for (const auto& storage : leader->storage) {
                bool has_rows = replica_down;
                for (auto* work : replicas) {
                    auto it = work->receipt.table_rows_before.find(storage.name);
                    has_rows = has_rows || (it != work->receipt.table_rows_before.end() && it->second > 0);
                }
                if (!has_rows) {
                    continue;
                }
                bool lightweight = leader->capabilities.lightweight_delete &&
                                   storage.table->kind == topology::TableKind::Table;
                std::string target = qualifiedName(fleet_.schema.database, storage.name);
                std::string sql = deletionStatement(target, condition_(*storage.table), lightweight);
                std::string mechanism = lightweight ? "DELETE FROM (lightweight)" : "ALTER TABLE ... DELETE";
                for (auto* work : replicas) {
                    work->receipt.mechanism = mechanism;
                }
                if (options_.dry_run) {
                    continue;
                }
                try {
                    clickhouse::execute(*leader->connection, sql, kNoQueryLog);
                    mutated_ = true;
                } catch (const Exception& e) {
                    std::string error = fmt::format("the deletion in {} through {} failed: {}", storage.name,
                                                    leader->node->name, clean(e.what()));
                    for (auto* work : replicas) {
                        work->receipt.error = error;
                    }
                    logger()->error("{}", error);
                }
            }
        }
    }

    /// Steps 3 and 4: waits for the mutations, then counts on every node again.
    void waitAndProve() {
        auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::seconds(eraseConfig(fleet_).mutation_timeout_seconds);
        auto next_progress = std::chrono::steady_clock::now() + kProgressInterval;
        std::vector<NodeWork*> waiting;
        for (auto& work : nodes_) {
            if (work.reachable) {
                waiting.push_back(&work);
            }
        }
        while (!waiting.empty() && !options_.dry_run) {
            std::vector<NodeWork*> still;
            for (auto* work : waiting) {
                if (!settled(*work)) {
                    still.push_back(work);
                }
            }
            waiting = std::move(still);
            if (waiting.empty() || std::chrono::steady_clock::now() > deadline) {
                break;
            }
            if (options_.progress && std::chrono::steady_clock::now() >= next_progress) {
                next_progress = std::chrono::steady_clock::now() + kProgressInterval;
                options_.progress(fmt::format("waiting for the mutations on {} node(s), e.g. {}",
                                              waiting.size(), waiting.front()->node->name));
            }
            std::this_thread::sleep_for(kPollInterval);
        }
        for (auto& work : nodes_) {
            if (!work.reachable) {
                continue;
            }
            try {
                auto counts = countRows(work);
                uint64_t total = 0;
                for (const auto& [table, rows] : counts) {
                    total += rows;
                }
                work.receipt.rows_after = total;
                if (!options_.dry_run) {
                    work.receipt.done = total == 0 && work.receipt.error.empty();
                    if (total != 0 && work.receipt.error.empty()) {
                        work.receipt.error = fmt::format(
                            "{} row(s) remain after {} s (erase.mutation_timeout_seconds); rerun to complete",
                            total, eraseConfig(fleet_).mutation_timeout_seconds);
                    }
                }
            } catch (const Exception& e) {
                work.receipt.error = clean(e.what());
            }
        }
    }

    bool mutated() const { return mutated_; }

    std::vector<NodeReceipt> receipts() const {
        std::vector<NodeReceipt> result;
        for (const auto& work : nodes_) {
            result.push_back(work.receipt);
        }
        return result;
    }

  private:
    /// The storage of every erasable table on the node: `<t>_local`, or a view's inner table
    /// `.inner.<t>_local` where the server names it so (servers with Atomic databases name it by UUID; the
    /// view itself then takes the mutation and forwards it).
    void resolveStorage(NodeWork& work) {
        auto names = clickhouse::query(*work.connection, "SELECT name FROM system.tables WHERE database = " +
                                                             quoteString(fleet_.schema.database));
        std::set<std::string> present;
        for (size_t row = 0; row < names.rowCount(); ++row) {
            present.insert(names.getString(row, "name"));
        }
        work.storage.clear();
        for (const auto* table : erasableTables(fleet_)) {
            std::string local = table->localName();
            if (table->kind == topology::TableKind::MaterializedView &&
                present.count(".inner." + local) > 0) {
                work.storage.push_back({table, ".inner." + local});
            } else if (present.count(local) > 0) {
                work.storage.push_back({table, local});
            }
        }
    }

    std::map<std::string, uint64_t> countRows(NodeWork& work) {
        std::map<std::string, uint64_t> counts;
        if (work.storage.empty()) {
            return counts;
        }
        std::string sql;
        for (const auto& storage : work.storage) {
            sql += (sql.empty() ? "" : " UNION ALL ") + std::string("SELECT ") + quoteString(storage.name) +
                   " AS t, count() AS c FROM " + qualifiedName(fleet_.schema.database, storage.name) +
                   " WHERE " + condition_(*storage.table);
        }
        auto result = clickhouse::query(*work.connection, sql, kNoQueryLog);
        for (size_t row = 0; row < result.rowCount(); ++row) {
            counts[result.getString(row, "t")] = result.getUInt64(row, "c");
        }
        return counts;
    }

    /// Whether the node holds no more rows and every mutation of its erasable tables is done; records the
    /// mutations it sees that were made during this run.
    bool settled(NodeWork& work) {
        try {
            std::string tables;
            for (const auto& storage : work.storage) {
                tables += (tables.empty() ? "" : ", ") + quoteString(storage.name);
            }
            if (tables.empty()) {
                return true;
            }
            auto mutations = clickhouse::query(
                *work.connection,
                "SELECT table, mutation_id, is_done, toUInt64(create_time) AS created FROM system.mutations "
                "WHERE database = " +
                    quoteString(fleet_.schema.database) + " AND table IN (" + tables + ")");
            bool all_done = true;
            for (size_t row = 0; row < mutations.rowCount(); ++row) {
                if (mutations.getUInt64(row, "created") + 1 < static_cast<uint64_t>(started_)) {
                    continue;
                }
                std::string id =
                    mutations.getString(row, "table") + ":" + mutations.getString(row, "mutation_id");
                auto& ids = work.receipt.mutations;
                if (std::find(ids.begin(), ids.end(), id) == ids.end()) {
                    ids.push_back(id);
                }
                all_done = all_done && mutations.getBool(row, "is_done");
            }
            if (!all_done) {
                return false;
            }
            auto counts = countRows(work);
            return std::all_of(counts.begin(), counts.end(),
                               [](const auto& count) { return count.second == 0; });
        } catch (const Exception& e) {
            logger()->warn("{}: {}", work.node->name, clean(e.what()));
            return false;
        }
    }

    const topology::Fleet& fleet_;
    ConditionFor condition_;
    /// `message` with every occurrence of the ID (as given and as quoted in SQL) replaced by "<company id>".
    std::string clean(std::string message) const {
        if (secret_.empty()) {
            return message;
        }
        for (const std::string& form : {secret_, quoteString(secret_)}) {
            for (size_t at = message.find(form); at != std::string::npos; at = message.find(form, at)) {
                message.replace(at, form.size(), "<company id>");
            }
        }
        return message;
    }

    const EraseOptions& options_;
    std::string secret_;
    std::vector<NodeWork> nodes_;
    bool mutated_ = false;
    std::time_t started_ = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
};

std::string erasureId(const std::string& subject, const std::string& requested_at) {
    std::string compact;
    for (char c : requested_at) {
        if (c != '-' && c != ':') {
            compact += c;
        }
    }
    return compact + "-" + shortSubject(subject);
}

/// The request entry of `subject` in the ledger, or a null json.
nlohmann::json findRequest(const std::vector<LedgerEntry>& entries, const std::string& subject) {
    for (const auto& entry : entries) {
        auto body = entry.body();
        if (body.value("kind", "") == "request" && body.value("subject", "") == subject) {
            return body;
        }
    }
    return nullptr;
}

void appendReceipt(ErasureLedger& ledger, const Receipt& receipt) {
    auto body = receipt.json();
    body["kind"] = "receipt";
    ledger.append(body);
}

}  // namespace

bool Receipt::complete() const {
    return pendingNodes() == 0;
}

size_t Receipt::pendingNodes() const {
    return static_cast<size_t>(
        std::count_if(nodes.begin(), nodes.end(), [](const NodeReceipt& n) { return !n.done; }));
}

nlohmann::json Receipt::json() const {
    nlohmann::json node_list = nlohmann::json::array();
    for (const auto& node : nodes) {
        nlohmann::json item = {{"node", node.node},          {"site", node.site},
                               {"region", node.region},      {"shard", node.shard},
                               {"replica", node.replica},    {"state", node.done ? "done" : "pending"},
                               {"mutations", node.mutations}};
        item["rows_before"] = node.rows_before ? nlohmann::json(*node.rows_before) : nlohmann::json(nullptr);
        item["rows_after"] = node.rows_after ? nlohmann::json(*node.rows_after) : nlohmann::json(nullptr);
        if (!node.mechanism.empty()) {
            item["mechanism"] = node.mechanism;
        }
        if (!node.error.empty()) {
            item["error"] = node.error;
        }
        node_list.push_back(std::move(item));
    }
    return {{"erasure", erasure},
            {"subject", subject},
            {"reason", reason},
            {"requested_at", requested_at},
            {"finished_at", finished_at},
            {"matched_by", by_id ? "id" : "subject hash"},
            {"dry_run", dry_run},
            {"complete", complete()},
            {"pending_nodes", pendingNodes()},
            {"nodes", node_list},
            {"id_in_server_logs", id_in_server_logs}};
}

namespace {

/// Running ingest servers read the ledger every few seconds and then refuse the company's rows and drop its
/// unwritten ones (ingest/write/ErasedCompanies.h). Waiting erase.ingest_grace_seconds after the request is
/// in the ledger means the deletion starts after they stopped writing it: a row that still lands later is
/// counted by the proof (step 4) and keeps its node pending.
void waitForIngest(const topology::Fleet& fleet, const EraseOptions& options) {
    int grace = eraseConfig(fleet).ingest_grace_seconds;
    if (grace <= 0) {
        return;
    }
    std::string message = fmt::format(
        "request recorded; waiting {} s (erase.ingest_grace_seconds) so that running ingest servers stop "
        "writing the company's rows before the deletion",
        grace);
    if (options.progress) {
        options.progress(message);
    } else {
        logger()->info("{}", message);
    }
    std::this_thread::sleep_for(std::chrono::seconds(grace));
}

}  // namespace

Receipt eraseCompany(const topology::Fleet& fleet, const std::string& id, const EraseOptions& options) {
    std::string type = regionKeyType(fleet);
    if (auto problem = idProblem(id, type); !problem.empty()) {
        throw Exception(ErrorCode::BadArguments, "cannot erase: {}; nothing was run", problem);
    }
    std::string subject = subjectOf(fleetSalt(fleet), canonicalId(id, type));
    ErasureLedger ledger(fleet);
    auto request = findRequest(ledger.entries(), subject);

    Receipt receipt;
    receipt.subject = subject;
    receipt.by_id = true;
    receipt.dry_run = options.dry_run;
    if (request.is_null()) {
        receipt.requested_at = nowIso();
        receipt.erasure = erasureId(subject, receipt.requested_at);
        receipt.reason = options.reason;
        if (!options.dry_run) {
            ledger.append({{"kind", "request"},
                           {"erasure", receipt.erasure},
                           {"subject", subject},
                           {"reason", receipt.reason},
                           {"requested_at", receipt.requested_at}});
        }
    } else {
        receipt.erasure = request.value("erasure", "");
        receipt.requested_at = request.value("requested_at", "");
        receipt.reason = options.reason.empty() ? request.value("reason", "") : options.reason;
    }
    logger()->info("erasure {}{} of subject {}: counting on {} node(s)", receipt.erasure,
                   options.dry_run ? " (dry run)" : "", shortSubject(subject), fleet.nodes().size());

    if (!options.dry_run) {
        waitForIngest(fleet, options);
    }
    ErasureRun run(
        fleet, [&](const topology::Table& table) { return idCondition(table, id); }, options, {}, id);
    run.countBefore();
    run.mutate();
    run.waitAndProve();
    receipt.nodes = run.receipts();
    receipt.finished_at = nowIso();
    for (const auto& node : receipt.nodes) {
        if (!node.mechanism.empty()) {
            receipt.id_in_server_logs.push_back(
                node.node +
                ": system.mutations keeps the DELETE statement with the ID (until the server "
                "cleans finished mutations); the server's text log holds it at log level debug "
                "or trace");
        }
    }
    if (!options.dry_run) {
        appendReceipt(ledger, receipt);
    }
    return receipt;
}

std::vector<Receipt> completePendingErasures(const topology::Fleet& fleet, const EraseOptions& options,
                                             const std::set<std::string>& sites) {
    std::vector<Receipt> receipts;
    if (erasableTables(fleet).empty()) {
        return receipts;
    }
    ErasureLedger ledger(fleet);
    auto statuses = erasureStatus(fleet);
    if (statuses.empty()) {
        return receipts;
    }
    std::string salt = fleetSalt(fleet);
    auto pendingHere = [&](const ErasureStatus& status) {
        return std::any_of(status.pending_nodes.begin(), status.pending_nodes.end(),
                           [&](const std::string& node) {
                               return sites.empty() || sites.count(fleet.node(node)->site) > 0;
                           });
    };
    // The steady state (every erasure done, no erased row anywhere) costs one count per node for all
    // subjects.
    if (std::none_of(statuses.begin(), statuses.end(), pendingHere)) {
        std::vector<std::string> all;
        for (const auto& status : statuses) {
            all.push_back(status.subject);
        }
        EraseOptions counting = options;
        counting.dry_run = true;
        ErasureRun probe(
            fleet, [&](const topology::Table& table) { return subjectCondition(table, salt, all); }, counting,
            sites);
        probe.countBefore();
        if (probe.rowsFound() == 0 && probe.allReachable()) {
            return receipts;
        }
    }
    for (const auto& status : statuses) {
        std::vector<std::string> subject = {status.subject};
        ErasureRun run(
            fleet, [&](const topology::Table& table) { return subjectCondition(table, salt, subject); },
            options, sites);
        run.countBefore();
        if (run.rowsFound() == 0 && !pendingHere(status)) {
            continue;
        }
        logger()->info("erasure {}{}: completing on the nodes where it is pending or rows were found",
                       status.erasure, options.dry_run ? " (dry run)" : "");
        run.mutate();
        run.waitAndProve();
        Receipt receipt;
        receipt.erasure = status.erasure;
        receipt.subject = status.subject;
        receipt.reason = status.reason;
        receipt.requested_at = status.requested_at;
        receipt.dry_run = options.dry_run;
        receipt.nodes = run.receipts();
        receipt.finished_at = nowIso();
        bool newly_done = std::any_of(
            receipt.nodes.begin(), receipt.nodes.end(),
            [&](const NodeReceipt& node) { return node.done && status.done_nodes.count(node.node) == 0; });
        if (!options.dry_run && (newly_done || run.mutated())) {
            appendReceipt(ledger, receipt);
        }
        receipts.push_back(std::move(receipt));
    }
    return receipts;
}

std::vector<std::string> prepareSyncCycle(const topology::Fleet& fleet) {
    std::vector<std::string> excluded = {ledgerTablePattern(fleet)};
    bool hold = false;
    try {
        for (const auto& receipt : completePendingErasures(fleet, EraseOptions{})) {
            for (const auto& node : receipt.nodes) {
                hold = hold || (!node.done && node.rows_after.value_or(0) > 0);
            }
        }
    } catch (const Exception& e) {
        logger()->error(
            "pending erasures could not be completed, so this cycle copies no table a company can be "
            "erased from: {}",
            e.what());
        hold = true;
    }
    if (hold) {
        for (const auto* table : erasableTables(fleet)) {
            excluded.push_back(fleet.schema.database + "." + table->localName());
            excluded.push_back(fleet.schema.database + "..inner." + table->localName());
        }
    }
    return excluded;
}

Receipt verifyCompany(const topology::Fleet& fleet, const std::string& id) {
    std::string type = regionKeyType(fleet);
    if (auto problem = idProblem(id, type); !problem.empty()) {
        throw Exception(ErrorCode::BadArguments, "cannot verify: {}", problem);
    }
    Receipt receipt;
    receipt.subject = subjectOf(fleetSalt(fleet), canonicalId(id, type));
    receipt.by_id = true;
    receipt.requested_at = nowIso();
    for (const auto& status : erasureStatus(fleet)) {
        if (status.subject == receipt.subject) {
            receipt.erasure = status.erasure;
            receipt.reason = status.reason;
        }
    }
    EraseOptions options;
    options.dry_run = true;
    if (!options.dry_run) {
        waitForIngest(fleet, options);
    }
    ErasureRun run(
        fleet, [&](const topology::Table& table) { return idCondition(table, id); }, options, {}, id);
    run.countBefore();
    receipt.nodes = run.receipts();
    for (auto& node : receipt.nodes) {
        node.rows_after = node.rows_before;
        node.done = node.rows_before && *node.rows_before == 0;
    }
    receipt.finished_at = nowIso();
    return receipt;
}

std::vector<ErasureStatus> erasureStatus(const topology::Fleet& fleet) {
    std::vector<ErasureStatus> result;
    std::map<std::string, size_t> by_erasure;
    for (const auto& entry : ErasureLedger(fleet).entries()) {
        auto body = entry.body();
        std::string kind = body.value("kind", "");
        std::string erasure = body.value("erasure", "");
        if (kind == "request" && by_erasure.count(erasure) == 0) {
            by_erasure[erasure] = result.size();
            result.push_back({erasure,
                              body.value("subject", ""),
                              body.value("reason", ""),
                              body.value("requested_at", ""),
                              "",
                              {},
                              {}});
        } else if (kind == "receipt" && by_erasure.count(erasure) > 0) {
            auto& status = result[by_erasure[erasure]];
            for (const auto& node : body.value("nodes", nlohmann::json::array())) {
                if (node.value("state", "") == "done") {
                    status.done_nodes.insert(node.value("node", ""));
                }
            }
            status.finished_at = body.value("finished_at", "");
        }
    }
    for (auto& status : result) {
        for (const auto* node : fleet.nodes()) {
            if (status.done_nodes.count(node->name) == 0) {
                status.pending_nodes.push_back(node->name);
            }
        }
        if (!status.pending_nodes.empty()) {
            status.finished_at.clear();
        }
    }
    return result;
}

std::map<std::string, std::vector<std::string>> pendingErasuresByNode(const topology::Fleet& fleet) {
    std::map<std::string, std::vector<std::string>> pending;
    for (const auto& status : erasureStatus(fleet)) {
        for (const auto& node : status.pending_nodes) {
            pending[node].push_back(status.erasure);
        }
    }
    return pending;
}

std::string deletionStatement(const std::string& target, const std::string& condition, bool lightweight) {
    return lightweight ? "DELETE FROM " + target + " WHERE " + condition
                       : "ALTER TABLE " + target + " DELETE WHERE " + condition;
}

std::string ledgerTablePattern(const topology::Fleet& fleet) {
    return eraseConfig(fleet).ledger_database + ".erase_ledger";
}

}  // namespace chfleet::erase
