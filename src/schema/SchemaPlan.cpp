#include "schema/SchemaPlan.h"

#include <cctype>

#include "clickhouse/Quoting.h"
#include "common/Exception.h"
#include "retention/TtlClause.h"

namespace chfleet::schema {

using clickhouse::qualifiedName;
using clickhouse::quoteIdentifier;
using clickhouse::quoteString;

namespace {

std::string columnList(const topology::Table& table, bool with_defaults) {
    std::string sql = "(";
    for (size_t i = 0; i < table.columns.size(); ++i) {
        const auto& column = table.columns[i];
        sql += (i == 0 ? "" : ", ") + quoteIdentifier(column.name) + " " + column.type;
        if (with_defaults && !column.default_expression.empty()) {
            sql += " DEFAULT " + column.default_expression;
        }
    }
    return sql + ")";
}

std::vector<ColumnShape> columnShapes(const topology::Table& table) {
    std::vector<ColumnShape> shapes;
    for (const auto& column : table.columns) {
        shapes.push_back({column.name, normalizeType(column.type)});
    }
    return shapes;
}

/// "SummingMergeTree(a, b)" -> {"SummingMergeTree", "a, b"}.
std::pair<std::string, std::string> splitEngine(const std::string& engine) {
    auto open = engine.find('(');
    if (open == std::string::npos) {
        return {engine, ""};
    }
    auto close = engine.rfind(')');
    return {engine.substr(0, open),
            engine.substr(open + 1, close == std::string::npos ? 0 : close - open - 1)};
}

std::string replicatedEngine(const topology::Table& table) {
    auto [name, arguments] = splitEngine(table.engine);
    std::string sql = "Replicated" + name + "(" + quoteString(replicaPath(table)) + ", '{replica}'";
    if (!arguments.empty()) {
        sql += ", " + arguments;
    }
    return sql + ")";
}

std::string storageClauses(const topology::Table& table, const NodeTraits* traits) {
    std::string sql = " ENGINE = " + replicatedEngine(table);
    if (!table.partition_by.empty()) {
        sql += " PARTITION BY " + table.partition_by;
    }
    sql += " ORDER BY " + table.order_by;
    if (traits != nullptr && traits->ttl) {
        std::string ttl = retention::ttlClause(table, traits->region);
        sql += ttl;
        if (!ttl.empty() && traits->ttl_only_drop_parts && retention::partsExpireWhole(table)) {
            sql += " SETTINGS ttl_only_drop_parts = 1";
        }
    }
    return sql;
}

std::string distributedSql(const topology::Fleet& fleet, const topology::Table& table,
                           const std::string& name, const std::string& cluster,
                           const std::string& sharding_key) {
    std::string sql = "CREATE TABLE IF NOT EXISTS " + qualifiedName(fleet.schema.database, name) + " " +
                      columnList(table, false) + " ENGINE = Distributed(" + quoteString(cluster) + ", " +
                      quoteString(fleet.schema.database) + ", " + quoteString(table.localName());
    if (!sharding_key.empty()) {
        sql += ", " + sharding_key;
    }
    return sql + ")";
}

std::string distribution(const topology::Fleet& fleet, const topology::Table& table,
                         const std::string& cluster, const std::string& sharding_key) {
    std::string text = cluster + "," + fleet.schema.database + "," + table.localName();
    if (!sharding_key.empty()) {
        text += "," + normalizeExpression(sharding_key);
    }
    return text;
}

std::string replaceAll(std::string text, std::string_view from, const std::string& to) {
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
        text.replace(at, from.size(), to);
    }
    return text;
}

}  // namespace

std::string replicaPath(const topology::Table& table) {
    return "/clickhouse/tables/{region}/{shard}/" + table.name;
}

std::string createDatabaseSql(const topology::Fleet& fleet) {
    return "CREATE DATABASE IF NOT EXISTS " + quoteIdentifier(fleet.schema.database);
}

namespace {

std::vector<PlannedObject> plan(const topology::Fleet& fleet, const topology::Site& site,
                                const NodeTraits* traits) {
    std::vector<PlannedObject> plan;
    const auto& database = fleet.schema.database;
    for (auto kind : {topology::TableKind::Table, topology::TableKind::MaterializedView}) {
        for (const auto& table : fleet.schema.tables) {
            if (table.kind != kind) {
                continue;
            }
            PlannedObject object;
            object.table = table.name;
            object.shape.name = table.localName();
            object.shape.engine = "Replicated" + splitEngine(table.engine).first;
            object.shape.partition_key = normalizeExpression(table.partition_by);
            object.shape.sorting_key = normalizeExpression(table.order_by);
            object.shape.columns = columnShapes(table);
            if (kind == topology::TableKind::Table) {
                object.kind = ObjectKind::LocalTable;
                object.create_sql = "CREATE TABLE IF NOT EXISTS " +
                                    qualifiedName(database, table.localName()) + " " +
                                    columnList(table, true) + storageClauses(table, traits);
            } else {
                const auto* source = fleet.schema.table(table.from);
                if (source == nullptr) {
                    throw Exception(ErrorCode::InvalidConfig, "materialized view {} reads unknown table {}",
                                    table.name, table.from);
                }
                object.kind = ObjectKind::MaterializedView;
                object.shape.engine = "MaterializedView";
                object.create_sql =
                    "CREATE MATERIALIZED VIEW IF NOT EXISTS " + qualifiedName(database, table.localName()) +
                    storageClauses(table, traits) + " AS " +
                    replaceAll(table.select, "{from}", qualifiedName(database, source->localName()));
            }
            plan.push_back(std::move(object));
        }
    }
    for (const auto& table : fleet.schema.tables) {
        for (const auto& region : site.regions) {
            PlannedObject object;
            object.kind = ObjectKind::RegionalDistributed;
            object.table = table.name;
            object.create_sql =
                distributedSql(fleet, table, table.regionalName(region), region.cluster, table.sharding_key);
            object.shape.name = table.regionalName(region);
            object.shape.engine = "Distributed";
            object.shape.distribution = distribution(fleet, table, region.cluster, table.sharding_key);
            object.shape.columns = columnShapes(table);
            plan.push_back(std::move(object));
        }
        PlannedObject global;
        global.kind = ObjectKind::GlobalDistributed;
        global.table = table.name;
        global.create_sql = distributedSql(fleet, table, table.globalName(), site.global_cluster, "");
        global.shape.name = table.globalName();
        global.shape.engine = "Distributed";
        global.shape.distribution = distribution(fleet, table, site.global_cluster, "");
        global.shape.columns = columnShapes(table);
        plan.push_back(std::move(global));
    }
    return plan;
}

}  // namespace

std::vector<PlannedObject> planForSite(const topology::Fleet& fleet, const topology::Site& site) {
    return plan(fleet, site, nullptr);
}

std::vector<PlannedObject> planForNode(const topology::Fleet& fleet, const topology::Site& site,
                                       const NodeTraits& traits) {
    return plan(fleet, site, &traits);
}

std::string normalizeExpression(std::string_view expression) {
    std::string out;
    for (char c : expression) {
        if (!std::isspace(static_cast<unsigned char>(c)) && c != '\'' && c != '`' && c != '"') {
            out += c;
        }
    }
    // Drop one pair of parentheses around the whole expression: "(a,b)" and "a,b" are the same sorting key.
    if (out.size() >= 2 && out.front() == '(' && out.back() == ')') {
        int depth = 0;
        bool wraps_all = true;
        for (size_t i = 0; i < out.size(); ++i) {
            depth += out[i] == '(' ? 1 : out[i] == ')' ? -1 : 0;
            if (depth == 0 && i + 1 < out.size()) {
                wraps_all = false;
                break;
            }
        }
        if (wraps_all) {
            out = out.substr(1, out.size() - 2);
        }
    }
    return out;
}

std::string normalizeType(std::string_view type) {
    std::string out = normalizeExpression(type);
    for (auto [alias, precision] :
         {std::pair{"Decimal32(", "9,"}, {"Decimal64(", "18,"}, {"Decimal128(", "38,"}}) {
        std::string_view name(alias);
        for (auto at = out.find(name); at != std::string::npos; at = out.find(name, at)) {
            out.replace(at, name.size(), std::string("Decimal(") + precision);
        }
    }
    return out;
}

std::string distributionFromEngineFull(std::string_view engine_full) {
    auto open = engine_full.find('(');
    auto close = engine_full.rfind(')');
    if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
        return {};
    }
    return normalizeExpression(engine_full.substr(open + 1, close - open - 1));
}

}  // namespace chfleet::schema
