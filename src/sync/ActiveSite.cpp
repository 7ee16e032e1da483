#include "sync/ActiveSite.h"

#include <fmt/format.h>

#include <algorithm>

#include "sync/DnsResolver.h"

namespace chfleet::sync {

namespace {

using Site = ActiveSiteDecision::Site;

std::string joinAddresses(const std::vector<std::string>& addresses) {
    std::string out;
    for (const auto& address : addresses) {
        out += out.empty() ? address : ", " + address;
    }
    return out;
}

ActiveSiteDecision unknown(std::string reason, std::vector<std::string> addresses = {}) {
    return {Site::Unknown, std::move(reason), std::move(addresses)};
}

}  // namespace

std::string_view activeSiteName(Site site) {
    switch (site) {
        case Site::Primary:
            return "primary";
        case Site::Dr:
            return "dr";
        case Site::Unknown:
            break;
    }
    return "unknown";
}

ActiveSiteDecision decideFromAddresses(const SyncSettings& settings,
                                       const std::vector<std::string>& addresses) {
    auto has = [&](const std::string& ip) {
        return !ip.empty() && std::find(addresses.begin(), addresses.end(), ip) != addresses.end();
    };
    bool primary = has(settings.primary_ip);
    bool dr = has(settings.dr_ip);
    std::string answered = fmt::format("DNS {} answered {}", settings.dns_record,
                                       addresses.empty() ? std::string("nothing") : joinAddresses(addresses));
    if (primary && dr) {
        return unknown(
            fmt::format("{}, which holds both PRIMARY_IP {} and DR_IP {}; fix the record so that it "
                        "names one site",
                        answered, settings.primary_ip, settings.dr_ip),
            addresses);
    }
    if (primary) {
        return {Site::Primary, fmt::format("{} (PRIMARY_IP)", answered), addresses};
    }
    if (dr) {
        return {Site::Dr, fmt::format("{} (DR_IP)", answered), addresses};
    }
    return unknown(fmt::format("{}, which is neither PRIMARY_IP {} nor DR_IP {}", answered,
                               settings.primary_ip.empty() ? "(not set)" : settings.primary_ip,
                               settings.dr_ip.empty() ? "(not set)" : settings.dr_ip),
                   addresses);
}

ActiveSiteDecision decideActiveSite(const SyncSettings& settings) {
    if (settings.active_override) {
        auto site = *settings.active_override == SiteRole::Primary ? Site::Primary : Site::Dr;
        return {site,
                fmt::format("active site {} set by override (CHSYNC_ACTIVE or --active); DNS not consulted",
                            siteRoleName(*settings.active_override)),
                {}};
    }
    if (settings.dns_record.empty()) {
        return unknown(
            "no DNS_RECORD configured and no override (CHSYNC_ACTIVE or --active primary|dr): cannot tell "
            "which "
            "site is active");
    }
    if (settings.primary_ip.empty() || settings.dr_ip.empty()) {
        return unknown(fmt::format("{} not set: cannot map the answer of DNS {} to a site",
                                   settings.primary_ip.empty() && settings.dr_ip.empty()
                                       ? "PRIMARY_IP and DR_IP are"
                                   : settings.primary_ip.empty() ? "PRIMARY_IP is"
                                                                 : "DR_IP is",
                                   settings.dns_record));
    }
    if (settings.primary_ip == settings.dr_ip) {
        return unknown(fmt::format("PRIMARY_IP and DR_IP are both {}: DNS {} cannot tell the sites apart",
                                   settings.primary_ip, settings.dns_record));
    }
    DnsResolver resolver(settings.dns_server, settings.dns_timeout);
    auto answer = resolver.resolveA(settings.dns_record);
    if (!answer) {
        return unknown(fmt::format("DNS {} could not be resolved via {}: {}", settings.dns_record,
                                   resolver.describeServer(), answer.error().message));
    }
    return decideFromAddresses(settings, *answer);
}

}  // namespace chfleet::sync
