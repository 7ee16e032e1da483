#include "retention/Horizon.h"

#include <fmt/format.h>

#include <ctime>

#include "clickhouse/Quoting.h"

namespace chfleet::retention {

ValueKind valueKindOf(std::string_view type) {
    if (type == "Date") {
        return ValueKind::Date;
    }
    if (type == "DateTime" || (type.starts_with("DateTime(") && type.ends_with(")"))) {
        return ValueKind::DateTime;
    }
    return ValueKind::Unsupported;
}

uint64_t valueSeconds(ValueKind kind, uint64_t stored) {
    return kind == ValueKind::Date ? (stored + 2) * kSecondsPerDay : stored;
}

uint64_t horizonOf(int days, uint64_t now) {
    uint64_t span = static_cast<uint64_t>(days) * kSecondsPerDay;
    return now > span ? now - span : 0;
}

bool isPastHorizon(uint64_t newest_seconds, int days, uint64_t now) {
    return days > 0 && newest_seconds < horizonOf(days, now);
}

std::string storedValueSql(const std::string& column) {
    return "toUInt32(" + clickhouse::quoteIdentifier(column) + ")";
}

std::string pastHorizonSql(const std::string& column, ValueKind kind, uint64_t horizon) {
    // DateTime: t < horizon. Date: (d + 2) * 86400 < horizon, i.e. d + 2 < ceil(horizon / 86400).
    uint64_t bound = horizon;
    if (kind == ValueKind::Date) {
        uint64_t days = (horizon + kSecondsPerDay - 1) / kSecondsPerDay;
        bound = days > 2 ? days - 2 : 0;
    }
    return storedValueSql(column) + " < " + std::to_string(bound);
}

std::string formatUtc(uint64_t seconds) {
    std::time_t time = static_cast<std::time_t>(seconds);
    std::tm parts{};
    gmtime_r(&time, &parts);
    return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}", parts.tm_year + 1900, parts.tm_mon + 1,
                       parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec);
}

}  // namespace chfleet::retention
