#include <gtest/gtest.h>

#include "sync/ActiveSite.h"
#include "sync/DnsResolver.h"

namespace chfleet::sync {
namespace {

using Site = ActiveSiteDecision::Site;

SyncSettings dnsSettings() {
    SyncSettings settings;
    settings.dns_record = "failover.example.com";
    settings.primary_ip = "10.0.0.1";
    settings.dr_ip = "10.0.0.2";
    return settings;
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

TEST(ActiveSite, AddressesMapToSites) {
    auto settings = dnsSettings();
    auto primary = decideFromAddresses(settings, {"10.0.0.1"});
    EXPECT_EQ(primary.site, Site::Primary);
    EXPECT_EQ(primary.reason, "DNS failover.example.com answered 10.0.0.1 (PRIMARY_IP)");
    EXPECT_EQ(primary.addresses, std::vector<std::string>{"10.0.0.1"});
    EXPECT_EQ(decideFromAddresses(settings, {"10.0.0.2"}).site, Site::Dr);
    EXPECT_EQ(decideFromAddresses(settings, {"10.0.0.7", "10.0.0.2"}).site, Site::Dr);
}

TEST(ActiveSite, UnknownAddressExplainsItself) {
    auto decision = decideFromAddresses(dnsSettings(), {"10.0.0.9"});
    EXPECT_EQ(decision.site, Site::Unknown);
    EXPECT_EQ(decision.reason,
              "DNS failover.example.com answered 10.0.0.9, which is neither PRIMARY_IP 10.0.0.1 nor DR_IP "
              "10.0.0.2");
}

TEST(ActiveSite, BothAddressesIsUnknown) {
    auto decision = decideFromAddresses(dnsSettings(), {"10.0.0.1", "10.0.0.2"});
    EXPECT_EQ(decision.site, Site::Unknown);
    EXPECT_TRUE(contains(decision.reason, "both")) << decision.reason;
}

TEST(ActiveSite, OverrideWinsWithoutDns) {
    auto settings = dnsSettings();
    settings.dns_server = "127.0.0.1:1";  // never asked
    settings.active_override = SiteRole::Dr;
    auto decision = decideActiveSite(settings);
    EXPECT_EQ(decision.site, Site::Dr);
    EXPECT_TRUE(contains(decision.reason, "override")) << decision.reason;
    EXPECT_TRUE(decision.addresses.empty());
    settings.active_override = SiteRole::Primary;
    EXPECT_EQ(decideActiveSite(settings).site, Site::Primary);
}

TEST(ActiveSite, MissingConfigurationIsUnknown) {
    auto no_record = decideActiveSite(SyncSettings{});
    EXPECT_EQ(no_record.site, Site::Unknown);
    EXPECT_TRUE(contains(no_record.reason, "DNS_RECORD")) << no_record.reason;

    auto settings = dnsSettings();
    settings.dr_ip.clear();
    auto no_dr = decideActiveSite(settings);
    EXPECT_EQ(no_dr.site, Site::Unknown);
    EXPECT_TRUE(contains(no_dr.reason, "DR_IP is not set")) << no_dr.reason;

    settings = dnsSettings();
    settings.dr_ip = settings.primary_ip;
    auto equal = decideActiveSite(settings);
    EXPECT_EQ(equal.site, Site::Unknown);
    EXPECT_TRUE(contains(equal.reason, "both 10.0.0.1")) << equal.reason;
}

TEST(ActiveSite, SiteNames) {
    EXPECT_EQ(activeSiteName(Site::Primary), "primary");
    EXPECT_EQ(activeSiteName(Site::Dr), "dr");
    EXPECT_EQ(activeSiteName(Site::Unknown), "unknown");
}

TEST(DnsResolver, MalformedInputIsAFailureNotAnException) {
    auto bad_server = DnsResolver("not-an-ip:53").resolveA("failover.example.com");
    ASSERT_FALSE(bad_server);
    EXPECT_EQ(bad_server.error().kind, DnsFailure::Kind::BadInput);
    EXPECT_TRUE(contains(bad_server.error().message, "not-an-ip:53")) << bad_server.error().message;

    auto bad_name = DnsResolver("127.0.0.1:53").resolveA("has space.example.com");
    ASSERT_FALSE(bad_name);
    EXPECT_EQ(bad_name.error().kind, DnsFailure::Kind::BadInput);

    auto empty = DnsResolver().resolveA("");
    ASSERT_FALSE(empty);
    EXPECT_EQ(empty.error().kind, DnsFailure::Kind::BadInput);
}

TEST(DnsResolver, DescribesItsServer) {
    EXPECT_EQ(DnsResolver().describeServer(), "the system resolver");
    EXPECT_EQ(DnsResolver("10.0.0.53").describeServer(), "DNS server 10.0.0.53:53");
    EXPECT_EQ(DnsResolver("10.0.0.53:5353").describeServer(), "DNS server 10.0.0.53:5353");
    EXPECT_EQ(DnsResolver("[fd00::53]").describeServer(), "DNS server [fd00::53]:53");
    EXPECT_EQ(dnsFailureKindName(DnsFailure::Kind::NotFound), "nxdomain");
}

TEST(DnsResolver, SystemResolverReadsHostsFile) {
    // /etc/hosts maps localhost on every system; no packet leaves the machine.
    auto answer = DnsResolver().resolveA("localhost");
    ASSERT_TRUE(answer) << answer.error().message;
    EXPECT_NE(std::find(answer->begin(), answer->end(), "127.0.0.1"), answer->end());
}

}  // namespace
}  // namespace chfleet::sync
