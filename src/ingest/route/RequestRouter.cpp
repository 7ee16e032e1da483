#include "ingest/route/RequestRouter.h"

#include <algorithm>
#include <cstring>

#include "clickhouse/Quoting.h"
#include "common/Exception.h"
#include "erase/Subject.h"
#include "ingest/IngestSection.h"
#include "ingest/route/CompanyId.h"
#include "ingest/route/RegionMap.h"
#include "ingest/write/ErasedCompanies.h"

namespace chfleet::ingest {

RoutingContext::RoutingContext(const topology::Fleet& fleet, const topology::Site& site, RegionMap& regions,
                               WorkerPool* readers, ErasedCompanies* erased)
    : fleet_(fleet), site_(site), regions_(regions), readers_(readers), erased_(erased) {
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
                             std::vector<std::string> insert_columns, bool skip_unknown_fields,
                             const topology::Region* asserted_region)
    : context_(context),
      table_(table),
      sharding_key_(context.shardingKey(table)),
      reader_(format, table.columns, std::move(insert_columns), skip_unknown_fields),
      asserted_region_(asserted_region) {
    if (!defaultRegion(table).empty()) {
        default_region_ = context.region(defaultRegion(table));
    }
}

RequestRouter::~RequestRouter() {
    for (auto& piece : pieces_) {
        piece->done.wait();  // its reader thread still uses it
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
    routed_.key_values.resize(sharding_indexes_.size());
    columns_sql_ = "(";
    for (size_t i = 0; i < columns.size(); ++i) {
        columns_sql_ += (i == 0 ? "" : ", ") + clickhouse::quoteIdentifier(columns[i]);
    }
    columns_sql_ += ")";
    located_ = true;
}

bool RequestRouter::canSplit() const {
    // Rows of a random sharding key go to shards by their number in the body, which a piece does not know.
    return context_.readers() != nullptr && located_ && !sharding_key_.isRandom() && reader_.splittable();
}

void RequestRouter::feed(std::string_view chunk) {
    if (!splitting_) {
        reader_.feed(chunk, [this](std::span<const FieldValue> values) { route(routed_, reader_, values); });
        if (canSplit()) {
            splitting_ = true;
            pending_.reserve(kPendingCapacity);
            pending_ += reader_.takeUnparsed();
            auto line_end = pending_.rfind('\n');
            pending_line_end_ = line_end == std::string::npos ? 0 : line_end + 1;
        }
        return;
    }
    size_t before = pending_.size();
    pending_.append(chunk);
    if (const void* line_end = memrchr(chunk.data(), '\n', chunk.size())) {
        pending_line_end_ = before + (static_cast<const char*>(line_end) - chunk.data()) + 1;
    }
    if (pending_.size() >= kPieceBytes && pending_line_end_ > 0) {
        cutPiece(false);
    }
}

void RequestRouter::cutPiece(bool final) {
    auto piece = std::make_unique<Piece>();
    piece->final = final;
    piece->data = std::move(pending_);
    pending_ = std::string();
    if (!final) {
        pending_.reserve(kPendingCapacity);
        pending_.assign(piece->data, pending_line_end_);
        piece->data.resize(pending_line_end_);
    }
    pending_line_end_ = 0;
    Piece* raw = piece.get();
    raw->done = context_.readers()->run([this, raw] { readPiece(*raw, 0); });
    pieces_.push_back(std::move(piece));
    ++pieces_read_;
    if (pieces_.size() > kPiecesInFlight) {
        takeOldestPiece();
    }
}

void RequestRouter::readPiece(Piece& piece, size_t rows_before) {
    piece.reader.emplace(reader_.continuation(rows_before));
    piece.routed = Routed{};
    piece.routed.rows_before = rows_before;
    piece.routed.key_values.resize(sharding_indexes_.size());
    piece.error = nullptr;
    try {
        piece.consumed = piece.reader->readStretch(
            piece.data, piece.final,
            [&](std::span<const FieldValue> values) { route(piece.routed, *piece.reader, values); });
    } catch (...) {
        piece.error = std::current_exception();
    }
}

void RequestRouter::takeOldestPiece() {
    std::unique_ptr<Piece> piece = std::move(pieces_.front());
    pieces_.pop_front();
    piece->done.wait();
    // The guess that the piece starts at a row holds when the piece before ended between rows. If not, or
    // if the piece failed, it is read again from the true end of the rows before, with the rows before
    // counted: a failure then names the row it would name on one thread.
    if (!reader_.onlyBetweenRows(carried_) || piece->error) {
        ++pieces_read_again_;
        piece->data.insert(0, carried_);
        readPiece(*piece, routed_.rows);
        if (piece->error) {
            std::rethrow_exception(piece->error);
        }
    }
    carried_.assign(piece->data, piece->consumed);
    piece_outputs_.push_back(std::move(piece->routed.outputs));
    for (auto& row : piece->routed.waiting) {
        row.row_number += routed_.rows;
        routed_.waiting.push_back(std::move(row));
    }
    routed_.rows += piece->routed.rows;
}

void RequestRouter::joinPieceOutputs() {
    // Each slice is allocated once, at its final size: no growth by copying, no fresh pages twice.
    std::map<TargetKey, size_t> sizes;
    for (const auto& [key, output] : routed_.outputs) {
        sizes[key] += output.rows.size();
    }
    for (const auto& outputs : piece_outputs_) {
        for (const auto& [key, output] : outputs) {
            sizes[key] += output.rows.size();
        }
    }
    for (const auto& [key, size] : sizes) {
        routed_.outputs[key].rows.reserve(size);
    }
    for (auto& outputs : piece_outputs_) {
        for (auto& [key, output] : outputs) {
            Output& into = routed_.outputs[key];
            if (into.target.table == nullptr) {
                into.target = std::move(output.target);
            }
            into.rows += output.rows;
            into.row_count += output.row_count;
            std::string().swap(output.rows);
        }
    }
    piece_outputs_.clear();
}

void RequestRouter::route(Routed& routed, const RowReader& reader, std::span<const FieldValue> values) {
    if (!located_) {
        locateKeyColumns();
    }
    size_t row_number = routed.rows_before + ++routed.rows;
    const FieldValue& company = values[region_key_index_];
    if (company.omitted || company.is_null || company.text.empty()) {
        throw RowError(row_number, table_.region_key,
                       fmt::format("row {}: the row has no {}: ingest cannot tell which region owns it",
                                   row_number, table_.region_key));
    }
    if (companyIdTooLong(company.text)) {
        throw RowError(
            row_number, table_.region_key,
            fmt::format("row {}: the {} {} is longer than {} bytes: not a company ID ingest takes",
                        row_number, table_.region_key, quotedCompanyId(company.text), kMaxCompanyIdBytes));
    }
    for (size_t i = 0; i < sharding_indexes_.size(); ++i) {
        const FieldValue& value = values[sharding_indexes_[i]];
        if (value.omitted || value.is_null) {
            throw RowError(row_number, sharding_key_.columns()[i],
                           fmt::format("row {}: the row has no value for {}, a column of the sharding key",
                                       row_number, sharding_key_.columns()[i]));
        }
        routed.key_values[i] = value.text;
    }
    uint64_t key = 0;
    try {
        key = sharding_key_.evaluate(routed.key_values);
    } catch (const Exception& error) {
        throw RowError(row_number,
                       sharding_key_.columns().empty() ? table_.region_key : sharding_key_.columns()[0],
                       fmt::format("row {}: {}", row_number, error.what()));
    }
    auto known = routed.known.find(company.text);
    if (known == routed.known.end()) {
        checkErased(row_number, company.text);  // once per company and request, like the region look-up
        auto region_name = context_.regions().regionOf(company.text);
        const topology::Region* region = region_name ? context_.region(*region_name) : nullptr;
        if (region == nullptr) {
            std::string line;
            reader.appendTabSeparated(line, values);
            routed.waiting.push_back({routed.rows, std::string(company.text), key, std::move(line)});
            return;
        }
        known = routed.known.emplace(std::string(company.text), region).first;
    }
    checkResidency(row_number, company.text, *known->second);
    // The row is written straight into its slice: one copy per row on the hot path.
    Output& output = outputFor(routed, *known->second, key);
    reader.appendTabSeparated(output.rows, values);
    ++output.row_count;
}

void RequestRouter::checkErased(size_t row_number, std::string_view company) const {
    if (context_.erased() == nullptr) {
        return;
    }
    if (auto subject = context_.erased()->erasedSubject(company)) {
        throw ErasedCompany(
            ErrorCode::BadArguments,
            "row {}: company {} was erased (erasure subject {} in the erasure ledger): ingest "
            "takes no rows of an erased company, in any table; nothing of this request was "
            "written. A returning customer is written under a new company ID "
            "(docs/erase.md)",
            row_number, companyIdPrefix(company), erase::shortSubject(*subject));
    }
}

void RequestRouter::checkResidency(size_t row_number, std::string_view company,
                                   const topology::Region& region) const {
    if (asserted_region_ != nullptr && &region != asserted_region_) {
        throw ResidencyMismatch(
            ErrorCode::BadArguments,
            "row {}: company {} belongs to region {}, but the INSERT names {}'s table {}: its rows may not "
            "be "
            "stored there (residency); nothing of this request was written. Insert into {} (ingest routes "
            "each row to its company's region)",
            row_number, quotedCompanyId(company), region.name, asserted_region_->name,
            table_.regionalName(*asserted_region_), table_.name);
    }
}

RequestRouter::Output& RequestRouter::outputFor(Routed& routed, const topology::Region& region,
                                                uint64_t key) {
    int shard = sharding_key_.isRandom()
                    ? static_cast<int>((routed.rows_before + routed.rows) % region.shards) + 1
                    : shardFor(key, region);
    auto& output = routed.outputs[{&region, shard}];
    if (output.target.table == nullptr) {
        output.target = ShardTarget{&table_, &region, shard, columns_sql_};
    }
    return output;
}

void RequestRouter::finish() {
    if (splitting_) {
        cutPiece(true);
        while (!pieces_.empty()) {
            takeOldestPiece();
        }
        joinPieceOutputs();
    } else {
        reader_.finish([this](std::span<const FieldValue> values) { route(routed_, reader_, values); });
    }
    auto& waiting = routed_.waiting;
    if (waiting.empty()) {
        return;
    }
    std::vector<std::string> unknown;
    text::StringMap<bool> asked;
    for (const auto& row : waiting) {
        if (asked.emplace(row.company, true).second) {
            unknown.push_back(row.company);
        }
    }
    context_.regions().lookUp(unknown);
    for (const auto& row : waiting) {
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
                "row {}: company {} has no region: map it with `chfleet residency set <company> "
                "<region>` (table {} has no default_region); nothing of this request was written",
                row.row_number, quotedCompanyId(row.company), table_.name);
        }
        checkResidency(row.row_number, row.company, *region);
        Output& output = outputFor(routed_, *region, row.key);
        output.rows += row.line;
        ++output.row_count;
    }
    waiting.clear();
}

std::vector<RequestRouter::Output> RequestRouter::take() {
    std::vector<Output> result;
    result.reserve(routed_.outputs.size());
    for (auto& [target, output] : routed_.outputs) {
        result.push_back(std::move(output));
    }
    routed_.outputs.clear();
    return result;
}

}  // namespace chfleet::ingest
