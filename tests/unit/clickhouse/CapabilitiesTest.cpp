#include <gtest/gtest.h>

#include "clickhouse/Capabilities.h"
#include "common/Exception.h"

namespace chfleet::clickhouse {
namespace {

TEST(CapabilitiesTest, ParsesVersions) {
    auto old = parseServerVersion("18.16.1");
    EXPECT_EQ(old.major, 18);
    EXPECT_EQ(old.minor, 16);
    EXPECT_EQ(old.patch, 1);
    auto current = parseServerVersion("23.8.16.16");
    EXPECT_EQ(current.major, 23);
    EXPECT_EQ(current.minor, 8);
    EXPECT_EQ(current.patch, 16);
    EXPECT_EQ(parseServerVersion("24.3").patch, 0);
    EXPECT_EQ(parseServerVersion("24.3.1.2672-lts").minor, 3);
    for (const char* bad : {"", "abc", "18", "18.", ".16", "-1.2", "x18.16"}) {
        EXPECT_THROW(parseServerVersion(bad), Exception) << bad;
    }
}

TEST(CapabilitiesTest, VersionComparison) {
    ServerVersion v{19, 6, 0};
    EXPECT_TRUE(v.atLeast(19, 6));
    EXPECT_TRUE(v.atLeast(18, 16));
    EXPECT_FALSE(v.atLeast(19, 11));
    EXPECT_FALSE(v.atLeast(20, 1));
}

TEST(CapabilitiesTest, VersionGatedFeatures) {
    auto old = capabilitiesForVersion("18.16.1");
    EXPECT_FALSE(old.ttl);
    EXPECT_FALSE(old.lightweight_delete);
    EXPECT_FALSE(old.query_parameters);

    auto ttl_only = capabilitiesForVersion("19.6.2.11");
    EXPECT_TRUE(ttl_only.ttl);
    EXPECT_FALSE(ttl_only.query_parameters);

    EXPECT_TRUE(capabilitiesForVersion("19.11.3.11").query_parameters);
    EXPECT_FALSE(capabilitiesForVersion("23.2.1.1").lightweight_delete);
    EXPECT_TRUE(capabilitiesForVersion("23.3.1.1").lightweight_delete);
}

TEST(CapabilitiesTest, ProbeAnswerOf18_16) {
    // Recorded from clickhouse-server 18.16.1 for capabilitiesProbeSql() + FORMAT
    // TabSeparatedWithNamesAndTypes.
    auto probe = Result::parse(
        "version\tremote_secure\tmax_insert_threads\tinsert_deduplication_token\tsystem_disks\t"
        "ttl_only_drop_parts\n"
        "String\tUInt64\tUInt64\tUInt64\tUInt64\tUInt64\n18.16.1\t0\t0\t0\t0\t0\n",
        "127.0.0.1:18123");
    auto capabilities = capabilitiesFromProbe(probe);
    EXPECT_EQ(capabilities.version, "18.16.1");
    EXPECT_EQ(capabilities.major, 18);
    EXPECT_FALSE(capabilities.remote_secure);
    EXPECT_FALSE(capabilities.max_insert_threads);
    EXPECT_FALSE(capabilities.insert_deduplication_token);
    EXPECT_FALSE(capabilities.system_disks);
    EXPECT_FALSE(capabilities.ttl);
    EXPECT_FALSE(capabilities.ttl_only_drop_parts);
}

TEST(CapabilitiesTest, ProbeAnswerOf26_5) {
    // Recorded from the embedded ClickHouse 26.5 engine (scalar subqueries typed Nullable there).
    auto probe = Result::parse(
        "version\tremote_secure\tmax_insert_threads\tinsert_deduplication_token\tsystem_disks\t"
        "ttl_only_drop_parts\n"
        "String\tNullable(UInt64)\tNullable(UInt64)\tNullable(UInt64)\tNullable(UInt64)\tNullable(UInt64)\n"
        "26.5.1.1\t1\t1\t1\t1\t1\n",
        "embedded");
    auto capabilities = capabilitiesFromProbe(probe);
    EXPECT_TRUE(capabilities.atLeast(26, 5));
    EXPECT_TRUE(capabilities.remote_secure);
    EXPECT_TRUE(capabilities.max_insert_threads);
    EXPECT_TRUE(capabilities.insert_deduplication_token);
    EXPECT_TRUE(capabilities.system_disks);
    EXPECT_TRUE(capabilities.ttl_only_drop_parts);
    EXPECT_TRUE(capabilities.ttl);
    EXPECT_TRUE(capabilities.lightweight_delete);
    EXPECT_TRUE(capabilities.query_parameters);
}

}  // namespace
}  // namespace chfleet::clickhouse
