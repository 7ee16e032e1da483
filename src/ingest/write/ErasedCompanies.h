#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <vector>

#include "common/Exception.h"
#include "common/Text.h"
#include "topology/Fleet.h"

// How ingest keeps erased companies out (issue 16; docs/erase.md "Later writes for an erased company").
//
// The guarantee: once `chfleet erase run` has recorded a company's erasure request in the erasure ledger
// (erase/ErasureLedger.h), every ingest server that can read a copy of the ledger (the local file or any
// site's ledger table) stops writing rows of that company within one refresh interval
// (--erased-refresh-seconds, 2 s by default), and erase waits erase.ingest_grace_seconds (longer) before it
// deletes:
// - a request that carries a row of an erased company is refused whole (nothing of it is written), with an
//   error that names the row and at most a short prefix of the ID;
// - rows accepted before the erasure and not yet written (the async spool, batches waiting for a shard that
//   is down) are removed from their batch just before it is sent, counted in
//   chfleet_ingest_erased_rows_dropped_total and logged by the subject's hash prefix, never the ID.
//
// The set of erased subjects only grows: a refresh that reads fewer copies of the ledger (sites down) never
// forgets a subject, and a refresh that reads none keeps the set. A node that neither answers nor fails (a
// stopped server) holds a read of its site's copy for at most half the refresh interval (1 s at least) before
// the next node of the site is asked. Erasures are never undone; a returning
// customer is written under a new company ID.
//
// Cost: while the ledger records no erasure nothing is hashed. Otherwise each company's subject (a salted
// SHA-256, erase/Subject.h) is computed once and cached beside the company -> region look-ups; a request
// checks each company once, and a batch is scanned only when subjects were added since its rows were checked
// (Slice::erased_checked).
namespace chfleet::ingest {

/// A row of a company whose erasure the ledger records.
class ErasedCompany : public Exception {
  public:
    using Exception::Exception;
};

/// The fleet's erased subjects as ingest sees them, refreshed from the ledger in the background, and the
/// per-company subject cache. Every member may be called from any thread.
class ErasedCompanies {
  public:
    /// Reads the erased subjects (a whole-ledger read); throws Exception when no copy can be read.
    using Source = std::function<std::vector<std::string>()>;
    /// Subjects cached at most; the cache is emptied when it would grow past this (hashes are recomputed).
    static constexpr size_t kMaxCachedCompanies = size_t{1} << 20;

    /// `salt`: the fleet's erasure salt, empty when this machine has none (then any erased subject in the
    /// ledger makes every check fail closed); `key_type`: the ClickHouse type of the region key (for the
    /// canonical ID); `source`: where subjects come from.
    ErasedCompanies(std::string salt, std::string key_type, Source source,
                    std::chrono::milliseconds refresh_interval);
    ~ErasedCompanies();
    ErasedCompanies(const ErasedCompanies&) = delete;
    ErasedCompanies& operator=(const ErasedCompanies&) = delete;

    /// Reads the ledger of `fleet` (erase::erasedSubjects) with the fleet's salt (none when it is not set).
    static std::unique_ptr<ErasedCompanies> forFleet(const topology::Fleet& fleet,
                                                     std::chrono::milliseconds refresh_interval);

    /// Reads the subjects once and adds the new ones. Returns false (logged) when the source failed.
    bool load();
    /// First load, at start: throws what the source threw, and Exception(InvalidConfig) when the ledger
    /// records erasures and there is no salt to recognise their companies.
    void loadAtStart();
    /// Starts the background thread that calls load() every refresh interval.
    void startRefresh();
    /// Stops and joins the refresh thread; safe to call twice.
    void stop();

    /// Subjects known. The set only grows, so a count also names the set it was (see Slice::erased_checked).
    size_t size() const { return size_.load(); }
    /// The subject of `company` (a region key value as ingest reads it) when it is erased, else nullopt.
    /// Throws Exception(InvalidConfig) when subjects are known but there is no salt (fail closed).
    std::optional<std::string> erasedSubject(std::string_view company);

    /// Removes from `rows` (TabSeparated lines) those whose field `key_index` is an erased company's ID;
    /// returns how many were removed per subject.
    std::map<std::string, size_t> dropErasedRows(std::string& rows, size_t key_index);

    /// Subjects computed since construction (each company once while cached), for tests and metrics.
    size_t hashesComputed() const { return hashes_.load(); }

  private:
    void refreshLoop();

    std::string salt_;
    std::string key_type_;
    Source source_;
    std::chrono::milliseconds refresh_interval_;

    mutable std::shared_mutex mutex_;
    std::unordered_set<std::string> subjects_;
    text::StringMap<std::string> cache_;  ///< company -> its subject
    std::atomic<size_t> size_{0};
    std::atomic<size_t> hashes_{0};

    std::mutex refresh_mutex_;
    std::condition_variable refresh_wake_;
    bool stopping_ = false;
    std::thread refresh_thread_;
};

/// The index of the region key among the columns of rows written with `columns_sql` (a ShardTarget's column
/// list, "(`a`, `b`)"; empty: every column of the table in order); nullopt when the key is not among them.
std::optional<size_t> regionKeyIndex(const topology::Table& table, std::string_view columns_sql);

/// A company ID as chfleet may show it: quoted, cut to a short prefix (at most 4 bytes and at most half the
/// ID, at a UTF-8 character boundary) followed by "…", so that no message holds a whole ID.
std::string companyIdPrefix(std::string_view id);

}  // namespace chfleet::ingest
