#include "common/Text.h"

#include <algorithm>

namespace chfleet::text {

std::string toLower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), [](char c) { return toLower(c); });
    return out;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return toLower(x) == toLower(y); });
}

std::string_view trim(std::string_view text) {
    constexpr std::string_view kSpaces = " \t\r\n";
    size_t begin = text.find_first_not_of(kSpaces);
    if (begin == std::string_view::npos) {
        return {};
    }
    size_t end = text.find_last_not_of(kSpaces);
    return text.substr(begin, end - begin + 1);
}

}  // namespace chfleet::text
