#pragma once

#include <string_view>

/// Small character-level helpers shared by the parsers (SQL, TSV, JSON, values).
namespace chfleet::text {

/// The value of a hexadecimal digit (0-9, a-f, A-F), or -1 for any other character.
int hexDigitValue(char c);

/// ASCII case-insensitive equality (SQL keywords, HTTP header names).
bool equalsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace chfleet::text
