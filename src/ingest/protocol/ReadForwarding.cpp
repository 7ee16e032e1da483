// IngestServer::forward: every statement other than an INSERT goes, read-only and with the fleet's account,
// to a node of the site (the next one in turn, the one after when a node does not answer); its answer is
// passed back as it is.
#include <fmt/format.h>
#include <httplib.h>

#include <chrono>
#include <set>
#include <string>

#include "clickhouse/HttpConnection.h"
#include "clickhouse/ServerError.h"
#include "ingest/protocol/ClickHouseHttp.h"
#include "ingest/protocol/IngestMetrics.h"
#include "ingest/protocol/IngestServer.h"

namespace chfleet::ingest {
namespace {

namespace server_code = clickhouse::server_code;

}  // namespace

void IngestServer::forward(const httplib::Request& request, httplib::Response& response,
                           const std::string& query, const std::string& body) {
    // Reads go to a node of the site, with the fleet's account, read-only; the client's own settings travel
    // along (but not its credentials or a readonly of its own).
    static const std::set<std::string> kDropped{"user", "password", "readonly", "query"};
    std::string path = "/?readonly=2";
    if (!query.empty()) {
        path += "&query=" + clickhouse::urlEncode(query);
    }
    for (const auto& [name, value] : request.params) {
        if (kDropped.count(name) == 0) {
            path += "&" + clickhouse::urlEncode(name) + "=" + clickhouse::urlEncode(value);
        }
    }
    auto nodes = site_->nodes();
    size_t first = forward_turn_++;
    for (size_t i = 0; i < nodes.size(); ++i) {
        const topology::Node& node = *nodes[(first + i) % nodes.size()];
        httplib::Client client(node.host, node.http_port);
        client.set_connection_timeout(std::chrono::seconds(3));
        client.set_read_timeout(std::chrono::seconds(300));
        client.set_decompress(false);
        httplib::Headers headers{{"X-ClickHouse-User", fleet_credentials_.user},
                                 {"X-ClickHouse-Key", fleet_credentials_.password}};
        auto result = client.Post(path, headers, body, "text/plain");
        if (!result) {
            continue;  // not reachable: the next node
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
        return;
    }
    metrics_->rejected("forward_failed");
    answerError(response, 503, server_code::kNetworkError,
                fmt::format("no node of site {} answered; the query was not run", site_->name));
}

}  // namespace chfleet::ingest
