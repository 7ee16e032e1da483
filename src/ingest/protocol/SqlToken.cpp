#include "ingest/protocol/SqlToken.h"

#include <cctype>

#include "clickhouse/Quoting.h"
#include "common/Text.h"

namespace chfleet::ingest {
namespace {

bool isWordByte(char c) {
    auto byte = static_cast<unsigned char>(c);
    return std::isalnum(byte) != 0 || c == '_' || byte >= 0x80;
}

}  // namespace

std::optional<std::vector<SqlToken>> tokenizeSql(std::string_view text) {
    std::vector<SqlToken> tokens;
    size_t pos = 0;
    while (pos < text.size()) {
        char c = text[pos];
        if (std::isspace(static_cast<unsigned char>(c)) != 0) {
            ++pos;
        } else if (text.substr(pos, 2) == "--") {
            size_t end = text.find('\n', pos);
            pos = end == std::string_view::npos ? text.size() : end + 1;
        } else if (text.substr(pos, 2) == "/*") {
            size_t end = text.find("*/", pos + 2);
            if (end == std::string_view::npos) {
                return std::nullopt;
            }
            pos = end + 2;
        } else if (c == '\'' || c == '`' || c == '"') {
            // Backslash escapes as ClickHouse's lexer reads them; the quote doubled stands for itself.
            SqlToken token{c == '\'' ? SqlToken::Kind::String : SqlToken::Kind::Quoted, pos, 0, {}};
            size_t i = pos + 1;
            bool closed = false;
            while (i < text.size()) {
                if (text[i] == '\\' && i + 1 < text.size()) {
                    if (text[i + 1] == 'x' && i + 3 < text.size() &&
                        std::isxdigit(static_cast<unsigned char>(text[i + 2])) != 0 &&
                        std::isxdigit(static_cast<unsigned char>(text[i + 3])) != 0) {
                        token.value += static_cast<char>(text::hexDigitValue(text[i + 2]) * 16 +
                                                         text::hexDigitValue(text[i + 3]));
                        i += 4;
                    } else {
                        token.value += clickhouse::escapedByte(text[i + 1]);
                        i += 2;
                    }
                } else if (text[i] == c && i + 1 < text.size() && text[i + 1] == c) {
                    token.value += c;
                    i += 2;
                } else if (text[i] == c) {
                    closed = true;
                    ++i;
                    break;
                } else {
                    token.value += text[i++];
                }
            }
            if (!closed) {
                return std::nullopt;
            }
            token.end = i;
            tokens.push_back(std::move(token));
            pos = i;
        } else if (std::isdigit(static_cast<unsigned char>(c)) != 0) {
            size_t end = pos;
            while (end < text.size() && isWordByte(text[end])) {
                ++end;
            }
            tokens.push_back({SqlToken::Kind::Number, pos, end, std::string(text.substr(pos, end - pos))});
            pos = end;
        } else if (isWordByte(c)) {
            size_t end = pos;
            while (end < text.size() && isWordByte(text[end])) {
                ++end;
            }
            tokens.push_back({SqlToken::Kind::Word, pos, end, std::string(text.substr(pos, end - pos))});
            pos = end;
        } else {
            size_t length = text.substr(pos, 2) == "==" ? 2 : 1;
            tokens.push_back(
                {SqlToken::Kind::Symbol, pos, pos + length, std::string(text.substr(pos, length))});
            pos += length;
        }
    }
    return tokens;
}

bool isKeyword(const SqlToken& token, std::string_view word) {
    return token.kind == SqlToken::Kind::Word && text::equalsIgnoreCase(token.value, word);
}

bool isSymbol(const SqlToken& token, std::string_view symbol) {
    return token.kind == SqlToken::Kind::Symbol && token.value == symbol;
}

bool isName(const SqlToken& token) {
    return token.kind == SqlToken::Kind::Word || token.kind == SqlToken::Kind::Quoted;
}

bool isAnyKeyword(const SqlToken& token, std::initializer_list<std::string_view> words) {
    for (auto word : words) {
        if (isKeyword(token, word)) {
            return true;
        }
    }
    return false;
}

}  // namespace chfleet::ingest
