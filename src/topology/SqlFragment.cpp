#include "topology/SqlFragment.h"

#include <fmt/format.h>

#include <cctype>
#include <vector>

namespace chfleet::topology {

namespace {

/// The 1-based character (not byte: UTF-8 continuation bytes do not count) at byte `at`.
size_t characterAt(std::string_view text, size_t at) {
    size_t characters = 0;
    for (size_t i = 0; i <= at && i < text.size(); ++i) {
        if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
            ++characters;
        }
    }
    return characters;
}

/// The byte after the quoted text that starts at `open` (a ', " or `), or npos when it is never closed. As
/// ClickHouse reads it: \ escapes the next character, and a doubled quote stands for one quote.
size_t endOfQuoted(std::string_view text, size_t open) {
    const char quote = text[open];
    size_t i = open + 1;
    while (i < text.size()) {
        if (text[i] == '\\') {
            i += 2;
        } else if (text[i] == quote) {
            if (i + 1 < text.size() && text[i + 1] == quote) {
                i += 2;
            } else {
                return i + 1;
            }
        } else {
            ++i;
        }
    }
    return std::string_view::npos;
}

bool isQuote(char c) {
    return c == '\'' || c == '"' || c == '`';
}

char closerOf(char opener) {
    return opener == '(' ? ')' : opener == '[' ? ']' : '}';
}

constexpr std::string_view kBracketRule = "brackets (), [] and {} must pair up within the value";
constexpr std::string_view kInsideQuotesFine = "inside quoted text it is fine";

}  // namespace

std::optional<std::string> sqlFragmentProblem(std::string_view fragment, bool single_item) {
    struct Open {
        char bracket;
        size_t at;
    };
    for (size_t k = 0; k < fragment.size(); ++k) {
        auto byte = static_cast<unsigned char>(fragment[k]);
        if ((byte < 0x20 && byte != '\t' && byte != '\n' && byte != '\r') || byte == 0x7f) {
            return fmt::format(
                "control character 0x{:02x} at character {}; only spaces, tabs and line breaks are allowed",
                byte, characterAt(fragment, k));
        }
    }
    std::vector<Open> open;
    size_t i = 0;
    while (i < fragment.size()) {
        const char c = fragment[i];
        const char next = i + 1 < fragment.size() ? fragment[i + 1] : '\0';
        auto position = [&] { return characterAt(fragment, i); };
        if (isQuote(c)) {
            size_t end = endOfQuoted(fragment, i);
            if (end == std::string_view::npos) {
                return fmt::format(
                    "unterminated quoted text: the {} at character {} is never closed; close it within the "
                    "value (inside quotes, write \\{} or {}{} for the quote character itself)",
                    c, position(), c, c, c);
            }
            i = end;
            continue;
        }
        switch (c) {
            case '(':
            case '[':
            case '{':
                open.push_back({c, i});
                break;
            case ')':
            case ']':
            case '}':
                if (open.empty()) {
                    return fmt::format(
                        "unbalanced '{}' at character {}: it closes a bracket this value never opened; {}", c,
                        position(), kBracketRule);
                }
                if (closerOf(open.back().bracket) != c) {
                    return fmt::format(
                        "unbalanced '{}' at character {}: the '{}' at character {} is still open; {}, "
                        "innermost first",
                        c, position(), open.back().bracket, characterAt(fragment, open.back().at),
                        kBracketRule);
                }
                open.pop_back();
                break;
            case ';':
                return fmt::format(
                    "';' at character {} would end the statement: the value is part of one statement "
                    "chfleet writes, so ';' is not allowed ({})",
                    position(), kInsideQuotesFine);
            case '-':
                if (next == '-') {
                    return fmt::format(
                        "'--' at character {} starts a comment, which would hide the rest of the statement; "
                        "comments are not allowed ({}; for two minus signs write '- -')",
                        position(), kInsideQuotesFine);
                }
                break;
            case '/':
                if (next == '*') {
                    return fmt::format(
                        "'/*' at character {} starts a comment, which could hide part of the statement; "
                        "comments are not allowed ({})",
                        position(), kInsideQuotesFine);
                }
                break;
            case '#':
                return fmt::format(
                    "'#' at character {}: '# ' and '#!' start a comment in current ClickHouse, which would "
                    "hide the rest of the line, and '#' has no other use; comments are not allowed ({})",
                    position(), kInsideQuotesFine);
            case '$':
                return fmt::format(
                    "'$' at character {} is not allowed outside quoted text: ClickHouse reads $$...$$ as a "
                    "string, which would hide brackets and comments from this check; write strings in single "
                    "quotes",
                    position());
            case ',':
                if (single_item && open.empty()) {
                    return fmt::format(
                        "',' at character {} outside brackets: the value is one item, not a list (a ',' here "
                        "would add another column or engine argument to the statement)",
                        position());
                }
                break;
            default:
                break;
        }
        ++i;
    }
    if (!open.empty()) {
        return fmt::format("unbalanced '{}' at character {}: it is never closed; {}", open.back().bracket,
                           characterAt(fragment, open.back().at), kBracketRule);
    }
    return std::nullopt;
}

std::string textAfterArguments(std::string_view fragment) {
    size_t i = fragment.find('(');
    if (i == std::string_view::npos) {
        return {};
    }
    int depth = 0;
    while (i < fragment.size()) {
        const char c = fragment[i];
        if (isQuote(c)) {
            size_t end = endOfQuoted(fragment, i);
            if (end == std::string_view::npos) {
                return {};
            }
            i = end;
            continue;
        }
        depth += (c == '(' || c == '[' || c == '{') ? 1 : (c == ')' || c == ']' || c == '}') ? -1 : 0;
        ++i;
        if (depth == 0) {
            break;
        }
    }
    std::string_view rest = fragment.substr(i);
    while (!rest.empty() && std::isspace(static_cast<unsigned char>(rest.front()))) {
        rest.remove_prefix(1);
    }
    while (!rest.empty() && std::isspace(static_cast<unsigned char>(rest.back()))) {
        rest.remove_suffix(1);
    }
    return std::string(rest);
}

}  // namespace chfleet::topology
