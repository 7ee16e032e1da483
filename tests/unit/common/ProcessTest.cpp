#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "common/Exception.h"
#include "common/Files.h"
#include "common/Process.h"

namespace chfleet {
namespace {

std::string tempDir() {
    char pattern[] = "/tmp/chfleet-unit-XXXXXX";
    return ::mkdtemp(pattern);
}

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

TEST(Process, DetachedProcessIsFoundByPidAndMarkerAndStopped) {
    auto dir = tempDir();
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
    std::filesystem::remove_all(dir);
}

TEST(Process, SpawnOfAMissingProgramNamesIt) {
    auto dir = tempDir();
    try {
        process::spawnDetached({"/nonexistent/program"}, dir + "/out.log", dir);
        FAIL() << "expected an exception";
    } catch (const Exception& e) {
        EXPECT_EQ(e.code(), ErrorCode::SandboxFailed);
        EXPECT_NE(std::string(e.what()).find("/nonexistent/program"), std::string::npos) << e.what();
    }
    std::filesystem::remove_all(dir);
}

TEST(Files, WriteAtomicallyReplacesContentAndSetsMode) {
    auto dir = tempDir();
    auto path = dir + "/state.json";
    files::writeAtomically(path, "one", 0600);
    files::writeAtomically(path, "two", 0600);
    EXPECT_EQ(files::read(path), "two");
    EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
    auto perms = std::filesystem::status(path).permissions();
    EXPECT_EQ(perms & std::filesystem::perms::all,
              std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    std::filesystem::remove_all(dir);
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
