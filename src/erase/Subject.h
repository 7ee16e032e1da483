#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "topology/Fleet.h"

// How erasure names a company. The ID is checked against the type of the tables' region key before anything
// runs; the first run deletes by an exact, typed, quoted match on the ID (it uses the tables' index); every
// later step (reruns for nodes that were down, sync, restore) knows only the subject, a salted SHA-256 of
// the ID, and matches rows by the same hash computed inside ClickHouse.
namespace chfleet::erase {

/// Longest company ID accepted, in bytes.
inline constexpr size_t kMaxIdLength = 256;

/// Why `id` cannot be erased as a value of a column of ClickHouse type `type` ("" when it can): empty, too
/// long, spaces around it, quotes, backslashes or control characters (NUL, newlines), or not a value of the
/// type. Supported key types: String, UUID, (U)Int8..64, each optionally Nullable or LowCardinality.
std::string idProblem(std::string_view id, std::string_view type);

/// The ID as ClickHouse's toString(<column>) prints it (lower-case UUID, integers without leading zeros or
/// plus sign), the text the subject hashes.
std::string canonicalId(std::string_view id, std::string_view type);

/// The subject of a company: lower-case hex SHA-256 of salt followed by the canonical ID.
std::string subjectOf(std::string_view salt, std::string_view canonical_id);

/// The region key's type for erasure: the one type every table's region key has; throws
/// Exception(InvalidConfig) when tables disagree or no table has a region key.
std::string regionKeyType(const topology::Fleet& fleet);

/// The tables erasure works on: every table and materialized view with a region key, in schema order.
std::vector<const topology::Table*> erasableTables(const topology::Fleet& fleet);

/// `key` = <the ID as a quoted literal typed to the column>, e.g. `company_id` = 'acme' or
/// `id` = toUUID('…'). `id` must have passed idProblem.
std::string idCondition(const topology::Table& table, std::string_view id);

/// lower(hex(SHA256(concat('<salt>', toString(`key`))))) IN ('<subject>', ...); empty when `subjects` is.
std::string subjectCondition(const topology::Table& table, std::string_view salt,
                             const std::vector<std::string>& subjects);

/// The first 12 hex digits of a subject: how logs and tables name a company without its ID.
std::string shortSubject(std::string_view subject);

}  // namespace chfleet::erase
