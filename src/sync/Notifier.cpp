#include "sync/Notifier.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

#include "common/Log.h"

namespace chfleet::sync {

namespace {

constexpr size_t kListedTables = 10;

std::once_flag curl_init_flag;
CURLcode curl_init_status = CURLE_OK;

size_t discardBody(char* /*data*/, size_t size, size_t count, void* /*user*/) {
    return size * count;
}

/// "db.a, db.b and 3 more".
std::string listTables(const std::vector<std::string>& tables) {
    std::string out;
    for (size_t i = 0; i < tables.size() && i < kListedTables; ++i) {
        out += i == 0 ? tables[i] : ", " + tables[i];
    }
    if (tables.size() > kListedTables) {
        out += fmt::format(" and {} more", tables.size() - kListedTables);
    }
    return out;
}

std::string_view plural(uint64_t count, std::string_view one, std::string_view many) {
    return count == 1 ? one : many;
}

}  // namespace

Notifier::Notifier(const SyncSettings& settings, std::chrono::milliseconds connect_timeout,
                   std::chrono::milliseconds total_timeout)
    : webhook_(settings.notify_webhook),
      site_(settings.role ? std::string(siteRoleName(*settings.role)) : std::string()),
      on_gap_(settings.notify_on_gap),
      on_sync_(settings.notify_on_sync),
      on_failback_ready_(settings.notify_on_failback_ready),
      on_new_table_(settings.notify_on_new_table),
      connect_timeout_(connect_timeout),
      total_timeout_(total_timeout) {}

bool Notifier::enabled(NotificationKind kind) const {
    if (webhook_.empty()) {
        return false;
    }
    switch (kind) {
        case NotificationKind::GapDetected:
            return on_gap_;
        case NotificationKind::SyncComplete:
            return on_sync_;
        case NotificationKind::FailbackReady:
            return on_failback_ready_;
        case NotificationKind::NewTables:
            return on_new_table_;
    }
    return false;
}

bool Notifier::notify(NotificationKind kind, const std::string& text) const {
    if (!enabled(kind)) {
        return false;
    }
    auto logger = log::get("sync");
    std::string where = redactUrl(webhook_);
    std::call_once(curl_init_flag, [] { curl_init_status = curl_global_init(CURL_GLOBAL_DEFAULT); });
    if (curl_init_status != CURLE_OK) {
        logger->warn("notification to {} not sent: libcurl cannot start: {}", where,
                     curl_easy_strerror(curl_init_status));
        return false;
    }
    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), &curl_easy_cleanup);
    std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers(
        curl_slist_append(nullptr, "Content-Type: application/json"), &curl_slist_free_all);
    if (!curl || !headers) {
        logger->warn("notification to {} not sent: out of memory", where);
        return false;
    }
    std::string body = nlohmann::json{{"text", text}}.dump();
    CURL* handle = curl.get();
    curl_easy_setopt(handle, CURLOPT_URL, webhook_.c_str());
    curl_easy_setopt(handle, CURLOPT_POST, 1L);
    curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(handle, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(connect_timeout_.count()));
    curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, static_cast<long>(total_timeout_.count()));
    curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, discardBody);
    CURLcode code = curl_easy_perform(handle);
    if (code != CURLE_OK) {
        // curl's own text may quote the URL; only the error code's generic text is logged.
        logger->warn("notification to {} failed: {}; chfleet sync continues without it", where,
                     curl_easy_strerror(code));
        return false;
    }
    long status = 0;
    curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status >= 300) {
        logger->warn("notification to {} was rejected with HTTP {}; chfleet sync continues without it", where,
                     status);
        return false;
    }
    logger->debug("notification sent to {}", where);
    return true;
}

std::string Notifier::source() const {
    return site_.empty() ? "chfleet sync" : fmt::format("chfleet sync ({})", site_);
}

std::string Notifier::gapDetectedText(const std::vector<std::string>& tables) const {
    return fmt::format("⚠️ {}: {} {} data gaps{}", source(), tables.size(),
                       plural(tables.size(), "table has", "tables have"),
                       tables.empty() ? "" : ": " + listTables(tables));
}

std::string Notifier::syncCompleteText(uint64_t partitions_synced, uint64_t rows_synced) const {
    return fmt::format("✅ {}: Sync complete. {} {} synced ({} {})", source(), partitions_synced,
                       plural(partitions_synced, "partition", "partitions"), rows_synced,
                       plural(rows_synced, "row", "rows"));
}

std::string Notifier::failbackReadyText() const {
    return fmt::format("🟢 {}: FAILBACK READY. All tables synced", source());
}

std::string Notifier::newTablesText(const std::vector<std::string>& tables, bool created) const {
    return fmt::format(
        "🆕 {}: New tables detected: {}. {}", source(), listTables(tables),
        created ? "Created on the passive site (AUTO_CREATE_TABLES)" : "Manual creation required");
}

bool Notifier::gapDetected(const std::vector<std::string>& tables) const {
    return notify(NotificationKind::GapDetected, gapDetectedText(tables));
}

bool Notifier::syncComplete(uint64_t partitions_synced, uint64_t rows_synced) const {
    return notify(NotificationKind::SyncComplete, syncCompleteText(partitions_synced, rows_synced));
}

bool Notifier::failbackReady() const {
    return notify(NotificationKind::FailbackReady, failbackReadyText());
}

bool Notifier::newTables(const std::vector<std::string>& tables, bool created) const {
    return notify(NotificationKind::NewTables, newTablesText(tables, created));
}

}  // namespace chfleet::sync
