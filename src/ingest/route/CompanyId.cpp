#include "ingest/route/CompanyId.h"

#include <fmt/format.h>

#include "clickhouse/Quoting.h"

namespace chfleet::ingest {
namespace {

constexpr size_t kQuotedPrefixBytes = 64;

}  // namespace

bool companyIdTooLong(std::string_view id) {
    return id.size() > kMaxCompanyIdBytes;
}

std::string quotedCompanyId(std::string_view id) {
    if (id.size() <= kQuotedPrefixBytes) {
        return clickhouse::quoteString(id);
    }
    return fmt::format("{}... ({} bytes)", clickhouse::quoteString(id.substr(0, kQuotedPrefixBytes)),
                       id.size());
}

}  // namespace chfleet::ingest
