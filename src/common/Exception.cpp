#include "common/Exception.h"

namespace chfleet {

std::string_view errorCodeName(ErrorCode code) {
    switch (code) {
        case ErrorCode::Ok:
            return "ok";
        case ErrorCode::Failed:
            return "failed";
        case ErrorCode::BadArguments:
            return "bad_arguments";
        case ErrorCode::Differences:
            return "differences";
        case ErrorCode::InvalidConfig:
            return "invalid_config";
        case ErrorCode::ConnectionFailed:
            return "connection_failed";
        case ErrorCode::Timeout:
            return "timeout";
        case ErrorCode::ServerError:
            return "server_error";
        case ErrorCode::BadResponse:
            return "bad_response";
        case ErrorCode::SandboxFailed:
            return "sandbox_failed";
        case ErrorCode::IoError:
            return "io_error";
        case ErrorCode::Critical:
            return "critical";
        case ErrorCode::Interrupted:
            return "interrupted";
    }
    return "unknown";
}

}  // namespace chfleet
