#include "common/Process.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/Exception.h"

extern char** environ;

namespace chfleet::process {

namespace {

/// The NULL-terminated char* array execve wants, pointing into `strings` (which must outlive it).
std::vector<char*> toPointers(const std::vector<std::string>& strings) {
    std::vector<char*> out;
    out.reserve(strings.size() + 1);
    for (const auto& text : strings) {
        out.push_back(const_cast<char*>(text.c_str()));
    }
    out.push_back(nullptr);
    return out;
}

/// The current environment with `extra` added or replaced, as strings kept alive by the caller.
std::vector<std::string> mergedEnvironment(const std::map<std::string, std::string>& extra) {
    std::vector<std::string> merged;
    for (char** entry = environ; *entry != nullptr; ++entry) {
        std::string_view text(*entry);
        auto eq = text.find('=');
        if (eq != std::string_view::npos && extra.count(std::string(text.substr(0, eq))) > 0) {
            continue;
        }
        merged.emplace_back(text);
    }
    for (const auto& [key, value] : extra) {
        merged.push_back(key + "=" + value);
    }
    return merged;
}

void writeAll(int fd, const void* data, size_t size) {
    const char* p = static_cast<const char*>(data);
    while (size > 0) {
        ssize_t n = ::write(fd, p, size);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return;
        }
        p += n;
        size -= static_cast<size_t>(n);
    }
}

/// Process state letter from /proc/<pid>/stat ('R', 'S', 'Z', ...), or 0 when gone.
char processState(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string content;
    if (!std::getline(stat, content)) {
        return 0;
    }
    // The command name is in parentheses and may itself contain spaces or parentheses.
    auto close = content.rfind(')');
    if (close == std::string::npos || close + 2 >= content.size()) {
        return 0;
    }
    return content[close + 2];
}

}  // namespace

pid_t spawnDetached(const std::vector<std::string>& argv, const std::string& log_path, const std::string& cwd,
                    const std::map<std::string, std::string>& env) {
    // Everything the children need is prepared before fork: only async-signal-safe calls after it.
    auto env_strings = mergedEnvironment(env);
    auto envp = toPointers(env_strings);
    auto args = toPointers(argv);

    int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (log_fd < 0) {
        throw Exception(ErrorCode::IoError, "cannot open log file {}: {}", log_path, std::strerror(errno));
    }
    // report[0]/[1]: the grandchild's pid, then (only if exec fails) its errno. CLOEXEC closes the pipe on
    // a successful exec, so the parent reads end-of-file after the pid.
    int report[2];
    if (::pipe2(report, O_CLOEXEC) != 0) {
        ::close(log_fd);
        throw Exception(ErrorCode::SandboxFailed, "pipe: {}", std::strerror(errno));
    }
    pid_t child = ::fork();
    if (child < 0) {
        ::close(log_fd);
        ::close(report[0]);
        ::close(report[1]);
        throw Exception(ErrorCode::SandboxFailed, "fork: {}", std::strerror(errno));
    }
    if (child == 0) {
        ::close(report[0]);
        ::setsid();
        pid_t grandchild = ::fork();
        if (grandchild != 0) {
            _exit(grandchild < 0 ? 1 : 0);
        }
        pid_t self = ::getpid();
        writeAll(report[1], &self, sizeof(self));
        int null_fd = ::open("/dev/null", O_RDONLY);
        ::dup2(null_fd, STDIN_FILENO);
        ::dup2(log_fd, STDOUT_FILENO);
        ::dup2(log_fd, STDERR_FILENO);
        if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) {
            int error = errno;
            writeAll(report[1], &error, sizeof(error));
            _exit(127);
        }
        ::execve(args[0], args.data(), envp.data());
        int error = errno;
        writeAll(report[1], &error, sizeof(error));
        _exit(127);
    }
    ::close(report[1]);
    ::close(log_fd);
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    pid_t daemon_pid = 0;
    int exec_error = 0;
    ssize_t got = ::read(report[0], &daemon_pid, sizeof(daemon_pid));
    ssize_t got_error = got == sizeof(daemon_pid) ? ::read(report[0], &exec_error, sizeof(exec_error)) : 0;
    ::close(report[0]);
    if (got != sizeof(daemon_pid)) {
        throw Exception(ErrorCode::SandboxFailed, "could not start {}: fork failed", argv.at(0));
    }
    if (got_error == sizeof(exec_error)) {
        throw Exception(ErrorCode::SandboxFailed, "could not start {}: {}", argv.at(0),
                        std::strerror(exec_error));
    }
    return daemon_pid;
}

bool isRunning(pid_t pid, const std::string& marker) {
    if (pid <= 0) {
        return false;
    }
    char state = processState(pid);
    if (state == 0 || state == 'Z' || state == 'X') {
        return false;
    }
    std::ifstream cmdline("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
    std::stringstream buffer;
    buffer << cmdline.rdbuf();
    return buffer.str().find(marker) != std::string::npos;
}

uint64_t residentBytes(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmRSS:", 0) == 0) {
            return std::stoull(line.substr(6)) * 1024;
        }
    }
    return 0;
}

bool signalIfRunning(pid_t pid, const std::string& marker, int signal) {
    if (!isRunning(pid, marker)) {
        return false;
    }
    return ::kill(pid, signal) == 0;
}

void stop(pid_t pid, const std::string& marker, std::chrono::milliseconds grace) {
    using Clock = std::chrono::steady_clock;
    if (!signalIfRunning(pid, marker, SIGTERM)) {
        return;
    }
    auto deadline = Clock::now() + grace;
    while (isRunning(pid, marker) && Clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (signalIfRunning(pid, marker, SIGKILL)) {
        auto hard_deadline = Clock::now() + std::chrono::seconds(5);
        while (isRunning(pid, marker) && Clock::now() < hard_deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }
}

Finished run(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
             const std::string& input, std::chrono::milliseconds timeout) {
    // A child that exits before reading all of its input must not kill us with SIGPIPE.
    static const bool sigpipe_ignored = (::signal(SIGPIPE, SIG_IGN), true);
    (void)sigpipe_ignored;
    auto env_strings = mergedEnvironment(env);
    auto envp = toPointers(env_strings);
    auto args = toPointers(argv);

    int out_pipe[2];
    int in_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(in_pipe, O_CLOEXEC) != 0) {
        throw Exception(ErrorCode::Failed, "pipe: {}", std::strerror(errno));
    }
    pid_t child = ::fork();
    if (child < 0) {
        throw Exception(ErrorCode::Failed, "fork: {}", std::strerror(errno));
    }
    if (child == 0) {
        ::setpgid(0, 0);  // its own process group: a timeout kills whatever it started along with it
        ::dup2(in_pipe[0], STDIN_FILENO);
        ::dup2(out_pipe[1], STDOUT_FILENO);
        ::dup2(out_pipe[1], STDERR_FILENO);
        ::execve(args[0], args.data(), envp.data());
        const char message[] = "exec failed\n";
        writeAll(STDERR_FILENO, message, sizeof(message) - 1);
        _exit(127);
    }
    ::setpgid(child, child);  // also here, so that the group exists before any kill below
    ::close(out_pipe[1]);
    ::close(in_pipe[0]);
    // Feed stdin from a thread so a child that writes a lot before reading cannot deadlock us.
    std::thread feeder([fd = in_pipe[1], &input] {
        writeAll(fd, input.data(), input.size());
        ::close(fd);
    });
    Finished result;
    bool timed_out = false;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    char buffer[65536];
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                          std::chrono::steady_clock::now());
        pollfd readable{out_pipe[0], POLLIN, 0};
        int ready = left.count() > 0
                        ? ::poll(&readable, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000 * 1000)))
                        : 0;
        if (ready < 0 && errno == EINTR) {
            continue;
        }
        if (ready == 0 && std::chrono::steady_clock::now() >= deadline) {
            timed_out = true;
            ::kill(-child, SIGKILL);
            break;
        }
        if (ready < 0) {
            break;
        }
        if (ready == 0) {
            continue;
        }
        ssize_t n = ::read(out_pipe[0], buffer, sizeof(buffer));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        result.output.append(buffer, static_cast<size_t>(n));
    }
    ::close(out_pipe[0]);
    // A child may close its output and still run: the deadline holds for its exit too.
    int status = 0;
    while (!timed_out) {
        pid_t reaped = ::waitpid(child, &status, WNOHANG);
        if (reaped == child || (reaped < 0 && errno != EINTR)) {
            break;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            timed_out = true;
            ::kill(-child, SIGKILL);
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (timed_out) {
        while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
        }
    }
    feeder.join();  // the child is gone: a write it never read fails with EPIPE and ends the feeder
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (timed_out) {
        result.output +=
            fmt::format("\n[{} was killed: still running after {} ms]\n", argv.at(0), timeout.count());
    }
    return result;
}

}  // namespace chfleet::process
