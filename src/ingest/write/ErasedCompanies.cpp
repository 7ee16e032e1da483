#include "ingest/write/ErasedCompanies.h"

#include <algorithm>
#include <cstring>

#include "clickhouse/Quoting.h"
#include "common/Log.h"
#include "erase/EraseSection.h"
#include "erase/ErasureLedger.h"
#include "erase/Subject.h"

namespace chfleet::ingest {
namespace {

auto logger() {
    return log::get("ingest");
}

std::string noSaltMessage(size_t subjects) {
    return fmt::format(
        "the erasure ledger records {} erased compan{}, but this ingest server has no erasure salt "
        "(erase.salt_env / erase.salt_file): it cannot recognise their rows, so it takes no rows at all; "
        "set the fleet's salt for `chfleet ingest serve` as for `chfleet erase`",
        subjects, subjects == 1 ? "y" : "ies");
}

}  // namespace

ErasedCompanies::ErasedCompanies(std::string salt, std::string key_type, Source source,
                                 std::chrono::milliseconds refresh_interval)
    : salt_(std::move(salt)),
      key_type_(std::move(key_type)),
      source_(std::move(source)),
      refresh_interval_(refresh_interval) {}

ErasedCompanies::~ErasedCompanies() {
    stop();
}

std::unique_ptr<ErasedCompanies> ErasedCompanies::forFleet(const topology::Fleet& fleet,
                                                           std::chrono::milliseconds refresh_interval) {
    std::string salt;
    try {
        salt = erase::fleetSalt(fleet);
    } catch (const Exception& e) {
        logger()->warn("{}; ingest refuses every write if the ledger records an erasure", e.what());
    }
    std::string key_type = erase::erasableTables(fleet).empty() ? "String" : erase::regionKeyType(fleet);
    // A node that neither answers nor fails (a stopped server) holds a read for at most this long before the
    // next node of its site is asked, so that a refresh stays within erase's grace.
    auto read_timeout = std::max<std::chrono::milliseconds>(std::chrono::seconds(1), refresh_interval / 2);
    const topology::Fleet* source = &fleet;
    return std::make_unique<ErasedCompanies>(
        std::move(salt), std::move(key_type),
        [source, read_timeout] { return erase::erasedSubjects(*source, read_timeout); }, refresh_interval);
}

bool ErasedCompanies::load() {
    std::vector<std::string> subjects;
    try {
        subjects = source_();
    } catch (const std::exception& e) {
        logger()->warn("the erasure ledger could not be read; keeping the {} erased subject(s) known: {}",
                       size(), e.what());
        return false;
    }
    size_t added = 0;
    {
        std::unique_lock lock(mutex_);
        for (auto& subject : subjects) {
            if (subjects_.insert(std::move(subject)).second) {
                ++added;
            }
        }
        size_ = subjects_.size();
    }
    if (added > 0) {
        logger()->info(
            "erasure ledger: {} new erased subject(s), {} in all; their companies' rows are refused "
            "and dropped from unwritten batches",
            added, size());
        if (salt_.empty()) {
            logger()->error("{}", noSaltMessage(size()));
        }
    }
    return true;
}

void ErasedCompanies::loadAtStart() {
    std::vector<std::string> subjects = source_();
    {
        std::unique_lock lock(mutex_);
        subjects_.insert(subjects.begin(), subjects.end());
        size_ = subjects_.size();
    }
    if (size() > 0 && salt_.empty()) {
        throw Exception(ErrorCode::InvalidConfig, "{}", noSaltMessage(size()));
    }
    logger()->info("erasure ledger: {} erased subject(s), refreshed every {} ms", size(),
                   refresh_interval_.count());
}

void ErasedCompanies::startRefresh() {
    refresh_thread_ = std::thread([this] { refreshLoop(); });
}

void ErasedCompanies::refreshLoop() {
    std::unique_lock lock(refresh_mutex_);
    while (!refresh_wake_.wait_for(lock, refresh_interval_, [this] { return stopping_; })) {
        lock.unlock();
        load();
        lock.lock();
    }
}

void ErasedCompanies::stop() {
    {
        std::lock_guard lock(refresh_mutex_);
        stopping_ = true;
    }
    refresh_wake_.notify_all();
    if (refresh_thread_.joinable()) {
        refresh_thread_.join();
    }
}

std::optional<std::string> ErasedCompanies::erasedSubject(std::string_view company) {
    if (size() == 0) {
        return std::nullopt;  // nothing erased: nothing to hash
    }
    if (salt_.empty()) {
        throw Exception(ErrorCode::InvalidConfig, "{}", noSaltMessage(size()));
    }
    {
        std::shared_lock lock(mutex_);
        auto cached = cache_.find(company);
        if (cached != cache_.end()) {
            if (subjects_.count(cached->second) > 0) {
                return cached->second;
            }
            return std::nullopt;
        }
    }
    std::string subject = erase::subjectOf(salt_, erase::canonicalId(company, key_type_));
    ++hashes_;
    std::unique_lock lock(mutex_);
    if (cache_.size() >= kMaxCachedCompanies) {
        cache_.clear();
    }
    cache_.emplace(std::string(company), subject);
    if (subjects_.count(subject) > 0) {
        return subject;
    }
    return std::nullopt;
}

std::map<std::string, size_t> ErasedCompanies::dropErasedRows(std::string& rows, size_t key_index) {
    std::map<std::string, size_t> dropped;
    std::string kept;
    size_t kept_from =
        0;  // rows before this offset are decided; [kept_from, line) are kept and not copied yet
    size_t line = 0;
    while (line < rows.size()) {
        const char* begin = rows.data() + line;
        const char* end = static_cast<const char*>(std::memchr(begin, '\n', rows.size() - line));
        size_t line_end = end == nullptr ? rows.size() : static_cast<size_t>(end - rows.data()) + 1;
        std::string_view text(begin, (end == nullptr ? rows.data() + rows.size() : end) - begin);
        size_t field_begin = 0;
        for (size_t i = 0; i < key_index && field_begin != std::string_view::npos; ++i) {
            field_begin = text.find('\t', field_begin);
            field_begin = field_begin == std::string_view::npos ? field_begin : field_begin + 1;
        }
        std::optional<std::string> subject;
        if (field_begin != std::string_view::npos) {
            std::string_view field = text.substr(field_begin, text.find('\t', field_begin) - field_begin);
            subject = erasedSubject(field.find('\\') == std::string_view::npos
                                        ? std::string(field)
                                        : clickhouse::unescapeTsvField(field));
        }
        if (subject) {
            ++dropped[*subject];
            kept.append(rows, kept_from, line - kept_from);
            kept_from = line_end;
        }
        line = line_end;
    }
    if (!dropped.empty()) {
        kept.append(rows, kept_from, rows.size() - kept_from);
        rows = std::move(kept);
    }
    return dropped;
}

std::optional<size_t> regionKeyIndex(const topology::Table& table, std::string_view columns_sql) {
    if (text::trim(columns_sql).empty()) {
        for (size_t i = 0; i < table.columns.size(); ++i) {
            if (table.columns[i].name == table.region_key) {
                return i;
            }
        }
        return std::nullopt;
    }
    std::string quoted = clickhouse::quoteIdentifier(table.region_key);
    std::string_view list = text::trim(columns_sql);
    if (list.starts_with('(') && list.ends_with(')')) {
        list = list.substr(1, list.size() - 2);
    }
    size_t index = 0;
    size_t start = 0;
    bool in_quotes = false;
    for (size_t i = 0; i <= list.size(); ++i) {
        if (i < list.size() && list[i] == '\\' && in_quotes) {
            ++i;  // an escaped byte inside a quoted name
            continue;
        }
        if (i < list.size() && list[i] == '`') {
            in_quotes = !in_quotes;
            continue;
        }
        if (i == list.size() || (list[i] == ',' && !in_quotes)) {
            std::string_view name = text::trim(list.substr(start, i - start));
            if (name == quoted || name == table.region_key) {
                return index;
            }
            ++index;
            start = i + 1;
        }
    }
    return std::nullopt;
}

std::string companyIdPrefix(std::string_view id) {
    size_t length = std::min<size_t>(4, id.size() / 2);
    while (length > 0 && (static_cast<unsigned char>(id[length]) & 0xC0) == 0x80) {
        --length;  // not inside a UTF-8 character
    }
    return clickhouse::quoteString(id.substr(0, length)) + "…";
}

}  // namespace chfleet::ingest
