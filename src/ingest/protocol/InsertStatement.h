#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chfleet::ingest {

/// The parts of `INSERT INTO [TABLE] [db.]table [(c1, ...)] [SETTINGS k = v, ...] FORMAT name` that ingest
/// acts on. ClickHouse's own grammar, reduced to what a write endpoint accepts: INSERT ... SELECT, VALUES and
/// INSERT INTO FUNCTION are refused (they are not rows to route).
struct InsertStatement {
    std::string database;  ///< empty when the statement names none (the request's ?database= applies)
    std::string table;
    std::vector<std::string> columns;  ///< the explicit column list; empty: all columns
    std::vector<std::pair<std::string, std::string>> settings;  ///< the SETTINGS clause, values unquoted
    std::string format;
    /// Where rows written inline after the format name start in the parsed text ("FORMAT TSV\n1\t2"), as
    /// ClickHouse decides: after spaces and tabs and at most one line break. Equal to the text's size when
    /// nothing follows.
    size_t data_offset = 0;
};

/// True when the text's first keyword (after whitespace and comments) is INSERT.
bool isInsert(std::string_view text);

/// Parses an INSERT statement. Throws Exception(BadArguments) whose message reads like ClickHouse's syntax
/// errors ("Syntax error: ... expected FORMAT") for anything else or for an INSERT ingest does not take.
InsertStatement parseInsert(std::string_view text);

}  // namespace chfleet::ingest
