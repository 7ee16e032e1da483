#pragma once

// IngestServer::PendingInsert: one INSERT while its body is read, with what it needs of the request (the
// settings that matter for writes) and how it is refused. Only the files of IngestServer include it.

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/Digest.h"
#include "ingest/protocol/IngestServer.h"
#include "ingest/route/RequestRouter.h"

namespace chfleet::ingest {

struct InsertStatement;

/// Settings ingest honours from the URL or the SETTINGS clause; every other setting is accepted and ignored
/// for writes (clients send many by default).
struct WriteSettings {
    bool skip_unknown_fields = false;
    bool deduplicate = true;
    std::string deduplication_token;

    void apply(const std::string& name, const std::string& value) {
        if (name == "input_format_skip_unknown_fields") {
            skip_unknown_fields = value == "1" || value == "true";
        } else if (name == "insert_deduplicate") {
            deduplicate = !(value == "0" || value == "false");
        } else if (name == "insert_deduplication_token") {
            deduplication_token = value;
        }
    }
};

/// A refusal of the request: its answer and the metric reason.
struct Refusal {
    int status;
    int code;
    std::string message;
    std::string reason;
};

/// One INSERT while its body is read: the statement, the router its rows go through, the request's
/// fingerprint, and the first refusal. Rows arrive through feed() in chunks; nothing is sent before finish()
/// succeeded and IngestServer::commitInsert hands the routed rows over.
struct IngestServer::PendingInsert {
    PendingInsert(IngestServer& server, const httplib::Request& request, std::string user);
    ~PendingInsert();

    /// Parses the statement and feeds the rows written inline after it. False once refused.
    bool start(std::string_view statement_text);
    bool feed(std::string_view chunk);
    bool finish();

    IngestServer& server;
    const httplib::Request& request;
    std::string user;
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    /// Erased subjects known before its first row was checked (Slice::erased_checked).
    size_t erased_checked = 0;
    std::optional<Refusal> refusal;
    const topology::Table* table = nullptr;
    WriteSettings settings;
    std::unique_ptr<RequestRouter> router;
    StreamDigest digest;  ///< the fingerprint: who writes what where, and the rows
    bool by_token = false;
    size_t held = 0;
    size_t rows = 0;
    std::string fingerprint;
    std::vector<RequestRouter::Output> outputs;

  private:
    /// Runs `fn`; an exception it throws becomes the refusal. False once refused (and `fn` is not run then).
    template <typename Fn>
    bool guarded(Fn&& fn);
    /// Finds the table and format of the statement, takes the settings, sets up the router and the
    /// fingerprint.
    void resolve(const InsertStatement& statement);
    /// A chunk of rows: counted against the limits, added to the fingerprint, fed to the router.
    void take(std::string_view chunk);
};

}  // namespace chfleet::ingest
