#pragma once

// One `chfleet ingest serve` process on the binary's shared fleet, the examples' ingest user, and an event
// row: shared by the test files of this folder.

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include "TestFleet.h"
#include "clickhouse/HttpConnection.h"
#include "common/Process.h"
#include "shared/FreePort.h"
#include "shared/WaitUntil.h"

namespace chfleet::testing {

inline constexpr const char* kUser = "app";
inline constexpr const char* kPassword = "ingest-demo";

/// One `chfleet ingest serve` process, stopped by pid at the end.
class IngestProcess {
  public:
    explicit IngestProcess(std::vector<std::string> extra = {}, uint16_t port = 0)
        : port_(port ? port : freeLoopbackPort()) {
        listen_ = "127.0.0.1:" + std::to_string(port_);
        log_ = FleetEnvironment::fleet().sandbox().dir() + "/ingest-" + std::to_string(port_) + ".log";
        std::vector<std::string> argv{
            CHFLEET_BINARY, "ingest", "serve", "-f", FleetEnvironment::fleet().fleetPath(),
            "--listen",     listen_};
        if (std::find(extra.begin(), extra.end(), "--batch-wait-ms") == extra.end()) {
            argv.insert(argv.end(), {"--batch-wait-ms", "50"});  // short, unless the test sets its own
        }
        argv.insert(argv.end(), extra.begin(), extra.end());
        pid_ = process::spawnDetached(argv, log_, FleetEnvironment::fleet().sandbox().dir());
        bool answering = waitUntil([&] {
            httplib::Client client("127.0.0.1", port_);
            auto answer = client.Get("/ping");
            return (answer && answer->body == "Ok.\n") || !process::isRunning(pid_, listen_);
        });
        if (!answering || !process::isRunning(pid_, listen_)) {
            ADD_FAILURE() << "ingest server did not start:\n" << logText();
        }
    }
    ~IngestProcess() { stop(); }

    void stop() { process::stop(pid_, listen_, std::chrono::seconds(10)); }
    void kill9() {
        process::signalIfRunning(pid_, listen_, SIGKILL);
        EXPECT_TRUE(waitUntil([&] { return !process::isRunning(pid_, listen_); }))
            << "kill -9 did not end it";
    }
    uint16_t port() const { return port_; }
    std::string logText() const {
        std::ifstream in(log_);
        return std::string(std::istreambuf_iterator<char>(in), {});
    }

    /// POSTs `body` for `query` as user app; returns the answer (status -1 when there was none).
    httplib::Result post(const std::string& query, const std::string& body,
                         httplib::Headers headers = {{"X-ClickHouse-User", kUser},
                                                     {"X-ClickHouse-Key", kPassword}}) const {
        httplib::Client client("127.0.0.1", port_);
        client.set_read_timeout(std::chrono::seconds(120));
        return client.Post("/?query=" + clickhouse::urlEncode(query), headers, body, "text/plain");
    }

  private:
    uint16_t port_;
    std::string listen_;
    std::string log_;
    pid_t pid_ = 0;
};

inline std::string eventRow(const std::string& company, int n, const std::string& region = "x") {
    return fmt::format(
        R"({{"event_id":"00000000-0000-4000-8000-{:012}","company_id":"{}","user_id":"u{}","event_type":"click",)"
        R"("region":"{}","timestamp":"2026-11-{:02} 10:00:00","payload":"p{}"}})"
        "\n",
        n, company, n, region, 1 + n % 20, n);
}

}  // namespace chfleet::testing
