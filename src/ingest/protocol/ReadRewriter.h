#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/Exception.h"
#include "topology/Fleet.h"

namespace chfleet::ingest {

/// A read statement that names a logical table where ingest cannot rewrite it safely (e.g. `teei.events.col`
/// or `x IN teei.events`): refused rather than sent to ClickHouse, which has no table of that name.
class UnsafeRead : public Exception {
  public:
    using Exception::Exception;
};

/// What to run for one read statement that arrived at the ingest URL.
struct ReadPlan {
    /// The statement with every logical table name made real: `db.events` reads `db.events_distributed`, the
    /// site's global Distributed table; SHOW TABLES also lists the logical names.
    std::string sql;
    /// A SELECT of one table (no JOIN, subquery or UNION) whose WHERE or PREWHERE has a top-level conjunct
    /// `<region key> = 'literal'`: every row it can read is on one shard, so it may run on one replica there.
    struct Pin {
        const topology::Table* table = nullptr;
        std::string company;
        /// The region the statement named (`events_eu_distributed`), or null for the logical or global name
        /// (the company's region decides).
        const topology::Region* region = nullptr;
        /// The statement reading `db.<table>_local` instead.
        std::string local_sql;
    };
    std::optional<Pin> pin;
};

/// Rewrites the read statements clients send to the ingest URL so that they read what they wrote by the same
/// names. The statement is cut into tokens (bare words, `quoted` and "quoted" identifiers, 'string literals',
/// numbers, symbols; comments and whitespace between them), so that nothing inside a literal, a quoted alias
/// or a comment is ever taken for a table name. Table names are rewritten where a table is read:
///   - after FROM and JOIN (not ARRAY JOIN, not a table function `name(...)`, not FROM inside a function's
///     parentheses such as EXTRACT(DAY FROM d)), in the statement and in its subqueries;
///   - after DESCRIBE/DESC [TABLE], EXISTS [TEMPORARY] [TABLE] and SHOW CREATE [TEMPORARY] [TABLE];
///   - SHOW TABLES [FROM|IN db] [LIKE 'pattern'] [LIMIT n] [FORMAT f] of the fleet's database is answered
///   from
///     system.tables plus the logical names.
/// A logical name is `[db.]name` of a table of the schema's database (a bare name when the request's database
/// is that database). When the statement qualifies columns by the logical name (`events.col`), the rewritten
/// table keeps that name as its alias. A logical name qualified by the database anywhere else (`x IN
/// teei.events`, `teei.events.col`) throws UnsafeRead.
class ReadRewriter {
  public:
    ReadRewriter(const topology::Schema& schema, const topology::Site& site);

    /// `database`: the request's default database (`?database=`, else "default"). Throws UnsafeRead.
    ReadPlan plan(std::string_view sql, std::string_view database) const;

  private:
    const topology::Schema& schema_;
    const topology::Site& site_;
};

}  // namespace chfleet::ingest
