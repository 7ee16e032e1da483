// IngestServer::forward: every statement other than an INSERT is rewritten so that it reads the fleet's real
// tables by the logical names the client wrote with (ReadRewriter), then goes, read-only and with the fleet's
// account, either to one replica of one shard (a SELECT pinned to one company) or to a node of the site (the
// next one in turn, the one after when a node does not answer); the node's answer is passed back as it is.
#include <fmt/format.h>
#include <httplib.h>

#include <chrono>
#include <set>
#include <string>

#include "clickhouse/HttpConnection.h"
#include "clickhouse/ServerError.h"
#include "ingest/IngestSection.h"
#include "ingest/protocol/ClickHouseHttp.h"
#include "ingest/protocol/IngestMetrics.h"
#include "ingest/protocol/IngestServer.h"
#include "ingest/protocol/ReadRewriter.h"
#include "ingest/route/CompanyId.h"
#include "ingest/route/RegionMap.h"
#include "ingest/route/RequestRouter.h"

namespace chfleet::ingest {
namespace {

namespace server_code = clickhouse::server_code;

}  // namespace

std::optional<IngestServer::ShardRead> IngestServer::shardRead(const ReadPlan::Pin& pin) {
    // Only a key that is a function of the company alone keeps all of a company's rows on one shard. A
    // materialized view's rows are on the shard its source's rows were inserted on: the source's key decides.
    const topology::Table* placed = pin.table;
    if (pin.table->kind == topology::TableKind::MaterializedView) {
        placed = fleet_.schema.table(pin.table->from);
    }
    if (placed == nullptr || placed->region_key != pin.table->region_key || companyIdTooLong(pin.company)) {
        return std::nullopt;
    }
    const ShardingKey& key = routing_->shardingKey(*placed);
    if (key.isRandom() || key.columns() != std::vector<std::string>{placed->region_key}) {
        return std::nullopt;
    }
    const topology::Region* region = pin.region;
    if (region == nullptr) {
        if (!regions_->regionOf(pin.company)) {
            try {
                regions_->lookUp({pin.company});
            } catch (const Exception&) {
                return std::nullopt;  // the mapping cannot be read now: the general path still can answer
            }
        }
        auto name = regions_->regionOf(pin.company);
        region = name ? routing_->region(*name) : nullptr;
        if (region == nullptr) {
            const std::string& fallback = defaultRegion(*pin.table);
            region = fallback.empty() ? nullptr : routing_->region(fallback);
        }
    }
    if (region == nullptr) {
        return std::nullopt;  // a company with no region: no shard can be named for it
    }
    std::string_view value = pin.company;
    int shard = shardFor(key.evaluate(std::span<const std::string_view>(&value, 1)), *region);
    return ShardRead{region, shard};
}

void IngestServer::forward(const httplib::Request& request, httplib::Response& response,
                           const std::string& query, const std::string& body) {
    // ClickHouse runs the URL's query followed by the body, a line apart.
    std::string sql = query.empty() ? body : body.empty() ? query : query + "\n" + body;
    std::string database = param(request, "database");
    ReadPlan plan;
    try {
        plan = reads_->plan(sql, database.empty() ? "default" : database);
    } catch (const UnsafeRead& error) {
        metrics_->rejected("syntax");
        answerError(response, 400, server_code::kUnknownTable, error.what());
        return;
    }
    // Reads go with the fleet's account, read-only; the client's own settings travel along (but not its
    // credentials or a readonly of its own).
    static const std::set<std::string> kDropped{"user", "password", "readonly", "query"};
    std::string path = "/?readonly=2";
    for (const auto& [name, value] : request.params) {
        if (kDropped.count(name) == 0) {
            path += "&" + clickhouse::urlEncode(name) + "=" + clickhouse::urlEncode(value);
        }
    }
    auto send = [&](const topology::Node& node, const std::string& statement) {
        httplib::Client client(node.host, node.http_port);
        client.set_connection_timeout(std::chrono::seconds(3));
        client.set_read_timeout(std::chrono::seconds(300));
        client.set_decompress(false);
        client.set_tcp_nodelay(true);  // the request's header and body are two writes: no Nagle delay between
        httplib::Headers headers{{"X-ClickHouse-User", fleet_credentials_.user},
                                 {"X-ClickHouse-Key", fleet_credentials_.password}};
        auto result = client.Post(path, headers, statement, "text/plain");
        if (!result) {
            return false;  // not reachable: the next node
        }
        response.status = result->status;
        for (const auto& [name, value] : result->headers) {
            // Compression, if the client asked for it, is this server's own (httplib's), so the answer is
            // asked for and passed on uncompressed.
            if (name.starts_with("X-ClickHouse-")) {
                response.set_header(name, value);
            }
        }
        response.set_content(result->body, result->get_header_value("Content-Type"));
        if (result->status != 200) {
            metrics_->rejected("forward_failed");
        }
        return true;
    };
    std::optional<ShardRead> shard = plan.pin ? shardRead(*plan.pin) : std::nullopt;
    if (shard) {
        // One replica of the company's shard, in the fleet file's order: the first replica is the one ingest
        // writes to, so a client reads its own writes there at once.
        for (int replica = 1; replica <= shard->region->replicas; ++replica) {
            const topology::Node* node = shard->region->node(shard->shard, replica);
            if (node != nullptr && send(*node, plan.pin->local_sql)) {
                response.set_header("X-Chfleet-Read", fmt::format("shard {} {} {}", shard->region->name,
                                                                  shard->shard, node->name));
                metrics_->read(true);
                return;
            }
        }
        metrics_->rejected("forward_failed");
        answerError(response, 503, server_code::kAllConnectionTriesFailed,
                    fmt::format("no replica of shard {} of {} answered; the query was not run", shard->shard,
                                shard->region->name));
        return;
    }
    auto nodes = site_->nodes();
    size_t first = forward_turn_++;
    for (size_t i = 0; i < nodes.size(); ++i) {
        const topology::Node& node = *nodes[(first + i) % nodes.size()];
        if (send(node, plan.sql)) {
            response.set_header("X-Chfleet-Read", "site " + node.name);
            metrics_->read(false);
            return;
        }
    }
    metrics_->rejected("forward_failed");
    answerError(response, 503, server_code::kNetworkError,
                fmt::format("no node of site {} answered; the query was not run", site_->name));
}

}  // namespace chfleet::ingest
