#include "ingest/protocol/InsertStatement.h"

#include <cctype>

#include "clickhouse/Quoting.h"
#include "common/Exception.h"
#include "common/Text.h"

namespace chfleet::ingest {
namespace {

bool isWordStart(char c) {
    return std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_';
}

bool isWordChar(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
}

/// A cursor over the statement text that skips whitespace and comments between tokens.
class Cursor {
  public:
    explicit Cursor(std::string_view text) : text_(text) {}

    size_t position() const { return pos_; }
    bool atEnd() {
        skipSpace();
        return pos_ >= text_.size();
    }

    /// Consumes `keyword` (case-insensitive, a whole word) when it comes next.
    bool keyword(std::string_view word) {
        skipSpace();
        size_t end = pos_;
        while (end < text_.size() && isWordChar(text_[end])) {
            ++end;
        }
        if (text::equalsIgnoreCase(text_.substr(pos_, end - pos_), word)) {
            pos_ = end;
            return true;
        }
        return false;
    }

    bool symbol(char c) {
        skipSpace();
        if (pos_ < text_.size() && text_[pos_] == c) {
            ++pos_;
            return true;
        }
        return false;
    }

    void expectKeyword(std::string_view word) {
        if (!keyword(word)) {
            fail(word);
        }
    }

    /// A bare word, a `back-quoted` or a "double-quoted" identifier, unescaped.
    std::string identifier(std::string_view what) {
        skipSpace();
        if (pos_ >= text_.size()) {
            fail(what);
        }
        char first = text_[pos_];
        if (first == '`' || first == '"') {
            return quoted(first, what);
        }
        if (!isWordStart(first)) {
            fail(what);
        }
        size_t start = pos_;
        while (pos_ < text_.size() && isWordChar(text_[pos_])) {
            ++pos_;
        }
        return std::string(text_.substr(start, pos_ - start));
    }

    /// A setting's value: a number, a word or a 'string literal' (unescaped).
    std::string settingValue() {
        skipSpace();
        if (pos_ < text_.size() && text_[pos_] == '\'') {
            return quoted('\'', "a value");
        }
        size_t start = pos_;
        while (pos_ < text_.size() && (isWordChar(text_[pos_]) || text_[pos_] == '.' || text_[pos_] == '-')) {
            ++pos_;
        }
        if (start == pos_) {
            fail("a value");
        }
        return std::string(text_.substr(start, pos_ - start));
    }

    [[noreturn]] void fail(std::string_view expected) const {
        std::string_view rest = text_.substr(pos_, 40);
        throw Exception(
            ErrorCode::BadArguments,
            "Syntax error: failed at position {} ('{}'): expected {}. chfleet ingest takes INSERT "
            "INTO [db.]table [(columns)] FORMAT <format> followed by the rows",
            pos_ + 1, rest, expected);
    }

  private:
    void skipSpace() {
        while (pos_ < text_.size()) {
            char c = text_[pos_];
            if (std::isspace(static_cast<unsigned char>(c)) != 0) {
                ++pos_;
            } else if (text_.substr(pos_, 2) == "--") {
                while (pos_ < text_.size() && text_[pos_] != '\n') {
                    ++pos_;
                }
            } else if (text_.substr(pos_, 2) == "/*") {
                size_t end = text_.find("*/", pos_ + 2);
                pos_ = end == std::string_view::npos ? text_.size() : end + 2;
            } else {
                return;
            }
        }
    }

    std::string quoted(char quote, std::string_view what) {
        size_t start = ++pos_;
        while (pos_ < text_.size() && text_[pos_] != quote) {
            pos_ += text_[pos_] == '\\' ? 2 : 1;
        }
        if (pos_ >= text_.size()) {
            fail(what);
        }
        std::string_view body = text_.substr(start, pos_ - start);
        ++pos_;
        try {
            return clickhouse::unescapeTsvField(body);
        } catch (const Exception&) {
            fail(what);
        }
    }

    std::string_view text_;
    size_t pos_ = 0;
};

}  // namespace

bool isInsert(std::string_view text) {
    Cursor cursor(text);
    return cursor.keyword("INSERT");
}

InsertStatement parseInsert(std::string_view text) {
    Cursor cursor(text);
    InsertStatement statement;
    cursor.expectKeyword("INSERT");
    cursor.expectKeyword("INTO");
    if (cursor.keyword("FUNCTION")) {
        cursor.fail("a table (INSERT INTO FUNCTION is not a write ingest can route)");
    }
    cursor.keyword("TABLE");
    statement.table = cursor.identifier("a table name");
    if (cursor.symbol('.')) {
        statement.database = std::move(statement.table);
        statement.table = cursor.identifier("a table name");
    }
    if (cursor.symbol('(')) {
        do {
            statement.columns.push_back(cursor.identifier("a column name"));
        } while (cursor.symbol(','));
        if (!cursor.symbol(')')) {
            cursor.fail("')' or ','");
        }
    }
    if (cursor.keyword("SETTINGS")) {
        do {
            std::string name = cursor.identifier("a setting name");
            if (!cursor.symbol('=')) {
                cursor.fail("'='");
            }
            statement.settings.emplace_back(std::move(name), cursor.settingValue());
        } while (cursor.symbol(','));
    }
    if (cursor.keyword("VALUES") || cursor.keyword("SELECT") || cursor.keyword("WITH")) {
        cursor.fail(
            "FORMAT (ingest routes rows sent in a format; VALUES and INSERT ... SELECT are not taken)");
    }
    cursor.expectKeyword("FORMAT");
    statement.format = cursor.identifier("a format name");
    // Inline rows start after the format name: spaces and tabs, then at most one line break, are skipped,
    // as ClickHouse's parser does.
    size_t data = cursor.position();
    while (data < text.size() && (text[data] == ' ' || text[data] == '\t' || text[data] == '\f')) {
        ++data;
    }
    if (data < text.size() && text[data] == '\r') {
        ++data;
    }
    if (data < text.size() && text[data] == '\n') {
        ++data;
    }
    if (data < text.size() && text[data] == ';') {
        cursor.fail("rows after the format name, not ';'");
    }
    statement.data_offset = data;
    return statement;
}

}  // namespace chfleet::ingest
