#include "shared/EmbeddedConnection.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "clickhouse/Quoting.h"
#include "clickhouse/ServerError.h"
#include "common/Exception.h"
#include "common/Log.h"

namespace chfleet::clickhouse {

namespace {

/// chDB's C API as exported by libchdb.so (chdb.h of chdb-io/chdb; no header ships with the library).
/// Handles are opaque: chdb_connection is a pointer to a struct, chdb_connect returns a pointer to one.
struct chdb_result;
struct chdb_connection_;
using chdb_connection = chdb_connection_*;

using ConnectFn = chdb_connection* (*)(int argc, char** argv);
using CloseConnFn = void (*)(chdb_connection* conn);
using QueryNFn = chdb_result* (*)(chdb_connection conn, const char* query, size_t query_len,
                                  const char* format, size_t format_len);
using ResultBufferFn = char* (*)(chdb_result* result);
using ResultLengthFn = size_t (*)(chdb_result* result);
using ResultErrorFn = const char* (*)(chdb_result* result);
using DestroyResultFn = void (*)(chdb_result* result);
using SetSignalHandlersFn = void (*)(int enabled);

/// Parameters of ClickHouse's HTTP interface that are not settings: meaningless in process, skipped.
const std::set<std::string, std::less<>> http_only_parameters = {
    "wait_end_of_query", "buffer_size",   "query_id",   "session_id",
    "session_timeout",   "session_check", "stacktrace",
};

/// The process's one engine: the loaded library and its connection. Never unloaded (ClickHouse's static state
/// does not survive dlclose); the connection is closed when the process ends.
class Engine {
  public:
    static Engine& instance() {
        static Engine engine;
        return engine;
    }

    ~Engine() {
        if (connection_ != nullptr) {
            close_conn_(connection_);
        }
    }

    std::string run(std::string_view sql, std::string_view data, const Settings& settings) {
        std::lock_guard lock(mutex_);
        std::vector<std::string> applied;
        try {
            for (const auto& [name, value] : settings) {
                if (http_only_parameters.count(name) > 0) {
                    continue;
                }
                checkSettingName(name);
                query("SET " + name + " = " + quoteString(value));
                applied.push_back(name);
            }
            std::string text(sql);
            if (!data.empty()) {
                text += '\n';
                text += data;
            }
            std::string answer = query(text);
            resetSettings(applied);
            return answer;
        } catch (const Exception&) {
            resetSettings(applied);
            throw;
        }
    }

  private:
    Engine() {
        std::string path = EmbeddedConnection::libraryPath();
        std::string reason = EmbeddedConnection::unavailableReason();
        if (!reason.empty()) {
            throw Exception(ErrorCode::IoError, "the embedded ClickHouse engine is unavailable: {}", reason);
        }
        // RTLD_LOCAL keeps the engine's own copies of common symbols away from this program's.
        handle_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (handle_ == nullptr) {
            throw Exception(ErrorCode::IoError, "cannot load the embedded ClickHouse engine {}: {}", path,
                            dlerror());
        }
        auto connect = symbol<ConnectFn>("chdb_connect");
        close_conn_ = symbol<CloseConnFn>("chdb_close_conn");
        query_n_ = symbol<QueryNFn>("chdb_query_n");
        result_buffer_ = symbol<ResultBufferFn>("chdb_result_buffer");
        result_length_ = symbol<ResultLengthFn>("chdb_result_length");
        result_error_ = symbol<ResultErrorFn>("chdb_result_error");
        destroy_result_ = symbol<DestroyResultFn>("chdb_destroy_query_result");
        // The engine's crash handlers would take over SIGINT/SIGTERM from chfleet's own handling.
        if (auto set_signal_handlers =
                reinterpret_cast<SetSignalHandlersFn>(dlsym(handle_, "chdb_set_signal_handlers_enabled"))) {
            set_signal_handlers(0);
        }
        std::string program = "chfleet";
        char* argv[] = {program.data(), nullptr};
        chdb_connection* connection = connect(1, argv);
        if (connection == nullptr || *connection == nullptr) {
            throw Exception(ErrorCode::IoError,
                            "the embedded ClickHouse engine {} did not start (chdb_connect failed)", path);
        }
        connection_ = connection;
        log::get("clickhouse")->debug("embedded ClickHouse engine loaded from {}", path);
    }

    template <typename Fn>
    Fn symbol(const char* name) {
        void* address = dlsym(handle_, name);
        if (address == nullptr) {
            throw Exception(ErrorCode::IoError,
                            "the embedded ClickHouse engine {} lacks {} (not a chDB 2.x+ library?)",
                            EmbeddedConnection::libraryPath(), name);
        }
        return reinterpret_cast<Fn>(address);
    }

    static void checkSettingName(std::string_view name) {
        bool valid = !name.empty();
        for (char c : name) {
            valid = valid &&
                    ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_');
        }
        if (!valid) {
            throw Exception(ErrorCode::BadArguments, "'{}' is not a ClickHouse setting name", name);
        }
    }

    void resetSettings(const std::vector<std::string>& names) {
        for (const auto& name : names) {
            query("SET " + name + " = DEFAULT");
        }
    }

    /// Runs one statement; the caller holds mutex_.
    std::string query(std::string_view text) {
        static constexpr std::string_view kFormat = "TabSeparated";
        chdb_result* result =
            query_n_(*connection_, text.data(), text.size(), kFormat.data(), kFormat.size());
        if (result == nullptr) {
            throw Exception(ErrorCode::ServerError, "the embedded ClickHouse engine returned no result");
        }
        const char* error = result_error_(result);
        if (error != nullptr && *error != '\0') {
            std::string message(error);
            destroy_result_(result);
            if (auto parsed = parseExceptionText(message)) {
                throw ServerException(parsed->code, std::move(parsed->message), "embedded");
            }
            throw ServerException(server_code::kUnknownException, std::move(message), "embedded");
        }
        const char* buffer = result_buffer_(result);
        std::string answer = buffer == nullptr ? std::string() : std::string(buffer, result_length_(result));
        destroy_result_(result);
        return answer;
    }

    std::mutex mutex_;
    void* handle_ = nullptr;
    chdb_connection* connection_ = nullptr;
    CloseConnFn close_conn_ = nullptr;
    QueryNFn query_n_ = nullptr;
    ResultBufferFn result_buffer_ = nullptr;
    ResultLengthFn result_length_ = nullptr;
    ResultErrorFn result_error_ = nullptr;
    DestroyResultFn destroy_result_ = nullptr;
};

}  // namespace

EmbeddedConnection::EmbeddedConnection() {
    Engine::instance();
}

std::string EmbeddedConnection::execute(std::string_view sql, std::string_view data,
                                        const Settings& settings) {
    return Engine::instance().run(sql, data, settings);
}

std::string EmbeddedConnection::libraryPath() {
    const char* configured = std::getenv("CHFLEET_CHDB_LIB");
    if (configured != nullptr && *configured != '\0') {
        return configured;
    }
    return std::string(CHFLEET_SOURCE_DIR) + "/third_party/chdb/libchdb.so";
}

bool EmbeddedConnection::available() {
    return unavailableReason().empty();
}

std::string EmbeddedConnection::unavailableReason() {
    std::string path = libraryPath();
    if (access(path.c_str(), R_OK) != 0) {
        return path +
               " is missing or unreadable (set CHFLEET_CHDB_LIB, or unpack the npm package "
               "@chdb/lib-linux-x64-gnu into third_party/chdb/)";
    }
    return {};
}

}  // namespace chfleet::clickhouse
