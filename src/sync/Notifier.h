#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "sync/SyncSettings.h"

namespace chfleet::sync {

/// The events chfleet sync notifies, each gated by its NOTIFY_ON_* setting.
enum class NotificationKind {
    GapDetected,    ///< NOTIFY_ON_GAP
    SyncComplete,   ///< NOTIFY_ON_SYNC
    FailbackReady,  ///< NOTIFY_ON_FAILBACK_READY
    NewTables,      ///< NOTIFY_ON_NEW_TABLE
};

/// Sends CH-Sync's webhook notifications: an HTTP POST of `{"text": "..."}` (what Slack and Teams incoming
/// webhooks accept) to NOTIFY_WEBHOOK. Delivery is best effort: a failure (refused, timeout, HTTP 4xx/5xx) is
/// one warning and never an exception, so a broken webhook never stops the daemon. The webhook URL is a
/// secret (its path is the token): logs show only its scheme://host.
class Notifier {
  public:
    /// Copies the webhook and the toggles from `settings`; no webhook means every notify is a no-op.
    explicit Notifier(const SyncSettings& settings,
                      std::chrono::milliseconds connect_timeout = std::chrono::seconds(3),
                      std::chrono::milliseconds total_timeout = std::chrono::seconds(10));

    /// Whether `kind` would be sent (a webhook is set and its toggle is on).
    bool enabled(NotificationKind kind) const;

    /// Sends `text` if `kind` is enabled. Returns whether the webhook accepted it (2xx); false when disabled.
    bool notify(NotificationKind kind, const std::string& text) const;

    /// The events with their standard texts. `tables` are "db.table" names (the first 10 are listed).
    bool gapDetected(const std::vector<std::string>& tables) const;
    bool syncComplete(uint64_t partitions_synced, uint64_t rows_synced) const;
    bool failbackReady() const;
    bool newTables(const std::vector<std::string>& tables, bool created) const;

    /// The standard texts, e.g. "⚠️ chfleet sync (dr): 2 tables have data gaps: db.a, db.b".
    std::string gapDetectedText(const std::vector<std::string>& tables) const;
    std::string syncCompleteText(uint64_t partitions_synced, uint64_t rows_synced) const;
    std::string failbackReadyText() const;
    std::string newTablesText(const std::vector<std::string>& tables, bool created) const;

  private:
    std::string source() const;

    std::string webhook_;
    std::string site_;  ///< ROLE, shown in every message so that two sites can share a channel
    bool on_gap_;
    bool on_sync_;
    bool on_failback_ready_;
    bool on_new_table_;
    std::chrono::milliseconds connect_timeout_;
    std::chrono::milliseconds total_timeout_;
};

}  // namespace chfleet::sync
