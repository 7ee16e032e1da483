#pragma once

#include <string>
#include <string_view>

/// The one set of quoting and escaping helpers used by every statement chfleet builds and every TSV body it
/// reads or writes. Values are bytes: UTF-8, invalid UTF-8 and NUL all pass through unchanged after a round
/// trip.
///
/// ClickHouse's lexer and its TSV format share one escape syntax (verified on 18.16 and 26.5): a backslash
/// followed by b f n r t 0 (control characters), \\ \' \` (the characters themselves) or xHH (any byte).
namespace chfleet::clickhouse {

/// 'value' as a ClickHouse string literal: backslash and quote escaped, control bytes (NUL included) written
/// as \0 \b \f \n \r \t or \xHH. Safe for any bytes; bytes >= 0x80 are kept as they are.
std::string quoteString(std::string_view value);

/// `name` as a back-quoted ClickHouse identifier, escaped like quoteString (backtick instead of quote).
/// Always quotes, so a name that is a keyword or holds any byte at all stays one identifier.
std::string quoteIdentifier(std::string_view name);

/// `db`.`table`, or just `table` when `database` is empty.
std::string qualifiedName(std::string_view database, std::string_view table);

/// One field of a TabSeparated body, escaped exactly as ClickHouse writes it (\\ \' \t \n \r \0 \b \f), so
/// that INSERT ... FORMAT TabSeparated stores `value` byte for byte.
std::string escapeTsvField(std::string_view value);

/// The inverse of escapeTsvField, for fields ClickHouse writes in TabSeparated answers; also accepts \xHH,
/// \a, \v, \e and, as ClickHouse does, keeps the backslash of an unknown escape. A NULL (\N) is the caller's
/// business. Throws Exception(BadResponse) on a backslash at the end or a bad \x escape.
std::string unescapeTsvField(std::string_view field);

/// The byte a backslash escape \c stands for in ClickHouse's TabSeparated and string escaping (\n, \t, \0,
/// \e ...); any other character stands for itself.
char escapedByte(char c);

}  // namespace chfleet::clickhouse
