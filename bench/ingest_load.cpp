// chfleet_ingest_load: a load generator for `chfleet ingest serve` and for its baseline, an application that
// writes to the regions itself.
//
//   chfleet_ingest_load --mode ingest --url http://127.0.0.1:PORT --user app --password-env INGEST_PASSWORD
//                       --clients 50 --batch-rows 10000 --batches-per-client 4 --companies-file companies.csv
//   chfleet_ingest_load --mode direct --direct-us-url http://127.0.0.1:P1 --direct-eu-url http://127.0.0.1:P2
//                       --user chfleet --password-env CHFLEET_PASSWORD ... (same load options)
//
// Prints one line of figures (rows/s, MB/s, p50/p99 request latency, errors), or one JSON object with --json.
// Exit code 0 when every request succeeded, 1 when some failed (the figures are printed either way).
#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <latch>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/Command.h"
#include "common/Exception.h"
#include "common/Log.h"

namespace chfleet::bench {

namespace {

enum class Mode { Ingest, Direct };
enum class Region { Us, Eu };

struct Options {
    std::string mode_name = "ingest";
    Mode mode = Mode::Ingest;
    std::vector<std::string> urls;  ///< ingest mode: client i writes to urls[i % size]
    std::vector<std::string> direct_us_urls;
    std::vector<std::string> direct_eu_urls;
    std::string user = "default";
    std::string password_env;
    std::string password;
    std::string table = "teei.events";  ///< logical table; direct mode writes <table>_us_distributed / _eu_
    std::string direct_settings = "insert_distributed_sync=1";
    int clients = 1;
    int batch_rows = 1000;
    int batches_per_client = 10;
    std::string companies_file;
    int timeout_seconds = 300;
    uint64_t seed = 0;  ///< 0: a random one (every run writes new rows)
    bool json = false;
};

struct Company {
    std::string id;
    std::string region_name;  ///< as written in the companies file, also written to the rows' `region` column
    Region region;
};

/// One batch of rows, pre-rendered as JSONEachRow bodies: the whole batch (ingest mode) or split by region
/// (direct mode). Only the bodies the mode sends are filled.
struct Batch {
    std::string all;
    std::string us;
    std::string eu;
};

/// What one client thread measured.
struct ClientResult {
    std::vector<double> latencies_ms;
    uint64_t rows = 0;
    uint64_t bytes = 0;
    uint64_t errors = 0;
    std::string first_error;
};

Region regionOf(const std::string& name, const std::string& where) {
    auto starts = [&](const char* prefix) {
        return name == prefix || name.rfind(std::string(prefix) + "-", 0) == 0;
    };
    if (starts("us")) {
        return Region::Us;
    }
    if (starts("eu")) {
        return Region::Eu;
    }
    throw Exception(
        ErrorCode::InvalidConfig,
        "{}: region '{}' is neither a US (us, us-*) nor an EU (eu, eu-*) region; the load generator "
        "only knows these two",
        where, name);
}

/// Reads `company,region` lines (a header line `company,region` and empty lines are skipped).
std::vector<Company> readCompanies(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        throw Exception(ErrorCode::IoError, "cannot read the companies file {}: check the path", path);
    }
    std::vector<Company> companies;
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
        }
        if (line.empty() || line == "company,region" || line == "company_id,region") {
            continue;
        }
        auto comma = line.find(',');
        if (comma == std::string::npos || comma == 0 || comma + 1 == line.size()) {
            throw Exception(ErrorCode::InvalidConfig, "{}:{}: expected 'company,region', got '{}'", path,
                            number, line);
        }
        Company company{line.substr(0, comma), line.substr(comma + 1), Region::Us};
        company.region = regionOf(company.region_name, path + ":" + std::to_string(number));
        companies.push_back(std::move(company));
    }
    if (companies.empty()) {
        throw Exception(ErrorCode::InvalidConfig, "{} lists no company", path);
    }
    return companies;
}

void appendJsonString(std::string& out, const std::string& value) {
    out += '"';
    for (char c : value) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    char escaped[8];
                    std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
                    out += escaped;
                } else {
                    out += c;
                }
        }
    }
    out += '"';
}

void appendHex(std::string& out, uint64_t value, int digits) {
    static constexpr char hex[] = "0123456789abcdef";
    for (int i = digits - 1; i >= 0; --i) {
        out += hex[(value >> (i * 4)) & 0xf];
    }
}

std::string randomUuid(std::mt19937_64& random) {
    uint64_t high = (random() & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
    uint64_t low = (random() & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;   // variant 10
    std::string out;
    out.reserve(36);
    appendHex(out, high >> 32, 8);
    out += '-';
    appendHex(out, (high >> 16) & 0xffff, 4);
    out += '-';
    appendHex(out, high & 0xffff, 4);
    out += '-';
    appendHex(out, low >> 48, 4);
    out += '-';
    appendHex(out, low & 0xffffffffffffULL, 12);
    return out;
}

std::string formatDateTime(std::time_t t) {
    std::tm tm{};
    gmtime_r(&t, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &tm);
    return text;
}

/*
 * Row generation. Every row is a teei event of a company drawn uniformly from the companies file (so the
 * file's US/EU split is the traffic's split), with a fresh UUID, a user of that company, one of five event
 * types, a timestamp within the last two days, and a payload of about 100 bytes (a JSON document stored as a
 * string, so its quotes are escaped on the wire) whose "source" is bench-ingest or bench-direct, so that rows
 * written each way can be counted apart afterwards. Every batch differs from every other one: replicated
 * tables drop an inserted block identical to a recent one, which would make a benchmark count rows never
 * written. Batches are rendered before the clock starts: the figures measure sending and storing, not
 * formatting.
 */
void appendRow(std::string& out, const Company& company, const std::string& source, std::mt19937_64& random,
               std::time_t now) {
    static const char* const event_types[] = {"page_view", "donation", "volunteer_hour", "signup", "share"};
    out += R"({"event_id":")";
    out += randomUuid(random);
    out += R"(","company_id":)";
    appendJsonString(out, company.id);
    out += R"(,"user_id":)";
    appendJsonString(out, company.id + "-user-" + std::to_string(random() % 5000));
    out += R"(,"event_type":")";
    out += event_types[random() % 5];
    out += R"(","region":)";
    appendJsonString(out, company.region_name);
    out += R"(,"timestamp":")";
    out += formatDateTime(now - static_cast<std::time_t>(random() % (2 * 86400)));
    std::string payload = R"({"source":")" + source + R"(","session":")";
    appendHex(payload, random(), 16);
    appendHex(payload, random(), 16);
    payload += R"(","amount":)" + std::to_string(random() % 100000) + R"(,"tags":["csr","impact"]})";
    out += R"(","payload":)";
    appendJsonString(out, payload);
    out += "}\n";
}

std::vector<Batch> generateBatches(const Options& options, const std::vector<Company>& companies, int client,
                                   std::time_t now) {
    std::mt19937_64 random(options.seed * 1000003ULL + static_cast<uint64_t>(client));
    std::vector<Batch> batches(options.batches_per_client);
    const std::string source = "bench-" + options.mode_name;
    for (auto& batch : batches) {
        for (int r = 0; r < options.batch_rows; ++r) {
            const Company& company = companies[random() % companies.size()];
            if (options.mode == Mode::Ingest) {
                appendRow(batch.all, company, source, random, now);
            } else {
                appendRow(company.region == Region::Us ? batch.us : batch.eu, company, source, random, now);
            }
        }
    }
    return batches;
}

size_t collectBody(char* data, size_t size, size_t count, void* user) {
    auto* body = static_cast<std::string*>(user);
    if (body->size() < 4096) {  // enough of an error message; a successful INSERT answers nothing
        body->append(data, std::min(size * count, 4096 - body->size()));
    }
    return size * count;
}

std::string insertUrl(const std::string& base, const std::string& table, const std::string& settings) {
    std::string query = "INSERT INTO " + table + " FORMAT JSONEachRow";
    char* escaped = curl_easy_escape(nullptr, query.c_str(), static_cast<int>(query.size()));
    std::string url = base;
    while (!url.empty() && url.back() == '/') {
        url.pop_back();
    }
    url += "/?query=";
    url += escaped;
    curl_free(escaped);
    if (!settings.empty()) {
        url += "&" + settings;
    }
    return url;
}

/// One POST target of a client: an easy handle kept for the whole run (its connection is reused), with the
/// credentials in X-ClickHouse-User / X-ClickHouse-Key headers, never in the URL.
class Target {
  public:
    Target(const std::string& url, const Options& options) : url_(url) {
        handle_ = curl_easy_init();
        if (handle_ == nullptr) {
            throw Exception(ErrorCode::Failed, "curl_easy_init failed (out of memory?)");
        }
        headers_ = curl_slist_append(headers_, ("X-ClickHouse-User: " + options.user).c_str());
        headers_ = curl_slist_append(headers_, ("X-ClickHouse-Key: " + options.password).c_str());
        headers_ = curl_slist_append(headers_, "Content-Type: application/x-ndjson");
        headers_ = curl_slist_append(headers_, "Expect:");  // no 100-continue round trip before each body
        curl_easy_setopt(handle_, CURLOPT_URL, url_.c_str());
        curl_easy_setopt(handle_, CURLOPT_HTTPHEADER, headers_);
        curl_easy_setopt(handle_, CURLOPT_POST, 1L);
        curl_easy_setopt(handle_, CURLOPT_WRITEFUNCTION, collectBody);
        curl_easy_setopt(handle_, CURLOPT_WRITEDATA, &response_);
        curl_easy_setopt(handle_, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
        curl_easy_setopt(handle_, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout_seconds) * 1000L);
        curl_easy_setopt(handle_, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(handle_, CURLOPT_TCP_NODELAY, 1L);
    }
    ~Target() {
        curl_easy_cleanup(handle_);
        curl_slist_free_all(headers_);
    }
    Target(const Target&) = delete;
    Target& operator=(const Target&) = delete;

    CURL* handle() const { return handle_; }

    CURL* prepare(const std::string& body) {
        response_.clear();
        curl_easy_setopt(handle_, CURLOPT_POSTFIELDS, body.data());
        curl_easy_setopt(handle_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
        return handle_;
    }

    /// Empty when the request succeeded, else what went wrong (the server's message, without credentials).
    std::string outcome(CURLcode code) const {
        if (code != CURLE_OK) {
            return url_.substr(0, url_.find('?')) + ": " + curl_easy_strerror(code);
        }
        long status = 0;
        curl_easy_getinfo(handle_, CURLINFO_RESPONSE_CODE, &status);
        if (status != 200) {
            return url_.substr(0, url_.find('?')) + ": HTTP " + std::to_string(status) + ": " +
                   response_.substr(0, 500);
        }
        return {};
    }

  private:
    std::string url_;
    CURL* handle_ = nullptr;
    curl_slist* headers_ = nullptr;
    std::string response_;
};

struct Client {
    std::vector<Batch> batches;
    std::vector<std::unique_ptr<Target>> targets;  ///< ingest: one; direct: US, EU
};

Client prepareClient(const Options& options, int client, const std::vector<Company>& companies,
                     std::time_t now) {
    Client prepared;
    prepared.batches = generateBatches(options, companies, client, now);
    if (options.mode == Mode::Ingest) {
        prepared.targets.push_back(std::make_unique<Target>(
            insertUrl(options.urls[client % options.urls.size()], options.table, ""), options));
    } else {
        prepared.targets.push_back(
            std::make_unique<Target>(insertUrl(options.direct_us_urls[client % options.direct_us_urls.size()],
                                               options.table + "_us_distributed", options.direct_settings),
                                     options));
        prepared.targets.push_back(
            std::make_unique<Target>(insertUrl(options.direct_eu_urls[client % options.direct_eu_urls.size()],
                                               options.table + "_eu_distributed", options.direct_settings),
                                     options));
    }
    return prepared;
}

/*
 * A client sends its batches one after another, each as soon as the previous one is acknowledged (a closed
 * loop: the offered load adapts to the server, as an application waiting for its INSERT would). In direct
 * mode a batch is two INSERTs, one per region, sent concurrently on one curl multi handle; the batch's
 * latency is until both are acknowledged: the best an application splitting rows itself could do.
 */
void runClient(const Options& options, Client& client, ClientResult& result) {
    CURLM* multi = curl_multi_init();
    result.latencies_ms.reserve(client.batches.size());
    for (const Batch& batch : client.batches) {
        std::vector<std::pair<Target*, const std::string*>> requests;
        if (options.mode == Mode::Ingest) {
            requests.emplace_back(client.targets[0].get(), &batch.all);
        } else {
            if (!batch.us.empty()) {
                requests.emplace_back(client.targets[0].get(), &batch.us);
            }
            if (!batch.eu.empty()) {
                requests.emplace_back(client.targets[1].get(), &batch.eu);
            }
        }
        auto start = std::chrono::steady_clock::now();
        for (auto& [target, body] : requests) {
            curl_multi_add_handle(multi, target->prepare(*body));
        }
        int running = 1;
        while (running > 0) {
            curl_multi_perform(multi, &running);
            if (running > 0) {
                curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
            }
        }
        std::vector<std::pair<CURL*, CURLcode>> done;
        int left = 0;
        while (CURLMsg* message = curl_multi_info_read(multi, &left)) {
            if (message->msg == CURLMSG_DONE) {
                done.emplace_back(message->easy_handle, message->data.result);
            }
        }
        double ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
        bool failed = false;
        for (auto& [target, body] : requests) {
            CURL* handle = target->handle();
            auto it =
                std::find_if(done.begin(), done.end(), [&](const auto& d) { return d.first == handle; });
            std::string error = target->outcome(it == done.end() ? CURLE_RECV_ERROR : it->second);
            curl_multi_remove_handle(multi, handle);
            if (!error.empty()) {
                failed = true;
                if (result.first_error.empty()) {
                    result.first_error = error;
                }
            }
        }
        result.latencies_ms.push_back(ms);
        if (failed) {
            ++result.errors;
        } else {
            result.rows += static_cast<uint64_t>(options.batch_rows);
            result.bytes += batch.all.size() + batch.us.size() + batch.eu.size();
        }
    }
    curl_multi_cleanup(multi);
}

double percentile(const std::vector<double>& sorted, double p) {
    if (sorted.empty()) {
        return 0;
    }
    size_t index = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size()))) - 1;
    return sorted[std::min(index, sorted.size() - 1)];
}

std::vector<std::string> splitList(const std::string& text) {
    std::vector<std::string> items;
    size_t start = 0;
    while (start <= text.size()) {
        size_t comma = text.find(',', start);
        std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (!item.empty()) {
            items.push_back(item);
        }
        if (comma == std::string::npos) {
            break;
        }
        start = comma + 1;
    }
    return items;
}

int run(Options& options) {
    if (!options.password_env.empty()) {
        const char* password = std::getenv(options.password_env.c_str());
        if (password == nullptr) {
            throw Exception(ErrorCode::InvalidConfig, "environment variable {} (--password-env) is not set",
                            options.password_env);
        }
        options.password = password;
    }
    options.mode = options.mode_name == "direct" ? Mode::Direct : Mode::Ingest;
    if (options.mode == Mode::Ingest && options.urls.empty()) {
        throw Exception(ErrorCode::BadArguments, "--mode ingest needs --url");
    }
    if (options.mode == Mode::Direct && (options.direct_us_urls.empty() || options.direct_eu_urls.empty())) {
        throw Exception(ErrorCode::BadArguments, "--mode direct needs --direct-us-url and --direct-eu-url");
    }
    std::vector<Company> companies = readCompanies(options.companies_file);

    curl_global_init(CURL_GLOBAL_DEFAULT);
    std::time_t now = std::time(nullptr);
    if (options.seed == 0) {
        options.seed = (static_cast<uint64_t>(std::random_device{}()) << 32) | std::random_device{}();
    }
    std::vector<ClientResult> results(options.clients);
    std::latch ready(options.clients + 1);
    std::vector<std::thread> threads;
    std::mutex fatal_mutex;
    std::string fatal;
    for (int c = 0; c < options.clients; ++c) {
        threads.emplace_back([&, c] {
            Client client;
            try {
                client = prepareClient(options, c, companies, now);
            } catch (const std::exception& e) {
                std::lock_guard lock(fatal_mutex);
                fatal = e.what();
            }
            ready.arrive_and_wait();  // every client starts together, after all rows are generated
            bool go = false;
            {
                std::lock_guard lock(fatal_mutex);
                go = fatal.empty();
            }
            if (go) {
                runClient(options, client, results[c]);
            }
        });
    }
    ready.arrive_and_wait();
    auto start = std::chrono::steady_clock::now();
    for (auto& thread : threads) {
        thread.join();
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    curl_global_cleanup();
    if (!fatal.empty()) {
        throw Exception(ErrorCode::Failed, "a client failed before sending: {}", fatal);
    }

    std::vector<double> latencies;
    uint64_t rows = 0, bytes = 0, errors = 0;
    std::string first_error;
    for (auto& r : results) {
        latencies.insert(latencies.end(), r.latencies_ms.begin(), r.latencies_ms.end());
        rows += r.rows;
        bytes += r.bytes;
        errors += r.errors;
        if (first_error.empty()) {
            first_error = r.first_error;
        }
    }
    std::sort(latencies.begin(), latencies.end());
    double rows_per_s = static_cast<double>(rows) / seconds;
    double mb_per_s = static_cast<double>(bytes) / 1e6 / seconds;
    double p50 = percentile(latencies, 0.50), p99 = percentile(latencies, 0.99);
    if (!first_error.empty()) {
        log::get("ingest-load")
            ->error("{} of {} batches failed; first error: {}", errors, latencies.size(), first_error);
    }
    if (options.json) {
        nlohmann::json out = {{"mode", options.mode_name},
                              {"clients", options.clients},
                              {"batch_rows", options.batch_rows},
                              {"batches", latencies.size()},
                              {"rows", rows},
                              {"bytes", bytes},
                              {"seconds", seconds},
                              {"rows_per_s", rows_per_s},
                              {"mb_per_s", mb_per_s},
                              {"p50_ms", p50},
                              {"p99_ms", p99},
                              {"errors", errors}};
        std::cout << out.dump() << std::endl;
    } else {
        std::cout
            << fmt::format(
                   "mode={} clients={} batch_rows={} batches={} rows={} seconds={:.3f} rows_per_s={:.0f} "
                   "mb_per_s={:.2f} p50_ms={:.1f} p99_ms={:.1f} errors={}",
                   options.mode_name, options.clients, options.batch_rows, latencies.size(), rows, seconds,
                   rows_per_s, mb_per_s, p50, p99, errors)
            << std::endl;
    }
    return errors == 0 ? 0 : static_cast<int>(ErrorCode::Failed);
}

}  // namespace

int ingestLoadMain(const std::vector<std::string>& args) {
    CLI::App app{
        "chfleet_ingest_load: load generator for `chfleet ingest serve` and for direct regional writes"};
    addCommonOptions(app);
    Options options;
    std::string urls, us_urls, eu_urls;
    app.add_option("--mode", options.mode_name,
                   "ingest: every batch to --url as INSERT INTO <table>; direct: each batch split by the "
                   "company's region, to <table>_us_distributed / <table>_eu_distributed")
        ->check(CLI::IsMember({"ingest", "direct"}))
        ->capture_default_str();
    app.add_option("--url", urls, "ingest endpoint(s), comma-separated (client i uses the i-th modulo)");
    app.add_option("--direct-us-url", us_urls,
                   "direct mode: HTTP URL(s) of US-region nodes, comma-separated");
    app.add_option("--direct-eu-url", eu_urls,
                   "direct mode: HTTP URL(s) of EU-region nodes, comma-separated");
    app.add_option("--user", options.user, "user sent as X-ClickHouse-User")->capture_default_str();
    app.add_option("--password-env", options.password_env,
                   "name of the environment variable holding the password (never the password itself)");
    app.add_option("--table", options.table, "logical table")->capture_default_str();
    app.add_option(
           "--direct-settings", options.direct_settings,
           "URL settings of direct INSERTs (synchronous distributed writes, so an acknowledged batch is "
           "on its shards as with ingest's sync mode)")
        ->capture_default_str();
    app.add_option("--clients", options.clients, "concurrent clients (threads)")
        ->check(CLI::Range(1, 1000))
        ->capture_default_str();
    app.add_option("--batch-rows", options.batch_rows, "rows per INSERT")
        ->check(CLI::Range(1, 10000000))
        ->capture_default_str();
    app.add_option("--batches-per-client", options.batches_per_client, "INSERTs each client sends")
        ->check(CLI::Range(1, 1000000))
        ->capture_default_str();
    app.add_option("--companies-file", options.companies_file, "lines company,region (region us-* or eu-*)")
        ->required();
    app.add_option("--timeout-seconds", options.timeout_seconds, "per request")->capture_default_str();
    app.add_option("--seed", options.seed, "random seed of the generated rows; 0: a new one per run")
        ->capture_default_str();
    app.add_flag("--json", options.json, "print one JSON object instead of the line of figures");
    return runCommand(app, args, [&] {
        options.urls = splitList(urls);
        options.direct_us_urls = splitList(us_urls);
        options.direct_eu_urls = splitList(eu_urls);
        return run(options);
    });
}

}  // namespace chfleet::bench

int main(int argc, char** argv) {
    return chfleet::bench::ingestLoadMain(std::vector<std::string>(argv + 1, argv + argc));
}
