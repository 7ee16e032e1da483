#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sync/SyncSettings.h"

namespace chfleet::sync {

/// Which site is active (takes the writes) right now, and why chfleet thinks so. Unknown means "do not repair
/// this cycle"; `reason` then tells the operator what to fix, and goes into the state file's last_error.
struct ActiveSiteDecision {
    enum class Site { Primary, Dr, Unknown };
    Site site = Site::Unknown;
    std::string reason;                  ///< e.g. "DNS failover.example.com answered 10.0.0.1 (PRIMARY_IP)"
    std::vector<std::string> addresses;  ///< what DNS answered (empty with an override or a failed lookup)
};

/// "primary", "dr" or "unknown" (the state file's active_site values).
std::string_view activeSiteName(ActiveSiteDecision::Site site);

/// Decides the active site as CH-Sync did, plus an override:
/// 1. settings.active_override (CHSYNC_ACTIVE, --active) wins and DNS is not asked;
/// 2. otherwise DNS_RECORD is resolved (against DNS_SERVER, or the system resolver) within
/// CHSYNC_DNS_TIMEOUT_MS;
/// 3. the answer is compared with PRIMARY_IP and DR_IP (see decideFromAddresses).
/// No record, no PRIMARY_IP/DR_IP, equal IPs or a failed lookup give Unknown with the reason. Never throws.
ActiveSiteDecision decideActiveSite(const SyncSettings& settings);

/// Step 3 alone: the site whose IP is among `addresses`; Unknown when neither or both are.
ActiveSiteDecision decideFromAddresses(const SyncSettings& settings,
                                       const std::vector<std::string>& addresses);

}  // namespace chfleet::sync
