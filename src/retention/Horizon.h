#pragma once

#include <cstdint>
#include <string>
#include <string_view>

// When a row or a partition is past its retention: the one definition that `retention run` (which drops),
// `retention status` (which reports) and `sync` (which never copies expired partitions back) share.
//
// A row's age is measured on its retention column. Values are read as the server stores them: a DateTime as
// unix seconds, a Date as a day number. A DateTime t is past a horizon of `days` at `now` when
// t + days * 86400 < now. A Date d stands for a whole day in the server's time zone, whatever that is, so
// it counts as (d + 2) * 86400 seconds: later than the end of that day in any time zone. The horizon is
// therefore never reached early, only up to two days late, and a partition is past it only when its newest
// value is.
namespace chfleet::retention {

inline constexpr uint64_t kSecondsPerDay = 86400;

/// How the retention column stores time.
enum class ValueKind { Date, DateTime, Unsupported };

/// The kind of a column type as system.columns prints it: Date, DateTime, DateTime('tz'); anything else
/// (Nullable, Date32, DateTime64, ...) is Unsupported and its partitions are kept and reported.
ValueKind valueKindOf(std::string_view type);

/// The moment a stored value (seconds for DateTime, a day number for Date) stands for, in unix seconds.
uint64_t valueSeconds(ValueKind kind, uint64_t stored);

/// The first moment that is inside a policy of `days` at `now`: rows (and partitions) whose value lies
/// before it are past the horizon. 0 when the horizon lies before 1970.
uint64_t horizonOf(int days, uint64_t now);

/// True when a partition whose newest value is `newest_seconds` (see valueSeconds) is entirely past a
/// policy of `days` at `now`: every row it holds may go. `days` <= 0 means "kept for ever".
bool isPastHorizon(uint64_t newest_seconds, int days, uint64_t now);

/// The SQL of the stored value of `column` as an unsigned number (what valueSeconds reads).
std::string storedValueSql(const std::string& column);

/// A WHERE condition true exactly for the rows of `column` that are past `horizon` (see horizonOf).
std::string pastHorizonSql(const std::string& column, ValueKind kind, uint64_t horizon);

/// A moment as "YYYY-MM-DD HH:MM:SS" UTC, for reports.
std::string formatUtc(uint64_t seconds);

}  // namespace chfleet::retention
