#include "ingest/RequestRouter.h"

#include <algorithm>

#include "clickhouse/Quoting.h"
#include "common/Exception.h"
#include "ingest/RegionMap.h"

namespace chfleet::ingest {

RoutingContext::RoutingContext(const topology::Fleet& fleet, const topology::Site& site, RegionMap& regions)
    : fleet_(fleet), site_(site), regions_(regions) {
    for (const auto& table : fleet.schema.tables) {
        if (table.kind == topology::TableKind::Table && !table.region_key.empty()) {
            keys_.emplace(table.name, ShardingKey::parse(table));
        }
    }
}

const ShardingKey& RoutingContext::shardingKey(const topology::Table& table) const {
    auto it = keys_.find(table.name);
    if (it == keys_.end()) {
        throw Exception(ErrorCode::BadArguments, "table {} has no region key: ingest cannot route its rows",
                        table.name);
    }
    return it->second;
}

const topology::Region* RoutingContext::region(std::string_view name) const {
    for (const auto& region : site_.regions) {
        if (region.name == name) {
            return &region;
        }
    }
    return nullptr;
}

RequestRouter::RequestRouter(const RoutingContext& context, const topology::Table& table, InputFormat format,
                             std::vector<std::string> insert_columns, bool skip_unknown_fields)
    : context_(context),
      table_(table),
      sharding_key_(context.shardingKey(table)),
      reader_(format, table.columns, std::move(insert_columns), skip_unknown_fields) {
    if (!table.default_region.empty()) {
        default_region_ = context.region(table.default_region);
    }
}

void RequestRouter::locateKeyColumns() {
    const auto& columns = reader_.rowColumns();
    auto indexOf = [&](const std::string& name) {
        auto it = std::find(columns.begin(), columns.end(), name);
        if (it == columns.end()) {
            throw Exception(ErrorCode::BadArguments,
                            "the rows for {}.{} must carry the column {}: ingest routes every row by it",
                            context_.fleet().schema.database, table_.name, name);
        }
        return static_cast<size_t>(it - columns.begin());
    };
    region_key_index_ = indexOf(table_.region_key);
    for (const auto& name : sharding_key_.columns()) {
        sharding_indexes_.push_back(indexOf(name));
    }
    key_values_.resize(sharding_indexes_.size());
    columns_sql_ = "(";
    for (size_t i = 0; i < columns.size(); ++i) {
        columns_sql_ += (i == 0 ? "" : ", ") + clickhouse::quoteIdentifier(columns[i]);
    }
    columns_sql_ += ")";
    located_ = true;
}

void RequestRouter::feed(std::string_view chunk) {
    reader_.feed(chunk, [this](std::span<const FieldValue> values) { onRow(values); });
}

void RequestRouter::onRow(std::span<const FieldValue> values) {
    if (!located_) {
        locateKeyColumns();
    }
    ++row_count_;
    const FieldValue& company = values[region_key_index_];
    if (company.omitted || company.is_null || company.text.empty()) {
        throw RowError(row_count_, table_.region_key,
                       fmt::format("row {}: the row has no {}: ingest cannot tell which region owns it",
                                   row_count_, table_.region_key));
    }
    for (size_t i = 0; i < sharding_indexes_.size(); ++i) {
        const FieldValue& value = values[sharding_indexes_[i]];
        if (value.omitted || value.is_null) {
            throw RowError(row_count_, sharding_key_.columns()[i],
                           fmt::format("row {}: the row has no value for {}, a column of the sharding key",
                                       row_count_, sharding_key_.columns()[i]));
        }
        key_values_[i] = value.text;
    }
    uint64_t key = 0;
    try {
        key = sharding_key_.evaluate(key_values_);
    } catch (const Exception& error) {
        throw RowError(row_count_,
                       sharding_key_.columns().empty() ? table_.region_key : sharding_key_.columns()[0],
                       fmt::format("row {}: {}", row_count_, error.what()));
    }
    auto known = known_.find(company.text);
    if (known == known_.end()) {
        auto region_name = context_.regions().regionOf(company.text);
        const topology::Region* region = region_name ? context_.region(*region_name) : nullptr;
        if (region == nullptr) {
            std::string line;
            reader_.appendTabSeparated(line, values);
            held_bytes_ += line.size();
            waiting_.push_back({row_count_, std::string(company.text), key, std::move(line)});
            return;
        }
        known = known_.emplace(std::string(company.text), region).first;
    }
    // The row is written straight into its slice: one copy per row on the hot path.
    Output& output = outputFor(*known->second, key);
    size_t before = output.rows.size();
    reader_.appendTabSeparated(output.rows, values);
    ++output.row_count;
    held_bytes_ += output.rows.size() - before;
}

RequestRouter::Output& RequestRouter::outputFor(const topology::Region& region, uint64_t key) {
    int shard =
        sharding_key_.isRandom() ? static_cast<int>(row_count_ % region.shards) + 1 : shardFor(key, region);
    auto& output = outputs_[{&region, shard}];
    if (output.target.table == nullptr) {
        output.target = ShardTarget{&table_, &region, shard, columns_sql_};
    }
    return output;
}

void RequestRouter::finish() {
    reader_.finish([this](std::span<const FieldValue> values) { onRow(values); });
    if (waiting_.empty()) {
        return;
    }
    std::vector<std::string> unknown;
    for (const auto& row : waiting_) {
        if (known_.find(row.company) == known_.end()) {
            unknown.push_back(row.company);
            known_.emplace(row.company, nullptr);
        }
    }
    context_.regions().lookUp(unknown);
    for (const auto& row : waiting_) {
        const topology::Region* region = nullptr;
        if (auto name = context_.regions().regionOf(row.company)) {
            region = context_.region(*name);
        }
        if (region == nullptr) {
            region = default_region_;
        }
        if (region == nullptr) {
            throw UnmappedCompany(
                ErrorCode::BadArguments,
                "row {}: company '{}' has no region: map it with `chfleet residency set {} "
                "<region>` (table {} has no default_region); nothing of this request was written",
                row.row_number, row.company, row.company, table_.name);
        }
        Output& output = outputFor(*region, row.key);
        output.rows += row.line;
        ++output.row_count;
    }
    waiting_.clear();
}

std::vector<RequestRouter::Output> RequestRouter::take() {
    std::vector<Output> result;
    result.reserve(outputs_.size());
    for (auto& [target, output] : outputs_) {
        result.push_back(std::move(output));
    }
    outputs_.clear();
    held_bytes_ = 0;
    return result;
}

}  // namespace chfleet::ingest
