#include "ingest/protocol/ReadRewriter.h"

#include <fmt/format.h>

#include "clickhouse/Quoting.h"
#include "ingest/protocol/SqlToken.h"

namespace chfleet::ingest {
namespace {

using Kind = SqlToken::Kind;
using Token = SqlToken;

/// Words that end the clause a WHERE or PREWHERE condition is in.
bool endsCondition(const Token& token) {
    return isAnyKeyword(token, {"GROUP", "ORDER", "LIMIT", "HAVING", "FORMAT", "SETTINGS", "UNION",
                                "PREWHERE", "WHERE", "INTO"}) ||
           isSymbol(token, ";");
}

/// What a table name in the statement stands for.
struct TableName {
    enum class Form { Logical, Global, Regional, Local } form;
    const topology::Table* table;
    const topology::Region* region = nullptr;
};

/// A table named where a table is read: tokens [first, next) are `name` or `db . name`.
struct TableRef {
    size_t first;
    size_t name;
    size_t next;
    TableName what;
};

class Planner {
  public:
    Planner(const topology::Schema& schema, const topology::Site& site, std::string_view sql,
            std::string_view database, std::vector<Token> tokens)
        : schema_(schema), site_(site), sql_(sql), database_(database), tokens_(std::move(tokens)) {}

    ReadPlan plan() {
        ReadPlan result;
        if (tokens_.empty()) {
            result.sql = std::string(sql_);
            return result;
        }
        size_t first = 0;
        while (first < tokens_.size() && isSymbol(tokens_[first], "(")) {
            ++first;
        }
        const Token& verb = tokens_[std::min(first, tokens_.size() - 1)];
        if (isKeyword(verb, "SELECT") || isKeyword(verb, "WITH")) {
            findReadTables();
        } else if (isKeyword(verb, "DESCRIBE") || isKeyword(verb, "DESC") || isKeyword(verb, "EXISTS")) {
            size_t at = first + 1;
            at = skipWords(at, {"TEMPORARY", "TABLE"});
            addRef(at);
        } else if (isKeyword(verb, "SHOW") && first + 1 < tokens_.size() &&
                   isKeyword(tokens_[first + 1], "CREATE")) {
            addRef(skipWords(first + 2, {"TEMPORARY", "TABLE"}));
        } else if (isKeyword(verb, "SHOW") && first + 1 < tokens_.size() &&
                   isKeyword(tokens_[first + 1], "TABLES")) {
            if (auto shown = showTables(first + 2)) {
                result.sql = std::move(*shown);
                return result;
            }
        }
        refuseLeftovers();
        result.sql = render(false);
        result.pin = pin();
        return result;
    }

  private:
    size_t skipWords(size_t at, std::initializer_list<std::string_view> words) const {
        for (auto word : words) {
            if (at < tokens_.size() && isKeyword(tokens_[at], word)) {
                ++at;
            }
        }
        return at;
    }

    /// The schema's table `name` stands for in database `db`, if any.
    std::optional<TableName> resolve(const std::string& db, const std::string& name) const {
        if (db != schema_.database) {
            return std::nullopt;
        }
        for (const auto& table : schema_.tables) {
            if (table.name == name) {
                return TableName{TableName::Form::Logical, &table};
            }
            if (table.globalName() == name) {
                return TableName{TableName::Form::Global, &table};
            }
            if (table.localName() == name) {
                return TableName{TableName::Form::Local, &table};
            }
            for (const auto& region : site_.regions) {
                if (table.regionalName(region) == name) {
                    return TableName{TableName::Form::Regional, &table, &region};
                }
            }
        }
        return std::nullopt;
    }

    /// Records the table named at `at` when it is one of the schema's; returns whether it named a table.
    bool addRef(size_t at) {
        if (at >= tokens_.size() || !isName(tokens_[at])) {
            return false;
        }
        size_t name = at;
        std::string db(database_);
        if (at + 2 < tokens_.size() && isSymbol(tokens_[at + 1], ".") && isName(tokens_[at + 2])) {
            db = tokens_[at].value;
            name = at + 2;
        }
        size_t next = name + 1;
        if (next < tokens_.size() && (isSymbol(tokens_[next], "(") || isSymbol(tokens_[next], "."))) {
            return false;  // a table function, or not a table name
        }
        if (auto what = resolve(db, tokens_[name].value)) {
            refs_.push_back({at, name, next, *what});
        }
        return true;
    }

    /// Tables after FROM and JOIN where a query reads them: at the top level and directly inside the
    /// parentheses of a subquery, never inside a function's parentheses (EXTRACT(DAY FROM d)).
    void findReadTables() {
        std::vector<bool> query_context{true};
        for (size_t i = 0; i < tokens_.size(); ++i) {
            const Token& token = tokens_[i];
            if (isSymbol(token, "(")) {
                bool subquery = i + 1 < tokens_.size() &&
                                (isKeyword(tokens_[i + 1], "SELECT") || isKeyword(tokens_[i + 1], "WITH") ||
                                 isSymbol(tokens_[i + 1], "("));
                query_context.push_back(subquery);
                subqueries_ += subquery ? 1 : 0;
            } else if (isSymbol(token, ")")) {
                if (query_context.size() > 1) {
                    query_context.pop_back();
                }
            } else if (query_context.back() && (isKeyword(token, "FROM") || isKeyword(token, "JOIN"))) {
                bool array_join = isKeyword(token, "JOIN") && i > 0 && isKeyword(tokens_[i - 1], "ARRAY");
                if (!array_join) {
                    ++read_clauses_;
                    addRef(i + 1);
                }
            } else if (isKeyword(token, "UNION") || isKeyword(token, "GLOBAL")) {
                ++subqueries_;
            }
        }
    }

    /// `SHOW TABLES [FROM|IN db] [LIKE 'p'] [rest]` of the fleet's database, as a SELECT that also lists the
    /// logical names; nullopt for another database or another form (passed on unchanged).
    std::optional<std::string> showTables(size_t at) const {
        std::string db(database_);
        if (at < tokens_.size() && (isKeyword(tokens_[at], "FROM") || isKeyword(tokens_[at], "IN"))) {
            if (at + 1 >= tokens_.size() || !isName(tokens_[at + 1])) {
                return std::nullopt;
            }
            db = tokens_[at + 1].value;
            at += 2;
        }
        if (db != schema_.database) {
            return std::nullopt;
        }
        std::string like;
        if (at + 1 < tokens_.size() && isKeyword(tokens_[at], "LIKE") &&
            tokens_[at + 1].kind == Kind::String) {
            like = " WHERE name LIKE " + clickhouse::quoteString(tokens_[at + 1].value);
            at += 2;
        }
        if (at < tokens_.size() && !isKeyword(tokens_[at], "LIMIT") && !isKeyword(tokens_[at], "FORMAT") &&
            !isSymbol(tokens_[at], ";")) {
            return std::nullopt;
        }
        std::string names;
        for (const auto& table : schema_.tables) {
            names += (names.empty() ? "" : ", ") + clickhouse::quoteString(table.name);
        }
        std::string rest = at < tokens_.size() ? std::string(sql_.substr(tokens_[at].begin)) : std::string();
        return fmt::format(
            "SELECT name FROM (SELECT name FROM system.tables WHERE database = {} UNION ALL SELECT "
            "arrayJoin([{}]) AS name){} ORDER BY name {}",
            clickhouse::quoteString(db), names, like, rest);
    }

    /// Whether the statement qualifies a column by `name` (`name.col`) outside the table references.
    bool qualifiesColumns(const std::string& name) const {
        for (size_t i = 0; i + 1 < tokens_.size(); ++i) {
            if (isName(tokens_[i]) && tokens_[i].value == name && isSymbol(tokens_[i + 1], ".")) {
                bool in_ref = false;
                for (const auto& ref : refs_) {
                    in_ref = in_ref || (i >= ref.first && i < ref.next);
                }
                if (!in_ref) {
                    return true;
                }
            }
        }
        return false;
    }

    /// A logical name left where no table is read, qualified by the database: ClickHouse would not find it.
    void refuseLeftovers() const {
        for (size_t i = 0; i + 2 < tokens_.size(); ++i) {
            if (!isName(tokens_[i]) || tokens_[i].value != schema_.database ||
                !isSymbol(tokens_[i + 1], ".") || !isName(tokens_[i + 2])) {
                continue;
            }
            auto what = resolve(tokens_[i].value, tokens_[i + 2].value);
            bool rewritten = false;
            for (const auto& ref : refs_) {
                rewritten = rewritten || ref.first == i;
            }
            if (what && what->form == TableName::Form::Logical && !rewritten) {
                throw UnsafeRead(
                    ErrorCode::BadArguments,
                    "{}.{} is a logical table of chfleet, which ingest makes real only where a table "
                    "is read (after FROM or JOIN, DESCRIBE, EXISTS, SHOW CREATE TABLE); name its "
                    "table {}.{} here",
                    schema_.database, what->table->name, schema_.database, what->table->globalName());
            }
        }
    }

    /// The statement with its table references replaced: logical names by the global Distributed table, and,
    /// with `local`, every reference by the local table.
    std::string render(bool local) const {
        std::string out;
        size_t copied = 0;
        for (const auto& ref : refs_) {
            std::string name;
            if (local) {
                name = ref.what.table->localName();
            } else if (ref.what.form == TableName::Form::Logical) {
                name = ref.what.table->globalName();
            } else {
                continue;
            }
            const Token& original = tokens_[ref.name];
            out.append(sql_.substr(copied, tokens_[ref.first].begin - copied));
            out += clickhouse::qualifiedName(schema_.database, name);
            if (qualifiesColumns(original.value) && !hasAlias(ref.next)) {
                out += " AS " + clickhouse::quoteIdentifier(original.value);
            }
            copied = original.end;
        }
        out.append(sql_.substr(copied));
        return out;
    }

    /// Whether the table reference ending before `next` is followed by an alias.
    bool hasAlias(size_t next) const {
        if (next >= tokens_.size()) {
            return false;
        }
        const Token& token = tokens_[next];
        return isKeyword(token, "AS") || token.kind == Kind::Quoted ||
               (token.kind == Kind::Word &&
                !isAnyKeyword(
                    token, {"WHERE",  "PREWHERE", "GROUP",  "ORDER", "LIMIT", "FORMAT", "SETTINGS", "FINAL",
                            "SAMPLE", "ARRAY",    "LEFT",   "RIGHT", "INNER", "FULL",   "CROSS",    "OUTER",
                            "ANY",    "ALL",      "ASOF",   "SEMI",  "ANTI",  "GLOBAL", "JOIN",     "USING",
                            "ON",     "UNION",    "HAVING", "INTO",  "WITH",  "PASTE",  "LOCAL"}));
    }

    /// The company a SELECT of one table pins with a top-level `<region key> = 'literal'` conjunct of its
    /// WHERE or PREWHERE, if it is one.
    std::optional<ReadPlan::Pin> pin() const {
        if (refs_.size() != 1 || read_clauses_ != 1 || subqueries_ != 0) {
            return std::nullopt;
        }
        const TableRef& ref = refs_.front();
        if (ref.what.form == TableName::Form::Local || ref.what.table->region_key.empty() ||
            !isKeyword(tokens_[ref.first - 1], "FROM")) {
            return std::nullopt;
        }
        for (const auto& token : tokens_) {
            if (isKeyword(token, "JOIN")) {
                return std::nullopt;
            }
        }
        const std::string& key = ref.what.table->region_key;
        std::optional<std::string> company;
        int depth = 0;
        for (size_t i = ref.next; i < tokens_.size(); ++i) {
            if (depth == 0 && (isKeyword(tokens_[i], "WHERE") || isKeyword(tokens_[i], "PREWHERE"))) {
                auto found = conditionPin(i + 1, key);
                if (!found) {
                    continue;
                }
                if (company && *company != *found) {
                    return std::nullopt;
                }
                company = found;
            }
            depth += isSymbol(tokens_[i], "(") ? 1 : isSymbol(tokens_[i], ")") ? -1 : 0;
        }
        if (!company) {
            return std::nullopt;
        }
        return ReadPlan::Pin{ref.what.table, *company,
                             ref.what.form == TableName::Form::Regional ? ref.what.region : nullptr,
                             render(true)};
    }

    /// The company of a conjunct `key = 'literal'` of the condition starting at `at`, split at the top-level
    /// ANDs (not the AND of a BETWEEN); nullopt when there is none or the condition has a top-level OR or
    /// CASE (its ANDs then need not join conjuncts of the whole condition).
    std::optional<std::string> conditionPin(size_t at, const std::string& key) const {
        std::optional<std::string> found;
        bool conflict = false;
        int depth = 0;
        bool between = false;
        size_t start = at;
        auto piece = [&](size_t begin, size_t end) {
            if (end - begin != 3) {
                return;
            }
            const Token& a = tokens_[begin];
            const Token& op = tokens_[begin + 1];
            const Token& b = tokens_[begin + 2];
            if (!isSymbol(op, "=") && !isSymbol(op, "==")) {
                return;
            }
            const Token* literal = nullptr;
            if (isName(a) && a.value == key && b.kind == Kind::String) {
                literal = &b;
            } else if (isName(b) && b.value == key && a.kind == Kind::String) {
                literal = &a;
            }
            if (literal != nullptr) {
                conflict = conflict || (found && *found != literal->value);
                found = literal->value;
            }
        };
        size_t i = at;
        for (; i < tokens_.size(); ++i) {
            const Token& token = tokens_[i];
            if (isSymbol(token, "(")) {
                ++depth;
            } else if (isSymbol(token, ")")) {
                if (--depth < 0) {
                    break;
                }
            } else if (depth == 0) {
                if (endsCondition(token)) {
                    break;
                }
                if (isKeyword(token, "OR") || isKeyword(token, "CASE") || isSymbol(token, "?")) {
                    return std::nullopt;
                }
                if (isKeyword(token, "BETWEEN")) {
                    between = true;
                } else if (isKeyword(token, "AND") && between) {
                    between = false;
                } else if (isKeyword(token, "AND")) {
                    piece(start, i);
                    start = i + 1;
                }
            }
        }
        piece(start, i);
        return conflict ? std::nullopt : found;
    }

    const topology::Schema& schema_;
    const topology::Site& site_;
    std::string_view sql_;
    std::string_view database_;
    std::vector<Token> tokens_;
    std::vector<TableRef> refs_;
    size_t read_clauses_ = 0;
    size_t subqueries_ = 0;
};

}  // namespace

ReadRewriter::ReadRewriter(const topology::Schema& schema, const topology::Site& site)
    : schema_(schema), site_(site) {}

ReadPlan ReadRewriter::plan(std::string_view sql, std::string_view database) const {
    auto tokens = tokenizeSql(sql);
    if (!tokens) {
        return ReadPlan{std::string(sql), std::nullopt};
    }
    return Planner(schema_, site_, sql, database, std::move(*tokens)).plan();
}

}  // namespace chfleet::ingest
