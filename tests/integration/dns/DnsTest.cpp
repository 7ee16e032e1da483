#include <gtest/gtest.h>

#include <iostream>
#include <memory>

#include "DnsmasqFixture.h"
#include "sync/ActiveSite.h"
#include "sync/DnsResolver.h"

namespace chfleet::sync {
namespace {

using Site = ActiveSiteDecision::Site;
using chfleet::testing::DnsmasqFixture;

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

/// One dnsmasq for the read-only tests of this binary.
class Dns : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        dns_ = std::make_unique<DnsmasqFixture>(DnsmasqFixture::Records{
            {"failover.test", "127.0.0.5"}, {"other.test", "127.0.0.9"}, {"v6only.test", "fd00::5"}});
    }
    static void TearDownTestSuite() { dns_.reset(); }
    void TearDown() override {
        if (HasFailure()) {
            std::cerr << "dnsmasq log:\n" << dns_->log();
        }
    }

    static SyncSettings settings(const std::string& record, const std::string& primary_ip,
                                 const std::string& dr_ip) {
        SyncSettings s;
        s.dns_record = record;
        s.dns_server = dns_->server();
        s.primary_ip = primary_ip;
        s.dr_ip = dr_ip;
        s.dns_timeout = std::chrono::milliseconds(2000);
        return s;
    }

    static std::unique_ptr<DnsmasqFixture> dns_;
};

std::unique_ptr<DnsmasqFixture> Dns::dns_;

TEST_F(Dns, ResolvesTheRecord) {
    auto answer = DnsResolver(dns_->server()).resolveA("failover.test");
    ASSERT_TRUE(answer) << answer.error().message;
    EXPECT_EQ(*answer, std::vector<std::string>{"127.0.0.5"});
    auto other = DnsResolver(dns_->server()).resolveA("other.test");
    ASSERT_TRUE(other) << other.error().message;
    EXPECT_EQ(*other, std::vector<std::string>{"127.0.0.9"});
}

TEST_F(Dns, DecidesPrimaryAndDr) {
    auto primary = decideActiveSite(settings("failover.test", "127.0.0.5", "127.0.0.9"));
    EXPECT_EQ(primary.site, Site::Primary) << primary.reason;
    EXPECT_EQ(primary.reason, "DNS failover.test answered 127.0.0.5 (PRIMARY_IP)");
    EXPECT_EQ(primary.addresses, std::vector<std::string>{"127.0.0.5"});

    auto dr = decideActiveSite(settings("failover.test", "127.0.0.9", "127.0.0.5"));
    EXPECT_EQ(dr.site, Site::Dr) << dr.reason;
}

TEST_F(Dns, UnknownAddressGivesUnknownWithTheReason) {
    auto decision = decideActiveSite(settings("failover.test", "127.0.0.1", "127.0.0.2"));
    EXPECT_EQ(decision.site, Site::Unknown);
    EXPECT_EQ(
        decision.reason,
        "DNS failover.test answered 127.0.0.5, which is neither PRIMARY_IP 127.0.0.1 nor DR_IP 127.0.0.2");
}

TEST_F(Dns, UnknownNameGivesUnknown) {
    auto answer = DnsResolver(dns_->server()).resolveA("missing.test");
    ASSERT_FALSE(answer);
    EXPECT_TRUE(answer.error().kind == DnsFailure::Kind::Refused ||
                answer.error().kind == DnsFailure::Kind::NotFound)
        << answer.error().message;

    auto decision = decideActiveSite(settings("missing.test", "127.0.0.5", "127.0.0.9"));
    EXPECT_EQ(decision.site, Site::Unknown);
    EXPECT_TRUE(contains(decision.reason, "missing.test")) << decision.reason;
    EXPECT_TRUE(contains(decision.reason, dns_->server())) << decision.reason;
}

TEST_F(Dns, NameWithoutARecordGivesUnknown) {
    auto answer = DnsResolver(dns_->server()).resolveA("v6only.test");
    ASSERT_FALSE(answer);
    EXPECT_EQ(answer.error().kind, DnsFailure::Kind::NoData) << answer.error().message;
    auto decision = decideActiveSite(settings("v6only.test", "127.0.0.5", "127.0.0.9"));
    EXPECT_EQ(decision.site, Site::Unknown);
    EXPECT_TRUE(contains(decision.reason, "no A record")) << decision.reason;
}

TEST_F(Dns, OverrideNeedsNoDns) {
    auto s = settings("failover.test", "127.0.0.5", "127.0.0.9");
    s.active_override = SiteRole::Dr;
    EXPECT_EQ(decideActiveSite(s).site, Site::Dr);
}

TEST(DnsUnanswered, SilentServerTimesOut) {
    chfleet::testing::SilentDnsServer silent;
    SyncSettings s;
    s.dns_record = "failover.test";
    s.dns_server = silent.server();
    s.primary_ip = "127.0.0.5";
    s.dr_ip = "127.0.0.9";
    s.dns_timeout = std::chrono::milliseconds(600);
    auto answer = DnsResolver(s.dns_server, s.dns_timeout).resolveA(s.dns_record);
    ASSERT_FALSE(answer);
    EXPECT_EQ(answer.error().kind, DnsFailure::Kind::Timeout) << answer.error().message;
    auto decision = decideActiveSite(s);
    EXPECT_EQ(decision.site, Site::Unknown);
    EXPECT_TRUE(contains(decision.reason, "no answer")) << decision.reason;
    EXPECT_TRUE(contains(decision.reason, "600 ms")) << decision.reason;
}

TEST(DnsUnanswered, NothingListeningGivesUnknown) {
    SyncSettings s;
    s.dns_record = "failover.test";
    s.dns_server = "127.0.0.1:" + std::to_string(chfleet::testing::freeLoopbackDnsPort());
    s.primary_ip = "127.0.0.5";
    s.dr_ip = "127.0.0.9";
    s.dns_timeout = std::chrono::milliseconds(600);
    auto answer = DnsResolver(s.dns_server, s.dns_timeout).resolveA(s.dns_record);
    ASSERT_FALSE(answer);
    EXPECT_TRUE(answer.error().kind == DnsFailure::Kind::Unreachable ||
                answer.error().kind == DnsFailure::Kind::Timeout)
        << answer.error().message;
    auto decision = decideActiveSite(s);
    EXPECT_EQ(decision.site, Site::Unknown);
    EXPECT_TRUE(contains(decision.reason, s.dns_server)) << decision.reason;
}

TEST(DnsFailover, RecordChangeFlipsTheDecision) {
    DnsmasqFixture dns(DnsmasqFixture::Records{{"failover.test", "127.0.0.5"}});
    SyncSettings s;
    s.dns_record = "failover.test";
    s.dns_server = dns.server();
    s.primary_ip = "127.0.0.5";
    s.dr_ip = "127.0.0.9";
    EXPECT_EQ(decideActiveSite(s).site, Site::Primary);

    dns.restart({{"failover.test", "127.0.0.9"}});
    auto after_failover = decideActiveSite(s);
    EXPECT_EQ(after_failover.site, Site::Dr) << after_failover.reason << "\n" << dns.log();

    dns.restart({{"failover.test", "127.0.0.5"}});
    EXPECT_EQ(decideActiveSite(s).site, Site::Primary) << dns.log();
}

}  // namespace
}  // namespace chfleet::sync
