#pragma once

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chfleet::ingest {

/// One token of a SQL statement as ClickHouse's lexer cuts it: a bare word (identifier or keyword), a
/// `quoted` or "quoted" identifier, a 'string literal', a number or a symbol (`==` is one). Its place in the
/// text, and, for identifiers and literals, its value with the escapes undone (backslash escapes as
/// ClickHouse reads them, a doubled quote for itself).
struct SqlToken {
    enum class Kind { Word, Quoted, String, Number, Symbol };
    Kind kind;
    size_t begin;
    size_t end;
    std::string value;
};

/// The tokens of `text`, skipping whitespace and comments (`-- ...` to the line end, `/* ... */`); nullopt
/// when a literal, quoted name or comment is not closed.
std::optional<std::vector<SqlToken>> tokenizeSql(std::string_view text);

/// `token` is the bare word `word`, in any case.
bool isKeyword(const SqlToken& token, std::string_view word);
bool isAnyKeyword(const SqlToken& token, std::initializer_list<std::string_view> words);
bool isSymbol(const SqlToken& token, std::string_view symbol);
/// A bare or quoted identifier.
bool isName(const SqlToken& token);

}  // namespace chfleet::ingest
