#pragma once

// The small readers of decimal text that the files of ValueType share: the type parser (TypeParser.cpp), the
// grammar of numbers, strings, UUIDs and enums (ValueType.cpp) and that of dates and times
// (DateTimeValues.cpp). Not for callers: they use ValueType.h.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "ingest/format/ValueType.h"

namespace chfleet::ingest::value_grammar {

inline bool isDigit(char c) {
    return c >= '0' && c <= '9';
}

inline bool allDigits(std::string_view text) {
    return std::all_of(text.begin(), text.end(), isDigit);
}

/// Reads 1..max_digits digits at `pos`; false when there is none.
inline bool readNumber(std::string_view text, size_t& pos, size_t max_digits, unsigned& value) {
    size_t start = pos;
    value = 0;
    while (pos < text.size() && isDigit(text[pos]) && pos - start < max_digits) {
        value = value * 10 + static_cast<unsigned>(text[pos] - '0');
        ++pos;
    }
    return pos > start;
}

/// Parses an unsigned decimal of at most 20 digits; false on overflow.
inline bool parseUnsigned(std::string_view digits, uint64_t& value) {
    value = 0;
    for (char c : digits) {
        auto digit = static_cast<uint64_t>(c - '0');
        if (value > (std::numeric_limits<uint64_t>::max() - digit) / 10) {
            return false;
        }
        value = value * 10 + digit;
    }
    return true;
}

/// Appends `text` to `out` unless it is already `canonical`'s spelling.
inline ValueType::Verdict emit(std::string_view text, std::string_view canonical, std::string& out) {
    if (text == canonical) {
        return ValueType::Verdict::Valid;
    }
    out.append(canonical);
    return ValueType::Verdict::Rewritten;
}

}  // namespace chfleet::ingest::value_grammar
