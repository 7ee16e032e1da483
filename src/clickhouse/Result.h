#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "clickhouse/Connection.h"

namespace chfleet::clickhouse {

/// The decoded answer of a query in FORMAT TabSeparatedWithNamesAndTypes: column names, column types and rows
/// of exact byte strings (escapes undone, NULLs marked), with typed accessors by column name. Accessors throw
/// Exception(BadResponse) for an unknown column, a row out of range, a NULL or a value that does not parse.
class Result {
  public:
    /// Decodes `body`. An exception the server appended after streaming began (a line that does not fit the
    /// columns and reads "Code: N ...") throws ServerException; any other misfit throws
    /// Exception(BadResponse). `source` names the server in messages ("host:port", "embedded").
    static Result parse(std::string_view body, std::string source);

    const std::vector<std::string>& names() const { return names_; }
    const std::vector<std::string>& types() const { return types_; }
    size_t rowCount() const { return names_.empty() ? 0 : cells_.size() / names_.size(); }
    size_t columnCount() const { return names_.size(); }

    bool hasColumn(std::string_view column) const;
    /// Position of `column` among the names; throws Exception(BadResponse) when absent.
    size_t columnIndex(std::string_view column) const;

    /// True for \N in a Nullable column.
    bool isNull(size_t row, std::string_view column) const;
    /// The exact bytes of a value.
    const std::string& getString(size_t row, std::string_view column) const;
    /// An unsigned integer, full UInt64 range; nothing but digits accepted.
    uint64_t getUInt64(size_t row, std::string_view column) const;
    int64_t getInt64(size_t row, std::string_view column) const;
    /// A floating-point value; inf, -inf and nan as ClickHouse prints them.
    double getDouble(size_t row, std::string_view column) const;
    /// 0/1 (UInt8 flags) or false/true (Bool).
    bool getBool(size_t row, std::string_view column) const;

  private:
    size_t cellIndex(size_t row, std::string_view column) const;
    [[noreturn]] void throwBadValue(size_t row, std::string_view column, std::string_view expected) const;

    std::string source_;
    std::vector<std::string> names_;
    std::vector<std::string> types_;
    std::vector<std::string> cells_;  ///< row-major
    std::vector<bool> nulls_;         ///< parallel to cells_
};

/// Runs `select` with " FORMAT TabSeparatedWithNamesAndTypes" appended and decodes the answer. `select` must
/// not have a FORMAT clause of its own.
Result query(Connection& connection, std::string_view select, const Settings& settings = {});

/// Runs a statement whose answer is not needed (DDL, INSERT ... SELECT, SYSTEM ...).
void execute(Connection& connection, std::string_view sql, const Settings& settings = {});

/// The one value of a query that returns one row of one column; throws Exception(BadResponse) otherwise.
std::string scalar(Connection& connection, std::string_view select, const Settings& settings = {});

}  // namespace chfleet::clickhouse
