#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "../support/TempDir.h"
#include "common/Exception.h"
#include "common/Files.h"
#include "common/Process.h"
#include "shared/WaitUntil.h"

namespace chfleet {
namespace {

TEST(Process, RunCapturesOutputAndExitCode) {
    auto result = process::run({"/bin/sh", "-c", "read x; echo got $x; echo err >&2; exit 3"}, {}, "hello\n");
    EXPECT_EQ(result.exit_code, 3);
    EXPECT_NE(result.output.find("got hello"), std::string::npos);
    EXPECT_NE(result.output.find("err"), std::string::npos);
}

TEST(Process, RunPassesExtraEnvironment) {
    auto result = process::run({"/bin/sh", "-c", "echo $CHFLEET_TEST_VALUE"}, {{"CHFLEET_TEST_VALUE", "v1"}});
    EXPECT_EQ(result.output, "v1\n");
}

TEST(Process, RunKillsAChildThatOutlivesItsTimeoutWithWhatItStarted) {
    testing::TempDir temp;
    auto dir = temp.string();
    auto started = std::chrono::steady_clock::now();
    // The shell starts a second sleeper in the background: the timeout must end it as well.
    auto result = process::run(
        {"/bin/sh", "-c", "sleep 60 & echo $! > " + dir + "/background.pid; echo begun; sleep 60"}, {}, {},
        std::chrono::milliseconds(500));
    auto took = std::chrono::steady_clock::now() - started;
    EXPECT_EQ(result.exit_code, 128 + SIGKILL);
    EXPECT_NE(result.output.find("begun"), std::string::npos) << result.output;
    EXPECT_NE(result.output.find("still running after 500 ms"), std::string::npos) << result.output;
    EXPECT_LT(took, std::chrono::seconds(50)) << "run() waited for the child instead of killing it";
    pid_t background = std::stoi(files::read(dir + "/background.pid"));
    // Killed with the group; gone once the init process has reaped it.
    EXPECT_TRUE(testing::waitUntil([&] { return !process::isRunning(background, "sleep"); }))
        << "the child's own child outlived the timeout";
}

TEST(Process, DetachedProcessIsFoundByPidAndMarkerAndStopped) {
    testing::TempDir temp;
    auto dir = temp.string();
    auto marker = dir + "/marker-arg";
    // The shell stays alive (two commands, so it does not exec sleep) and carries the marker as its $0.
    pid_t pid = process::spawnDetached({"/bin/sh", "-c", "sleep 30; true", marker}, dir + "/out.log", dir);
    ASSERT_GT(pid, 0);
    EXPECT_TRUE(process::isRunning(pid, marker));
    EXPECT_FALSE(process::isRunning(pid, dir + "/another-marker")) << "a pid must match its marker";
    EXPECT_GT(process::residentBytes(pid), 0u);
    process::stop(pid, marker, std::chrono::seconds(5));
    EXPECT_FALSE(process::isRunning(pid, marker));
    EXPECT_FALSE(process::signalIfRunning(pid, marker, SIGKILL)) << "stop is safe to repeat";
}

TEST(Process, SpawnOfAMissingProgramNamesIt) {
    testing::TempDir temp;
    auto dir = temp.string();
    try {
        process::spawnDetached({"/nonexistent/program"}, dir + "/out.log", dir);
        FAIL() << "expected an exception";
    } catch (const Exception& e) {
        EXPECT_EQ(e.code(), ErrorCode::SandboxFailed);
        EXPECT_NE(std::string(e.what()).find("/nonexistent/program"), std::string::npos) << e.what();
    }
}

TEST(Files, WriteAtomicallyReplacesContentAndSetsMode) {
    testing::TempDir temp;
    auto dir = temp.string();
    auto path = dir + "/state.json";
    files::writeAtomically(path, "one", 0600);
    files::writeAtomically(path, "two", 0600);
    EXPECT_EQ(files::read(path), "two");
    EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
    auto perms = std::filesystem::status(path).permissions();
    EXPECT_EQ(perms & std::filesystem::perms::all,
              std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

TEST(Files, ReadOfAMissingFileNamesIt) {
    try {
        files::read("/nonexistent/chfleet/file");
        FAIL() << "expected an exception";
    } catch (const Exception& e) {
        EXPECT_EQ(e.code(), ErrorCode::IoError);
        EXPECT_NE(std::string(e.what()).find("/nonexistent/chfleet/file"), std::string::npos);
    }
}

}  // namespace
}  // namespace chfleet
