#include "common/HttpEndpoints.h"

#include <httplib.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <charconv>

#include "common/Exception.h"

namespace chfleet::http {

namespace {

constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace

ListenAddress parseListenAddress(std::string_view address, std::string_view what, std::string_view example) {
    auto malformed = [&] {
        return Exception(ErrorCode::BadArguments, "{} '{}' is not host:port, e.g. {}", what, address,
                         example);
    };
    size_t colon = address.rfind(':');
    bool bracketed = !address.empty() && address.front() == '[';
    if (colon == std::string_view::npos || colon == 0 || (bracketed && address[colon - 1] != ']')) {
        throw malformed();
    }
    ListenAddress out;
    out.host = bracketed ? address.substr(1, colon - 2) : address.substr(0, colon);
    std::string_view port_text = address.substr(colon + 1);
    auto [end, error] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), out.port);
    if (out.host.empty() || port_text.empty() || error != std::errc() ||
        end != port_text.data() + port_text.size() || out.port < 0 || out.port > 65535) {
        throw malformed();
    }
    return out;
}

void addMetricsAndHealth(httplib::Server& server, std::shared_ptr<prometheus::Registry> registry,
                         HealthCheck health, std::function<void()> before_scrape) {
    server.Get("/metrics", [registry = std::move(registry), before_scrape = std::move(before_scrape)](
                               const httplib::Request&, httplib::Response& response) {
        if (before_scrape) {
            before_scrape();
        }
        response.set_content(prometheus::TextSerializer().Serialize(registry->Collect()),
                             kMetricsContentType);
    });
    server.Get("/healthz",
               [health = std::move(health)](const httplib::Request&, httplib::Response& response) {
                   Health result = health ? health() : Health{true, "ok"};
                   response.status = result.healthy ? 200 : 503;
                   response.set_content(result.text + "\n", "text/plain; charset=utf-8");
               });
}

}  // namespace chfleet::http
