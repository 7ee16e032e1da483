#include "erase/ErasureLedger.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "clickhouse/HttpConnection.h"
#include "clickhouse/Quoting.h"
#include "clickhouse/Result.h"
#include "clickhouse/ServerError.h"
#include "common/Digest.h"
#include "common/Exception.h"
#include "common/Files.h"
#include "common/Log.h"
#include "erase/EraseSection.h"
#include "erase/Subject.h"
#include "topology/NodeConnection.h"

namespace chfleet::erase {

using clickhouse::quoteIdentifier;
using clickhouse::quoteString;

namespace {

auto logger() {
    return log::get("erase");
}

constexpr const char* kLedgerTable = "erase_ledger";

/// The TabSeparated body of an INSERT of `entries` into the ledger table.
std::string ledgerTsv(const std::vector<LedgerEntry>& entries) {
    std::string body;
    for (const auto& entry : entries) {
        body += std::to_string(entry.seq) + "\t" + clickhouse::escapeTsvField(entry.prev) + "\t" +
                clickhouse::escapeTsvField(entry.hash) + "\t" + clickhouse::escapeTsvField(entry.entry) +
                "\n";
    }
    return body;
}

/// `entries` merged into `merged` by seq; the version already there wins.
void mergeInto(std::map<uint64_t, LedgerEntry>& merged, const std::vector<LedgerEntry>& entries) {
    for (const auto& entry : entries) {
        merged.emplace(entry.seq, entry);
    }
}

}  // namespace

nlohmann::json LedgerEntry::body() const {
    try {
        return nlohmann::json::parse(entry);
    } catch (const nlohmann::json::exception& e) {
        throw Exception(ErrorCode::BadResponse, "erasure ledger entry {} is not JSON: {}", seq, e.what());
    }
}

std::string LedgerEntry::expectedHash() const {
    return chainHash(prev, seq, entry);
}

std::string LedgerEntry::line() const {
    return nlohmann::json{{"seq", seq}, {"prev", prev}, {"hash", hash}, {"entry", entry}}.dump(
        -1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string chainHash(const std::string& prev, uint64_t seq, const std::string& entry) {
    return sha256Hex(prev + "\n" + std::to_string(seq) + "\n" + entry);
}

std::string genesisHash() {
    return std::string(64, '0');
}

ErasureLedger::ErasureLedger(const topology::Fleet& fleet, std::chrono::milliseconds read_timeout)
    : fleet_(fleet),
      file_(ledgerFilePath(fleet)),
      table_(clickhouse::qualifiedName(eraseConfig(fleet).ledger_database, kLedgerTable)),
      read_timeout_(read_timeout) {}

std::vector<LedgerEntry> ErasureLedger::readFile() const {
    std::vector<LedgerEntry> entries;
    std::ifstream in(file_, std::ios::binary);
    if (!in) {
        if (errno == ENOENT) {
            return entries;
        }
        throw Exception(ErrorCode::IoError, "cannot read the erasure ledger {}: {}", file_,
                        std::strerror(errno));
    }
    std::string line;
    size_t number = 0;
    while (std::getline(in, line)) {
        ++number;
        if (line.empty()) {
            continue;
        }
        try {
            auto json = nlohmann::json::parse(line);
            entries.push_back(LedgerEntry{json.at("seq").get<uint64_t>(), json.at("prev").get<std::string>(),
                                          json.at("hash").get<std::string>(),
                                          json.at("entry").get<std::string>()});
        } catch (const nlohmann::json::exception& e) {
            throw Exception(ErrorCode::BadResponse, "{}:{}: not a ledger entry: {}", file_, number, e.what());
        }
    }
    return entries;
}

LedgerCopy ErasureLedger::readSite(const topology::Site& site) const {
    LedgerCopy copy;
    copy.name = "site " + site.name;
    std::vector<std::string> errors;
    for (const auto* node : site.nodes()) {
        try {
            auto endpoint = topology::endpointFor(fleet_, *node);
            if (read_timeout_.count() > 0) {
                endpoint.connect_timeout = std::min(endpoint.connect_timeout, read_timeout_);
                endpoint.total_timeout = read_timeout_;
            }
            clickhouse::HttpConnection connection(endpoint);
            copy.name = "site " + site.name + " (" + node->name + ")";
            clickhouse::Result rows;
            try {
                rows = clickhouse::query(connection, "SELECT DISTINCT seq, prev, hash, entry FROM " + table_ +
                                                         " ORDER BY seq, hash");
            } catch (const ServerException& e) {
                if (e.serverCode() != clickhouse::server_code::kUnknownTable &&
                    e.serverCode() != clickhouse::server_code::kUnknownDatabase) {
                    throw;
                }
            }
            copy.readable = true;
            for (size_t row = 0; row < rows.rowCount(); ++row) {
                copy.entries.push_back(LedgerEntry{rows.getUInt64(row, "seq"), rows.getString(row, "prev"),
                                                   rows.getString(row, "hash"),
                                                   rows.getString(row, "entry")});
            }
            return copy;
        } catch (const Exception& e) {
            errors.push_back(node->name + ": " + e.what());
        }
    }
    copy.error = errors.empty() ? "the site has no nodes" : errors.front();
    return copy;
}

std::vector<LedgerCopy> ErasureLedger::readCopies() const {
    std::vector<LedgerCopy> copies;
    LedgerCopy file_copy;
    file_copy.name = "file " + file_;
    try {
        file_copy.entries = readFile();
        file_copy.readable = true;
    } catch (const Exception& e) {
        file_copy.error = e.what();
    }
    copies.push_back(std::move(file_copy));
    for (const auto& site : fleet_.sites) {
        copies.push_back(readSite(site));
    }
    return copies;
}

std::vector<LedgerEntry> ErasureLedger::entries() const {
    std::map<uint64_t, LedgerEntry> merged;
    for (const auto& copy : readCopies()) {
        mergeInto(merged, copy.entries);
    }
    std::vector<LedgerEntry> result;
    for (auto& [seq, entry] : merged) {
        result.push_back(std::move(entry));
    }
    return result;
}

void ErasureLedger::ensureTable(const topology::Node& node) const {
    auto connection = topology::connectTo(fleet_, node);
    clickhouse::execute(
        *connection, "CREATE DATABASE IF NOT EXISTS " + quoteIdentifier(eraseConfig(fleet_).ledger_database));
    clickhouse::execute(*connection,
                        "CREATE TABLE IF NOT EXISTS " + table_ +
                            " (seq UInt64, prev String, hash String, entry String) "
                            "ENGINE = ReplicatedMergeTree(" +
                            quoteString("/clickhouse/chfleet/{site}/" + eraseConfig(fleet_).ledger_database +
                                        "/" + kLedgerTable) +
                            ", '{replica}') ORDER BY (seq, hash)");
}

void ErasureLedger::appendFile(const std::vector<LedgerEntry>& missing) const {
    if (missing.empty()) {
        return;
    }
    auto parent = std::filesystem::path(file_).parent_path();
    if (!parent.empty()) {
        files::makeDirectories(parent.string());
    }
    int fd = ::open(file_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        throw Exception(ErrorCode::IoError, "cannot open the erasure ledger {}: {}", file_,
                        std::strerror(errno));
    }
    std::string text;
    for (const auto& entry : missing) {
        text += entry.line() + "\n";
    }
    size_t written = 0;
    while (written < text.size()) {
        ssize_t n = ::write(fd, text.data() + written, text.size() - written);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            int error = errno;
            ::close(fd);
            throw Exception(ErrorCode::IoError, "cannot write the erasure ledger {}: {}", file_,
                            std::strerror(error));
        }
        written += static_cast<size_t>(n);
    }
    int synced = ::fdatasync(fd);
    int error = errno;
    ::close(fd);
    if (synced != 0) {
        throw Exception(ErrorCode::IoError, "cannot sync the erasure ledger {}: {}", file_,
                        std::strerror(error));
    }
}

void ErasureLedger::writeSite(const topology::Site& site, const std::vector<LedgerEntry>& all) const {
    // The table on every node that answers: a node that gets it later fetches the entries from its peers.
    for (const auto* node : site.nodes()) {
        try {
            ensureTable(*node);
        } catch (const Exception& e) {
            logger()->debug("{}: the ledger table cannot be created now: {}", node->name, e.what());
        }
    }
    std::vector<std::string> errors;
    for (const auto* node : site.nodes()) {
        try {
            auto connection = topology::connectTo(fleet_, *node);
            auto rows = clickhouse::query(*connection, "SELECT DISTINCT seq, hash FROM " + table_);
            std::set<std::pair<uint64_t, std::string>> present;
            for (size_t row = 0; row < rows.rowCount(); ++row) {
                present.emplace(rows.getUInt64(row, "seq"), rows.getString(row, "hash"));
            }
            std::vector<LedgerEntry> missing;
            for (const auto& entry : all) {
                if (present.count({entry.seq, entry.hash}) == 0) {
                    missing.push_back(entry);
                }
            }
            if (!missing.empty()) {
                connection->execute("INSERT INTO " + table_ + " (seq, prev, hash, entry) FORMAT TabSeparated",
                                    ledgerTsv(missing));
            }
            return;
        } catch (const Exception& e) {
            errors.push_back(node->name + ": " + e.what());
        }
    }
    logger()->warn(
        "the erasure ledger could not be written on site {} ({}); the next erase run or sync copies "
        "the missing entries there",
        site.name, errors.empty() ? "no nodes" : errors.front());
}

LedgerEntry ErasureLedger::append(const nlohmann::json& entry) {
    auto copies = readCopies();
    if (!copies.front().readable) {
        throw Exception(ErrorCode::IoError, "cannot append to the erasure ledger: {}", copies.front().error);
    }
    std::map<uint64_t, LedgerEntry> merged;
    for (const auto& copy : copies) {
        mergeInto(merged, copy.entries);
    }
    LedgerEntry added;
    added.seq = merged.empty() ? 1 : merged.rbegin()->first + 1;
    added.prev = merged.empty() ? genesisHash() : merged.rbegin()->second.hash;
    added.entry = entry.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    added.hash = added.expectedHash();
    merged.emplace(added.seq, added);

    std::vector<LedgerEntry> all;
    for (const auto& [seq, stored] : merged) {
        all.push_back(stored);
    }
    std::set<uint64_t> in_file;
    for (const auto& stored : copies.front().entries) {
        in_file.insert(stored.seq);
    }
    std::vector<LedgerEntry> file_missing;
    for (const auto& stored : all) {
        if (in_file.count(stored.seq) == 0) {
            file_missing.push_back(stored);
        }
    }
    appendFile(file_missing);
    for (const auto& site : fleet_.sites) {
        writeSite(site, all);
    }
    return added;
}

std::vector<LedgerProblem> verifyChain(const LedgerCopy& copy) {
    std::vector<LedgerProblem> problems;
    std::string prev = genesisHash();
    uint64_t expected_seq = 1;
    for (const auto& entry : copy.entries) {
        if (entry.seq != expected_seq) {
            problems.push_back(
                {copy.name, expected_seq,
                 entry.seq > expected_seq
                     ? fmt::format("entries {}..{} are missing (deleted?)", expected_seq, entry.seq - 1)
                     : fmt::format("entry {} appears again or out of order", entry.seq)});
        }
        if (entry.prev != prev) {
            problems.push_back({copy.name, entry.seq,
                                "its link to the previous entry is wrong: an entry before it was edited, "
                                "removed or reordered"});
        }
        if (entry.hash != entry.expectedHash()) {
            problems.push_back(
                {copy.name, entry.seq, "its content does not match its hash: the entry was edited"});
        }
        prev = entry.hash;
        expected_seq = std::max(expected_seq, entry.seq) + 1;
    }
    return problems;
}

LedgerVerification ErasureLedger::verify() const {
    LedgerVerification result;
    result.copies = readCopies();
    std::map<uint64_t, std::pair<std::string, std::string>> reference;  // seq -> (hash, copy)
    for (const auto& copy : result.copies) {
        if (!copy.readable) {
            result.notes.push_back(copy.name + " could not be read: " + copy.error);
            continue;
        }
        auto problems = verifyChain(copy);
        result.problems.insert(result.problems.end(), problems.begin(), problems.end());
        if (problems.empty()) {
            result.entries = std::max<uint64_t>(result.entries, copy.entries.size());
        }
        for (const auto& entry : copy.entries) {
            auto [it, inserted] = reference.emplace(entry.seq, std::make_pair(entry.hash, copy.name));
            if (!inserted && it->second.first != entry.hash) {
                result.problems.push_back(
                    {copy.name, entry.seq, "differs from the same entry in " + it->second.second});
            }
        }
    }
    uint64_t longest = reference.empty() ? 0 : reference.rbegin()->first;
    for (const auto& copy : result.copies) {
        if (copy.readable && copy.entries.size() < longest) {
            uint64_t last = copy.entries.empty() ? 0 : copy.entries.back().seq;
            if (last < longest) {
                result.notes.push_back(
                    fmt::format("{} holds entries up to {} of {}: the later ones were not "
                                "copied there yet (written while it was down) or were removed "
                                "from its end",
                                copy.name, last, longest));
            }
        }
    }
    return result;
}

std::vector<std::string> erasedSubjects(const std::vector<LedgerEntry>& entries) {
    std::set<std::string> subjects;
    for (const auto& entry : entries) {
        auto body = entry.body();
        if (body.value("kind", "") == "request" && body.contains("subject")) {
            subjects.insert(body.at("subject").get<std::string>());
        }
    }
    return {subjects.begin(), subjects.end()};
}

std::vector<std::string> erasedSubjects(const topology::Fleet& fleet,
                                        std::chrono::milliseconds read_timeout) {
    return erasedSubjects(ErasureLedger(fleet, read_timeout).entries());
}

std::string erasedRowsCondition(const topology::Fleet& fleet, const topology::Table& table,
                                const std::vector<std::string>& subjects) {
    if (table.region_key.empty() || subjects.empty()) {
        return "";
    }
    return subjectCondition(table, fleetSalt(fleet), subjects);
}

}  // namespace chfleet::erase
