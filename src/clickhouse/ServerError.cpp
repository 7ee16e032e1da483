#include "clickhouse/ServerError.h"

#include <charconv>

#include "common/Text.h"

namespace chfleet::clickhouse {

namespace {

constexpr size_t kMaxExcerpt = 4096;

using text::trim;

bool consumePrefix(std::string_view& text, std::string_view prefix) {
    if (text.substr(0, prefix.size()) != prefix) {
        return false;
    }
    text.remove_prefix(prefix.size());
    return true;
}

std::optional<int> parseCode(std::string_view text) {
    text = trim(text);
    int code = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), code);
    if (error != std::errc() || end != text.data() + text.size() || text.empty()) {
        return std::nullopt;
    }
    return code;
}

/// Text that is not ClickHouse's, shortened for a message.
std::string excerpt(std::string_view text) {
    text = trim(text);
    if (text.size() <= kMaxExcerpt) {
        return std::string(text);
    }
    return std::string(text.substr(0, kMaxExcerpt)) + " ...";
}

}  // namespace

std::optional<ServerError> parseExceptionText(std::string_view text) {
    text = trim(text);
    if (!consumePrefix(text, "Code: ")) {
        return std::nullopt;
    }
    size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
        ++digits;
    }
    auto code = parseCode(text.substr(0, digits));
    if (!code) {
        return std::nullopt;
    }
    text.remove_prefix(digits);

    std::string_view message;
    if (consumePrefix(text, ", e.displayText() = ")) {
        // 18.16 shape: the message runs up to ", e.what() = <exception class>".
        message = text;
        size_t what = message.rfind(", e.what() = ");
        if (what != std::string_view::npos) {
            message = message.substr(0, what);
        }
    } else if (consumePrefix(text, ". ") || consumePrefix(text, ": ") || consumePrefix(text, ", ")) {
        // Current shape: the message may end with " (ERROR_NAME) (version X.Y.Z.W ...)".
        message = trim(text);
        size_t version = message.rfind(" (version ");
        if (version != std::string_view::npos && message.back() == ')') {
            message = message.substr(0, version);
        }
    } else {
        message = text;
    }
    message = trim(message);
    // "DB::Exception: ", "DB::NetException: ", "DB::ParsingException: ", ...
    if (message.starts_with("DB::")) {
        size_t colon = message.find(": ");
        std::string_view name = message.substr(0, colon);
        if (colon != std::string_view::npos && name.ends_with("Exception") &&
            name.find_first_of(" \n") == std::string_view::npos) {
            message.remove_prefix(colon + 2);
        }
    }
    return ServerError{*code, std::string(trim(message))};
}

std::optional<ServerException> errorFromHttpResponse(long status, std::string_view body,
                                                     std::string_view exception_code_header,
                                                     const std::string& endpoint) {
    auto header_code = parseCode(exception_code_header);
    if (auto parsed = parseExceptionText(body)) {
        // The header is authoritative where present; the body's code agrees with it in practice.
        return ServerException(header_code.value_or(parsed->code), std::move(parsed->message), endpoint);
    }
    if (header_code) {
        return ServerException(*header_code, fmt::format("HTTP {}: {}", status, excerpt(body)), endpoint);
    }
    return std::nullopt;
}

std::optional<ServerException> findStreamedException(std::string_view body, std::string_view exception_tag,
                                                     std::string_view exception_code_header,
                                                     bool transfer_cut, const std::string& endpoint) {
    auto header_code = parseCode(exception_code_header);
    auto fromText = [&](std::string_view text) {
        if (auto parsed = parseExceptionText(text)) {
            return ServerException(header_code.value_or(parsed->code), std::move(parsed->message), endpoint);
        }
        return ServerException(header_code.value_or(server_code::kUnknownException),
                               "error after the answer began: " + excerpt(text), endpoint);
    };

    if (!exception_tag.empty()) {
        // 25.11+: "__exception__<tag>\r\n<message>\n<message size> <tag>__exception__\r\n" at the end of the
        // body.
        std::string begin_marker = "__exception__" + std::string(exception_tag);
        size_t begin = body.rfind(begin_marker);
        if (begin != std::string_view::npos) {
            std::string_view rest = body.substr(begin + begin_marker.size());
            std::string end_marker = " " + std::string(exception_tag) + "__exception__";
            size_t end = rest.find(end_marker);
            std::string_view text = rest.substr(0, end);
            if (end != std::string_view::npos) {
                // Drop the size that precedes the closing marker.
                size_t size_start = text.find_last_not_of("0123456789");
                text = size_start == std::string_view::npos ? std::string_view{}
                                                            : text.substr(0, size_start + 1);
            }
            return fromText(text);
        }
    }
    if (transfer_cut) {
        // 24.11 .. 25.10: the server writes "__exception__" on a line of its own, the error, and closes.
        for (std::string_view marker : {"\n__exception__\r\n", "\n__exception__\n"}) {
            size_t at = body.rfind(marker);
            if (at != std::string_view::npos) {
                return fromText(body.substr(at + marker.size()));
            }
        }
        for (std::string_view marker : {"__exception__\r\n", "__exception__\n"}) {
            if (body.substr(0, marker.size()) == marker) {
                return fromText(body.substr(marker.size()));
            }
        }
    }
    if (header_code && *header_code != 0) {
        size_t last_line = trim(body).rfind('\n');
        std::string_view tail =
            last_line == std::string_view::npos ? trim(body) : trim(body).substr(last_line + 1);
        return fromText(tail);
    }
    return std::nullopt;
}

}  // namespace chfleet::clickhouse
