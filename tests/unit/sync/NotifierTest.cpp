#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "../support/LogCapture.h"
#include "common/Log.h"
#include "shared/FreePort.h"
#include "shared/WaitUntil.h"
#include "sync/Notifier.h"

namespace chfleet::sync {
namespace {

/// A real HTTP receiver on a free loopback port that records every POST and answers with `status`.
class Receiver {
  public:
    explicit Receiver(int status = 200, std::chrono::milliseconds delay = {}) {
        server_.Post(".*",
                     [this, status, delay](const httplib::Request& request, httplib::Response& response) {
                         {
                             std::lock_guard lock(mutex_);
                             bodies_.push_back(request.body);
                             content_types_.push_back(request.get_header_value("Content-Type"));
                             paths_.push_back(request.path);
                         }
                         std::this_thread::sleep_for(delay);
                         response.status = status;
                         response.set_content("ok", "text/plain");
                     });
        port_ = server_.bind_to_any_port("127.0.0.1");
        thread_ = std::thread([this] { server_.listen_after_bind(); });
        if (!chfleet::testing::waitUntil([this] { return server_.is_running(); })) {
            throw std::runtime_error("the webhook receiver never started");
        }
    }
    ~Receiver() {
        server_.stop();
        thread_.join();
    }
    std::string url(const std::string& path = "/services/T000/B000/s3cr3tT0ken") const {
        return "http://127.0.0.1:" + std::to_string(port_) + path;
    }
    std::vector<std::string> bodies() const {
        std::lock_guard lock(mutex_);
        return bodies_;
    }
    std::vector<std::string> contentTypes() const {
        std::lock_guard lock(mutex_);
        return content_types_;
    }
    std::vector<std::string> paths() const {
        std::lock_guard lock(mutex_);
        return paths_;
    }

  private:
    httplib::Server server_;
    std::thread thread_;
    int port_ = 0;
    mutable std::mutex mutex_;
    std::vector<std::string> bodies_;
    std::vector<std::string> content_types_;
    std::vector<std::string> paths_;
};

using chfleet::testing::LogCapture;

SyncSettings settingsFor(const std::string& webhook) {
    SyncSettings settings;
    settings.role = SiteRole::Dr;
    settings.notify_webhook = webhook;
    return settings;
}

TEST(Notifier, PostsSlackStyleJson) {
    Receiver receiver;
    Notifier notifier(settingsFor(receiver.url()));
    EXPECT_TRUE(notifier.gapDetected({"default.a", "default.b"}));
    EXPECT_TRUE(notifier.syncComplete(12, 1500000));
    EXPECT_TRUE(notifier.failbackReady());
    EXPECT_TRUE(notifier.newTables({"default.new_one"}, false));
    auto bodies = receiver.bodies();
    ASSERT_EQ(bodies.size(), 4u);
    for (const auto& type : receiver.contentTypes()) {
        EXPECT_EQ(type, "application/json");
    }
    EXPECT_EQ(receiver.paths()[0], "/services/T000/B000/s3cr3tT0ken");
    auto text = [&](size_t i) {
        auto json = nlohmann::json::parse(bodies[i]);
        EXPECT_EQ(json.size(), 1u) << bodies[i];
        return json.at("text").get<std::string>();
    };
    EXPECT_EQ(text(0), "⚠️ chfleet sync (dr): 2 tables have data gaps: default.a, default.b");
    EXPECT_EQ(text(1), "✅ chfleet sync (dr): Sync complete. 12 partitions synced (1500000 rows)");
    EXPECT_EQ(text(2), "🟢 chfleet sync (dr): FAILBACK READY. All tables synced");
    EXPECT_EQ(text(3), "🆕 chfleet sync (dr): New tables detected: default.new_one. Manual creation required");
}

TEST(Notifier, TextsCountAndListTables) {
    SyncSettings settings;
    Notifier notifier(settings);
    EXPECT_EQ(notifier.gapDetectedText({"db.t"}), "⚠️ chfleet sync: 1 table has data gaps: db.t");
    EXPECT_EQ(notifier.syncCompleteText(1, 1), "✅ chfleet sync: Sync complete. 1 partition synced (1 row)");
    std::vector<std::string> many;
    for (int i = 0; i < 12; ++i) {
        many.push_back("db.t" + std::to_string(i));
    }
    auto text = notifier.newTablesText(many, true);
    EXPECT_NE(text.find("db.t9 and 2 more"), std::string::npos) << text;
    EXPECT_EQ(text.find("db.t10"), std::string::npos) << text;
    EXPECT_NE(text.find("Created on the passive site"), std::string::npos) << text;
}

TEST(Notifier, DisabledTogglesSendNothing) {
    Receiver receiver;
    auto settings = settingsFor(receiver.url());
    settings.notify_on_gap = false;
    settings.notify_on_sync = false;
    settings.notify_on_failback_ready = false;
    settings.notify_on_new_table = false;
    Notifier notifier(settings);
    EXPECT_FALSE(notifier.enabled(NotificationKind::GapDetected));
    EXPECT_FALSE(notifier.gapDetected({"db.t"}));
    EXPECT_FALSE(notifier.syncComplete(1, 1));
    EXPECT_FALSE(notifier.failbackReady());
    EXPECT_FALSE(notifier.newTables({"db.t"}, false));
    EXPECT_TRUE(receiver.bodies().empty());

    settings.notify_on_sync = true;
    Notifier only_sync(settings);
    EXPECT_FALSE(only_sync.gapDetected({"db.t"}));
    EXPECT_TRUE(only_sync.syncComplete(1, 1));
    EXPECT_EQ(receiver.bodies().size(), 1u);
}

TEST(Notifier, NoWebhookIsANoOp) {
    Notifier notifier(SyncSettings{});
    EXPECT_FALSE(notifier.enabled(NotificationKind::FailbackReady));
    EXPECT_FALSE(notifier.failbackReady());
}

TEST(Notifier, HttpErrorIsAWarningWithoutTheToken) {
    Receiver receiver(500);
    LogCapture capture;
    Notifier notifier(settingsFor(receiver.url() + "?sig=qu3ryS3cret"));
    EXPECT_NO_THROW(EXPECT_FALSE(notifier.failbackReady()));
    EXPECT_EQ(receiver.bodies().size(), 1u);
    auto text = capture.text();
    EXPECT_NE(text.find("warning"), std::string::npos) << text;
    EXPECT_NE(text.find("HTTP 500"), std::string::npos) << text;
    EXPECT_NE(text.find("http://127.0.0.1:"), std::string::npos) << text;
    EXPECT_EQ(text.find("s3cr3tT0ken"), std::string::npos) << text;
    EXPECT_EQ(text.find("qu3ryS3cret"), std::string::npos) << text;
}

TEST(Notifier, ClosedPortIsAWarningNotAnException) {
    LogCapture capture;
    chfleet::testing::RefusingPort refusing;
    Notifier notifier(settingsFor("http://127.0.0.1:" + std::to_string(refusing.port()) + "/hook/t0k3n"));
    EXPECT_NO_THROW(EXPECT_FALSE(notifier.gapDetected({"db.t"})));
    EXPECT_NE(capture.text().find("warning"), std::string::npos) << capture.text();
    EXPECT_EQ(capture.text().find("t0k3n"), std::string::npos) << capture.text();
}

TEST(Notifier, SlowReceiverTimesOut) {
    Receiver receiver(200, std::chrono::milliseconds(1500));
    Notifier notifier(settingsFor(receiver.url()), std::chrono::milliseconds(500),
                      std::chrono::milliseconds(300));
    EXPECT_FALSE(notifier.failbackReady()) << "the receiver answers 200, but only after the timeout";
}

}  // namespace
}  // namespace chfleet::sync
