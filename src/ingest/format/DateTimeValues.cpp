// The grammar of Date and DateTime values (ValueType::checkDate, checkDayNumber, checkDateTime): the
// calendar arithmetic, the spellings ClickHouse reads, and the canonical text every server version reads
// alike.
#include <array>
#include <cstdint>
#include <string>

#include "ingest/format/ValueGrammar.h"
#include "ingest/format/ValueType.h"

namespace chfleet::ingest {

namespace {

using value_grammar::allDigits, value_grammar::emit, value_grammar::isDigit, value_grammar::parseUnsigned,
    value_grammar::readNumber;

/// 1970-01-01 .. 2149-06-06 (the Date range) and the last day a DateTime reaches (2106-02-07).
constexpr int64_t kMaxDateDay = 65535;
constexpr int64_t kMaxDatetimeDay = 49710;
constexpr uint64_t kMaxDatetime = 4294967295ULL;

/// Days from 1970-01-01 to a proleptic Gregorian date (the usual era-based civil calendar arithmetic).
int64_t daysFromCivil(int64_t year, unsigned month, unsigned day) {
    year -= month <= 2 ? 1 : 0;
    const int64_t era = (year >= 0 ? year : year - 399) / 400;
    const auto year_of_era = static_cast<unsigned>(year - era * 400);
    const unsigned day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
    const unsigned day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + static_cast<int64_t>(day_of_era) - 719468;
}

struct CivilDate {
    int64_t year;
    unsigned month;
    unsigned day;
};

CivilDate civilFromDays(int64_t days) {
    days += 719468;
    const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    const auto day_of_era = static_cast<unsigned>(days - era * 146097);
    const unsigned year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
    const unsigned day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    const unsigned mp = (5 * day_of_year + 2) / 153;
    const unsigned day = day_of_year - (153 * mp + 2) / 5 + 1;
    const unsigned month = mp < 10 ? mp + 3 : mp - 9;
    return {static_cast<int64_t>(year_of_era) + era * 400 + (month <= 2 ? 1 : 0), month, day};
}

unsigned daysInMonth(int64_t year, unsigned month) {
    static constexpr std::array<unsigned, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : kDays[month - 1];
}

/// A calendar date at the start of `text`: YYYY-M-D with '-' or '/' (one or two digits for month and day).
/// Sets `days` (from 1970-01-01, unchecked range) and advances `pos`; false when it is not a real date.
bool readDate(std::string_view text, size_t& pos, int64_t& days) {
    unsigned year = 0;
    unsigned month = 0;
    unsigned day = 0;
    size_t start = pos;
    if (!readNumber(text, pos, 4, year) || pos - start != 4) {
        return false;
    }
    if (pos >= text.size() || (text[pos] != '-' && text[pos] != '/')) {
        return false;
    }
    ++pos;
    if (!readNumber(text, pos, 2, month)) {
        return false;
    }
    if (pos >= text.size() || (text[pos] != '-' && text[pos] != '/')) {
        return false;
    }
    ++pos;
    if (!readNumber(text, pos, 2, day)) {
        return false;
    }
    if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
        return false;
    }
    days = daysFromCivil(year, month, day);
    return true;
}

void appendPadded(std::string& out, uint64_t value, size_t width) {
    char digits[20];
    size_t count = 0;
    do {
        digits[count++] = static_cast<char>('0' + value % 10);
        value /= 10;
    } while (value > 0);
    for (size_t i = count; i < width; ++i) {
        out += '0';
    }
    while (count > 0) {
        out += digits[--count];
    }
}

void appendDate(std::string& out, int64_t days) {
    CivilDate date = civilFromDays(days);
    appendPadded(out, static_cast<uint64_t>(date.year), 4);
    out += '-';
    appendPadded(out, date.month, 2);
    out += '-';
    appendPadded(out, date.day, 2);
}

/// The number written by the two digits at `text[pos]` (both known to be digits).
unsigned twoDigits(std::string_view text, size_t pos) {
    return static_cast<unsigned>((text[pos] - '0') * 10 + (text[pos + 1] - '0'));
}

/// True for text of the shape `pattern`, where '9' stands for any digit and other bytes for themselves.
bool hasShape(std::string_view text, std::string_view pattern) {
    if (text.size() != pattern.size()) {
        return false;
    }
    for (size_t i = 0; i < text.size(); ++i) {
        if (pattern[i] == '9' ? !isDigit(text[i]) : text[i] != pattern[i]) {
            return false;
        }
    }
    return true;
}

/// Days from 1970-01-01 of a canonical YYYY-MM-DD at the start of `text`, or -1 when it is no real date.
int64_t canonicalDateDays(std::string_view text) {
    auto year = static_cast<int64_t>(twoDigits(text, 0) * 100 + twoDigits(text, 2));
    unsigned month = twoDigits(text, 5);
    unsigned day = twoDigits(text, 8);
    if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
        return -1;
    }
    return daysFromCivil(year, month, day);
}

}  // namespace

ValueType::Verdict ValueType::checkDate(std::string_view text, std::string& out, std::string& problem) const {
    if (hasShape(text, "9999-99-99")) {
        int64_t days = canonicalDateDays(text);
        if (days >= 0 && days <= kMaxDateDay) {
            return Verdict::Valid;
        }
    }
    if (text == "0000-00-00") {
        out += "1970-01-01";
        return Verdict::Rewritten;
    }
    int64_t days = -1;
    size_t pos = 0;
    bool parsed = false;
    if (text.size() == 8 && allDigits(text)) {
        unsigned year = 0;
        unsigned month = 0;
        unsigned day = 0;
        size_t digit = 0;
        readNumber(text, digit, 4, year);
        readNumber(text, digit, 2, month);
        readNumber(text, digit, 2, day);
        if (month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month)) {
            days = daysFromCivil(year, month, day);
            parsed = true;
        }
    } else {
        parsed = readDate(text, pos, days) && pos == text.size();
    }
    if (!parsed || days < 0 || days > kMaxDateDay) {
        problem = "expected a date YYYY-MM-DD from 1970-01-01 to 2149-06-06";
        return Verdict::Invalid;
    }
    std::string canonical;
    appendDate(canonical, days);
    return emit(text, canonical, out);
}

bool ValueType::checkDayNumber(std::string_view digits, std::string& out, std::string& problem) const {
    uint64_t days = 0;
    if (digits.empty() || digits.size() > 5 || !allDigits(digits) || !parseUnsigned(digits, days) ||
        days > static_cast<uint64_t>(kMaxDateDay)) {
        problem = "expected a date YYYY-MM-DD from 1970-01-01 to 2149-06-06 or a day number up to 65535";
        return false;
    }
    appendDate(out, static_cast<int64_t>(days));
    return true;
}

/* DateTime: a local date and time stays local text (the server applies the column's or its own time zone,
 * exactly as if the client had inserted directly); a value that names its offset, or a unix timestamp, is an
 * absolute instant and is written as a 10-digit timestamp, which every server reads alike whatever its
 * date_time_input_format (basic wants exactly 10 digits, best_effort 9 or 10, 18.16 any). */
ValueType::Verdict ValueType::checkDateTime(std::string_view text, std::string& out,
                                            std::string& problem) const {
    auto invalid = [&]() {
        problem =
            "expected YYYY-MM-DD hh:mm:ss or a unix timestamp, from 1970-01-01 00:00:00 to 2106-02-07 "
            "06:28:15";
        return Verdict::Invalid;
    };
    if (hasShape(text, "9999-99-99 99:99:99")) {
        int64_t days = canonicalDateDays(text);
        if (days >= 0 && days <= kMaxDatetimeDay && twoDigits(text, 11) <= 23 && twoDigits(text, 14) <= 59 &&
            twoDigits(text, 17) <= 59) {
            return Verdict::Valid;
        }
    }
    if (text == "0000-00-00 00:00:00" || text == "0000-00-00") {
        out += "0000000000";
        return Verdict::Rewritten;
    }
    if (!text.empty() && allDigits(text)) {
        uint64_t timestamp = 0;
        if (text.size() < 9 || text.size() > 10 || !parseUnsigned(text, timestamp) ||
            timestamp > kMaxDatetime) {
            return invalid();
        }
        if (text.size() == 10) {
            return Verdict::Valid;
        }
        appendPadded(out, timestamp, 10);
        return Verdict::Rewritten;
    }
    size_t pos = 0;
    int64_t days = 0;
    if (!readDate(text, pos, days)) {
        return invalid();
    }
    unsigned hour = 0;
    unsigned minute = 0;
    unsigned second = 0;
    bool has_offset = false;
    int64_t offset_seconds = 0;
    if (pos < text.size()) {
        if (text[pos] != ' ' && text[pos] != 'T') {
            return invalid();
        }
        ++pos;
        if (!readNumber(text, pos, 2, hour) || pos >= text.size() || text[pos] != ':') {
            return invalid();
        }
        ++pos;
        if (!readNumber(text, pos, 2, minute)) {
            return invalid();
        }
        if (pos < text.size() && text[pos] == ':') {
            ++pos;
            if (!readNumber(text, pos, 2, second)) {
                return invalid();
            }
        }
        if (pos < text.size() && text[pos] == '.') {
            size_t fraction_start = ++pos;
            while (pos < text.size() && isDigit(text[pos])) {
                ++pos;
            }
            if (pos == fraction_start) {
                return invalid();
            }
        }
        if (pos < text.size() && text[pos] == ' ') {
            ++pos;
            if (pos == text.size()) {
                return invalid();
            }
        }
        if (pos < text.size()) {
            has_offset = true;
            if (text[pos] == 'Z') {
                ++pos;
            } else if (text[pos] == '+' || text[pos] == '-') {
                bool negative = text[pos] == '-';
                ++pos;
                size_t hours_start = pos;
                unsigned offset_hours = 0;
                unsigned offset_minutes = 0;
                if (!readNumber(text, pos, 2, offset_hours) || pos - hours_start != 2) {
                    return invalid();
                }
                if (pos < text.size()) {
                    if (text[pos] == ':') {
                        ++pos;
                    }
                    size_t minutes_start = pos;
                    if (!readNumber(text, pos, 2, offset_minutes) || pos - minutes_start != 2) {
                        return invalid();
                    }
                }
                if (offset_hours > 14 || offset_minutes > 59) {
                    return invalid();
                }
                offset_seconds = static_cast<int64_t>(offset_hours) * 3600 + offset_minutes * 60;
                if (negative) {
                    offset_seconds = -offset_seconds;
                }
            }
            if (pos != text.size()) {
                return invalid();
            }
        }
    }
    if (hour > 23 || minute > 59 || second > 59) {
        return invalid();
    }
    if (has_offset) {
        int64_t timestamp = days * 86400 + hour * 3600 + minute * 60 + second - offset_seconds;
        if (timestamp < 0 || static_cast<uint64_t>(timestamp) > kMaxDatetime) {
            return invalid();
        }
        appendPadded(out, static_cast<uint64_t>(timestamp), 10);
        return Verdict::Rewritten;
    }
    if (days < 0 || days > kMaxDatetimeDay) {
        return invalid();
    }
    std::string canonical;
    appendDate(canonical, days);
    canonical += ' ';
    appendPadded(canonical, hour, 2);
    canonical += ':';
    appendPadded(canonical, minute, 2);
    canonical += ':';
    appendPadded(canonical, second, 2);
    return emit(text, canonical, out);
}

}  // namespace chfleet::ingest
