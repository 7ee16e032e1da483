// `chfleet erase`: run, status, verify, ledger.
#include <algorithm>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "common/Command.h"
#include "common/Exception.h"
#include "common/Log.h"
#include "common/Text.h"
#include "erase/Eraser.h"
#include "erase/ErasureLedger.h"
#include "erase/Subject.h"
#include "topology/Fleet.h"

namespace chfleet {

namespace {

auto logger() {
    return log::get("erase");
}

/// The company ID from the command line, or from standard input when it is "-" (keeps it out of the
/// process arguments other users can list).
std::string companyArgument(const std::string& given) {
    if (given != "-") {
        return given;
    }
    std::string text(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>{});
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
        text.pop_back();
    }
    return text;
}

std::string rowsText(const std::optional<uint64_t>& rows) {
    return rows ? std::to_string(*rows) : "-";
}

void printReceipt(const erase::Receipt& receipt, std::string_view what) {
    std::cout << fmt::format("{} {} (subject {}){}\n", what, receipt.erasure.empty() ? "-" : receipt.erasure,
                             erase::shortSubject(receipt.subject), receipt.dry_run ? ", dry run" : "");
    std::cout << fmt::format("{:<18} {:<8} {:<14} {:>5} {:>7} {:>11} {:>10}  {}\n", "node", "site", "region",
                             "shard", "replica", "rows before", "rows after", "state");
    for (const auto& node : receipt.nodes) {
        std::string state = receipt.dry_run
                                ? (node.mechanism.empty() ? "nothing to run" : "would run " + node.mechanism)
                                : (node.done ? "done" : "PENDING");
        if (!node.error.empty()) {
            state += ": " + node.error;
        }
        std::cout << fmt::format("{:<18} {:<8} {:<14} {:>5} {:>7} {:>11} {:>10}  {}\n", node.node, node.site,
                                 node.region, node.shard, node.replica, rowsText(node.rows_before),
                                 rowsText(node.rows_after), state);
    }
}

int runErase(const topology::Fleet& fleet, const std::string& company, bool pending,
             const std::string& reason, bool dry_run, bool json) {
    erase::EraseOptions options;
    options.reason = reason;
    options.dry_run = dry_run;
    options.progress = [](const std::string& line) { logger()->info("{}", line); };
    std::vector<erase::Receipt> receipts;
    if (pending) {
        receipts = erase::completePendingErasures(fleet, options);
    } else {
        receipts.push_back(erase::eraseCompany(fleet, companyArgument(company), options));
    }
    bool complete = true;
    for (const auto& receipt : receipts) {
        complete = complete && (receipt.complete() || dry_run);
        if (!dry_run && !receipt.complete()) {
            logger()->error(
                "erasure {}: pending on {} node(s) (down, or mutations not finished); run `chfleet "
                "erase run -f FILE --pending` (or let sync run) once they are back",
                receipt.erasure, receipt.pendingNodes());
        }
    }
    nlohmann::json out = nlohmann::json::array();
    for (const auto& receipt : receipts) {
        out.push_back(receipt.json());
        if (!json) {
            printReceipt(receipt, "erasure");
            if (!dry_run && !receipt.id_in_server_logs.empty()) {
                std::cout
                    << "note: the servers keep the DELETE statement, ID included, in system.mutations (see "
                       "id_in_server_logs in the receipt and docs/erase.md)\n";
            }
        }
    }
    if (json) {
        std::cout << (pending ? out : out.at(0)).dump(2) << "\n";
    } else if (pending && receipts.empty()) {
        std::cout << "no erasure is pending anywhere, and no node holds rows of an erased company\n";
    }
    return complete ? 0 : static_cast<int>(ErrorCode::Failed);
}

int showStatus(const topology::Fleet& fleet, bool json) {
    auto statuses = erase::erasureStatus(fleet);
    if (json) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& status : statuses) {
            out.push_back({{"erasure", status.erasure},
                           {"subject", status.subject},
                           {"reason", status.reason},
                           {"requested_at", status.requested_at},
                           {"finished_at", status.finished_at},
                           {"state", status.pending_nodes.empty() ? "done" : "pending"},
                           {"done_nodes", status.done_nodes},
                           {"pending_nodes", status.pending_nodes}});
        }
        std::cout << nlohmann::json{{"erasures", out},
                                    {"pending_by_node", erase::pendingErasuresByNode(fleet)}}
                         .dump(2)
                  << "\n";
    } else {
        for (const auto& status : statuses) {
            std::cout << fmt::format("{}  subject {}  requested {}  {}\n", status.erasure,
                                     erase::shortSubject(status.subject), status.requested_at,
                                     status.pending_nodes.empty()
                                         ? "done " + status.finished_at
                                         : fmt::format("PENDING on {} node(s)", status.pending_nodes.size()));
            for (const auto* node : fleet.nodes()) {
                bool done = status.done_nodes.count(node->name) > 0;
                std::cout << fmt::format("  {:<18} {:<8} {}\n", node->name, node->site,
                                         done ? "done" : "pending");
            }
        }
        std::cout << fmt::format("{} erasure(s) in the ledger\n", statuses.size());
    }
    bool pending =
        std::any_of(statuses.begin(), statuses.end(), [](const auto& s) { return !s.pending_nodes.empty(); });
    return pending ? static_cast<int>(ErrorCode::Failed) : 0;
}

int verifyLedger(const topology::Fleet& fleet, bool json) {
    auto check = erase::ErasureLedger(fleet).verify();
    if (json) {
        nlohmann::json copies = nlohmann::json::array();
        for (const auto& copy : check.copies) {
            copies.push_back({{"copy", copy.name},
                              {"readable", copy.readable},
                              {"entries", copy.entries.size()},
                              {"error", copy.error}});
        }
        nlohmann::json problems = nlohmann::json::array();
        for (const auto& problem : check.problems) {
            problems.push_back({{"copy", problem.copy}, {"seq", problem.seq}, {"message", problem.message}});
        }
        std::cout << nlohmann::json{{"intact", check.intact()},
                                    {"entries", check.entries},
                                    {"copies", copies},
                                    {"problems", problems},
                                    {"notes", check.notes}}
                         .dump(2)
                  << "\n";
    } else {
        for (const auto& copy : check.copies) {
            std::cout << fmt::format("{}: {}\n", copy.name,
                                     copy.readable ? fmt::format("{} entries", copy.entries.size())
                                                   : "not readable: " + copy.error);
        }
        for (const auto& problem : check.problems) {
            std::cout << fmt::format("TAMPERED {} entry {}: {}\n", problem.copy, problem.seq,
                                     problem.message);
        }
        for (const auto& note : check.notes) {
            std::cout << "note: " << note << "\n";
        }
        std::cout << (check.intact()
                          ? fmt::format("ledger intact: {} entries, chain verified\n", check.entries)
                          : fmt::format("ledger NOT intact: {} problem(s)\n", check.problems.size()));
    }
    return check.intact() ? 0 : static_cast<int>(ErrorCode::Differences);
}

}  // namespace

int eraseMain(const std::vector<std::string>& args) {
    CLI::App app{
        "Erases a company's rows from every table with the region key (materialized views' storage and the\n"
        "company -> region mapping included) on every replica of every shard of every region of every site,\n"
        "proves it by counting on every replica directly, and records a receipt in the erasure ledger (a\n"
        "SHA-256 chain kept in a local file and in a replicated table on each site). Replicas that are down\n"
        "stay pending and are completed by `erase run --pending` or by `sync run`. The ledger names "
        "companies\n"
        "by a salted hash (salt: erase.salt_env, default CHFLEET_ERASE_SALT), never by ID. After recording\n"
        "the request, a run waits erase.ingest_grace_seconds (5) so that running `ingest serve` servers "
        "stop\n"
        "taking the company's rows before it deletes; from then on ingest refuses them. See "
        "docs/erase.md.\n\n"
        "Examples:\n"
        "  chfleet erase run -f fleet.yaml acme-corp --reason 'GDPR Art. 17 request #4411' --dry-run\n"
        "  echo acme-corp | chfleet erase run -f fleet.yaml - --reason 'GDPR Art. 17 request #4411' --json\n"
        "  chfleet erase run -f fleet.yaml --pending        # complete erasures on nodes that were down\n"
        "  chfleet erase status -f fleet.yaml --json\n"
        "  chfleet erase verify -f fleet.yaml acme-corp\n"
        "  chfleet erase ledger -f fleet.yaml --verify",
        "chfleet erase"};
    addCommonOptions(app);
    app.require_subcommand(1);
    std::string file, company, reason;
    bool dry_run = false, json = false, pending = false, verify = false;

    auto* run = app.add_subcommand("run", "erase one company everywhere (or complete pending erasures)");
    addFleetFileOption(*run, file);
    run->add_option("company", company, "the company ID ('-' reads it from standard input)");
    run->add_option("--reason", reason, "why (recorded in the receipt), e.g. a ticket number");
    run->add_flag("--pending", pending,
                  "complete every erasure of the ledger where it is pending (no ID needed)");
    run->add_flag("--dry-run", dry_run, "count the rows and show what would run; change nothing");
    run->add_flag("--json", json, "print the receipt as JSON");

    auto* status = app.add_subcommand("status", "list erasures and the nodes where each is done or pending");
    addFleetFileOption(*status, file);
    status->add_flag("--json", json, "JSON output");

    auto* check = app.add_subcommand("verify", "count a company's rows now on every replica directly");
    addFleetFileOption(*check, file);
    check->add_option("company", company, "the company ID ('-' reads it from standard input)")->required();
    check->add_flag("--json", json, "JSON output");

    auto* ledger = app.add_subcommand("ledger", "check the erasure ledger's hash chain in every copy");
    addFleetFileOption(*ledger, file);
    ledger->add_flag("--verify", verify, "verify the chain (the only action; required)")->required();
    ledger->add_flag("--json", json, "JSON output");

    return runCommand(app, args, [&]() -> int {
        auto fleet = topology::loadFleet(file);
        if (run->parsed()) {
            if (pending == !company.empty()) {
                throw Exception(ErrorCode::BadArguments,
                                "erase run: give a company ID or --pending (one of them)");
            }
            return runErase(fleet, company, pending, reason, dry_run, json);
        }
        if (status->parsed()) {
            return showStatus(fleet, json);
        }
        if (check->parsed()) {
            auto receipt = erase::verifyCompany(fleet, companyArgument(company));
            if (json) {
                std::cout << receipt.json().dump(2) << "\n";
            } else {
                printReceipt(receipt, "verify: erasure");
                std::cout << (receipt.complete()
                                  ? "0 rows of the company on every node\n"
                                  : fmt::format("rows remain or nodes did not answer on {} node(s)\n",
                                                receipt.pendingNodes()));
            }
            // The CLI's one rule: 5 when no node answered, 1 when rows remain or some did not answer.
            size_t answered =
                std::count_if(receipt.nodes.begin(), receipt.nodes.end(),
                              [](const erase::NodeReceipt& node) { return node.rows_after.has_value(); });
            return serversExitCode(receipt.pendingNodes(), answered);
        }
        return verifyLedger(fleet, json);
    });
}

}  // namespace chfleet
