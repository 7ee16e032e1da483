#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace chfleet::ingest {

/// The longest company ID (region key value) ingest takes. A longer one is refused before it is looked up in
/// the mapping, so that no client can make every region parse a query of its size.
inline constexpr size_t kMaxCompanyIdBytes = 256;

/// True when `id` is longer than kMaxCompanyIdBytes.
bool companyIdTooLong(std::string_view id);

/// `id` for an error message: quoted, cut to its first 64 bytes (the length said) when it is longer, so that
/// an answer never echoes a client's megabyte back.
std::string quotedCompanyId(std::string_view id);

}  // namespace chfleet::ingest
