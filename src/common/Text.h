#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

/// Small character-level helpers shared by the parsers (SQL, TSV, JSON, values).
namespace chfleet::text {

/// The value of a hexadecimal digit (0-9, a-f, A-F), or -1 for any other character. Inline: the value
/// readers call it for every digit of every UUID and escape.
inline int hexDigitValue(char c) {
    static constexpr std::array<int8_t, 256> kValues = [] {
        std::array<int8_t, 256> table{};
        table.fill(-1);
        for (int i = 0; i < 10; ++i) {
            table['0' + i] = static_cast<int8_t>(i);
        }
        for (int i = 0; i < 6; ++i) {
            table['a' + i] = static_cast<int8_t>(10 + i);
            table['A' + i] = static_cast<int8_t>(10 + i);
        }
        return table;
    }();
    return kValues[static_cast<unsigned char>(c)];
}

/// The ASCII lower-case form of a character (A-Z become a-z; every other byte is kept, whatever the locale).
inline char toLower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

/// The ASCII lower-case form of a text (see toLower(char)).
std::string toLower(std::string_view text);

/// ASCII case-insensitive equality (SQL keywords, type names, HTTP header names, setting values).
bool equalsIgnoreCase(std::string_view a, std::string_view b);

/// `text` without the spaces, tabs, carriage returns and line feeds at its start and end.
std::string_view trim(std::string_view text);

/// A hash map keyed by strings that is searched with a std::string_view as it is (no std::string is built
/// for a lookup).
struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
};
template <typename Value>
using StringMap = std::unordered_map<std::string, Value, StringHash, std::equal_to<>>;

}  // namespace chfleet::text
