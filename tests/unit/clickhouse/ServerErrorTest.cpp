#include <gtest/gtest.h>

#include <string>

#include "clickhouse/ServerError.h"

namespace chfleet::clickhouse {
namespace {

// Bodies recorded from clickhouse-server 18.16.1 over HTTP (wait_end_of_query=1).
constexpr std::string_view unknown_table_18_16 =
    "Code: 60, e.displayText() = DB::Exception: Table default.nonexist doesn't exist., e.what() = "
    "DB::Exception\n";
constexpr std::string_view wrong_password_18_16 =
    "Code: 193, e.displayText() = DB::Exception: Wrong password for user default, e.what() = DB::Exception\n";
constexpr std::string_view syntax_error_18_16 =
    "Code: 62, e.displayText() = DB::Exception: Syntax error: failed at position 1: SELEC 1. Expected one "
    "of: "
    "SYSTEM query, SELECT subquery, DESC, KILL QUERY, Query, e.what() = DB::Exception\n";

// Current servers (23.8 as the seed deployment pins it; 26.5 as the embedded engine reports it).
constexpr std::string_view unknown_table_23_8 =
    "Code: 60. DB::Exception: Table default.x doesn't exist. (UNKNOWN_TABLE) (version 23.8.1.1)\n";
constexpr std::string_view auth_failed_23_8 =
    "Code: 516. DB::Exception: default: Authentication failed: password is incorrect, or there is no user "
    "with "
    "such name.. (AUTHENTICATION_FAILED) (version 23.8.16.16 (official build))\n";
constexpr std::string_view throw_if_26_5 =
    "Code: 395. DB::Exception: Value passed to 'throwIf' function is non-zero: while executing 'FUNCTION "
    "throwIf(1_UInt8 :: 1) -> throwIf(1_UInt8) UInt8 : 2'. (FUNCTION_THROW_IF_VALUE_IS_NON_ZERO)";

TEST(ServerErrorTest, Parses18_16Shape) {
    auto error = parseExceptionText(unknown_table_18_16);
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code, 60);
    EXPECT_EQ(error->message, "Table default.nonexist doesn't exist.");

    auto syntax = parseExceptionText(syntax_error_18_16);
    ASSERT_TRUE(syntax);
    EXPECT_EQ(syntax->code, 62);
    EXPECT_EQ(syntax->message.substr(0, 37), "Syntax error: failed at position 1: S");
    EXPECT_EQ(syntax->message.find("e.what()"), std::string::npos);
}

TEST(ServerErrorTest, Parses18_16NestedNetException) {
    // 18.16 answer to a remote() whose shard is down: a NetException carrying the log of each try.
    constexpr std::string_view body =
        "Code: 279, e.displayText() = DB::NetException: All connection tries failed. Log: \n\n"
        "Code: 210, e.displayText() = DB::NetException: Connection refused (127.0.0.1:1), e.what() = "
        "DB::NetException\n"
        "Code: 210, e.displayText() = DB::NetException: Connection refused (127.0.0.1:1), e.what() = "
        "DB::NetException\n\n, e.what() = DB::NetException\n";
    auto error = parseExceptionText(body);
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code, 279);
    EXPECT_EQ(error->message.substr(0, 45), "All connection tries failed. Log: \n\nCode: 210");
    EXPECT_EQ(error->message.substr(error->message.size() - 16), "DB::NetException");
}

TEST(ServerErrorTest, ParsesCurrentShape) {
    auto error = parseExceptionText(unknown_table_23_8);
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code, 60);
    EXPECT_EQ(error->message, "Table default.x doesn't exist. (UNKNOWN_TABLE)");

    auto auth = parseExceptionText(auth_failed_23_8);
    ASSERT_TRUE(auth);
    EXPECT_EQ(auth->code, 516);
    EXPECT_EQ(auth->message.find("version"), std::string::npos);

    auto embedded = parseExceptionText(throw_if_26_5);
    ASSERT_TRUE(embedded);
    EXPECT_EQ(embedded->code, 395);
    EXPECT_EQ(embedded->message.substr(0, 38), "Value passed to 'throwIf' function is ");
}

TEST(ServerErrorTest, KeepsMultiLineMessages) {
    auto error = parseExceptionText(
        "Code: 62. DB::Exception: Syntax error:\nline two. (SYNTAX_ERROR) (version 24.3.1.1)");
    ASSERT_TRUE(error);
    EXPECT_EQ(error->message, "Syntax error:\nline two. (SYNTAX_ERROR)");
}

TEST(ServerErrorTest, RejectsTextWithoutCode) {
    EXPECT_FALSE(parseExceptionText(""));
    EXPECT_FALSE(parseExceptionText("<html>502 Bad Gateway</html>"));
    EXPECT_FALSE(parseExceptionText("Code: abc"));
    EXPECT_FALSE(parseExceptionText("Ok.\n"));
}

TEST(ServerErrorTest, HttpErrorFromBody) {
    auto error = errorFromHttpResponse(404, unknown_table_18_16, "", "127.0.0.1:8123");
    ASSERT_TRUE(error);
    EXPECT_EQ(error->serverCode(), 60);
    EXPECT_EQ(error->endpoint(), "127.0.0.1:8123");
    EXPECT_EQ(error->code(), ErrorCode::ServerError);
    EXPECT_EQ(std::string(error->what()), "127.0.0.1:8123: Code: 60. Table default.nonexist doesn't exist.");
}

TEST(ServerErrorTest, HttpAuthenticationFailures) {
    auto old = errorFromHttpResponse(401, wrong_password_18_16, "", "n1:8123");
    ASSERT_TRUE(old);
    EXPECT_EQ(old->serverCode(), 193);
    EXPECT_EQ(old->serverMessage(), "Wrong password for user default");

    auto current = errorFromHttpResponse(403, auth_failed_23_8, "516", "n1:8123");
    ASSERT_TRUE(current);
    EXPECT_EQ(current->serverCode(), 516);
}

TEST(ServerErrorTest, HttpErrorCodeFromHeaderWhenBodyIsNotClickHouses) {
    auto error = errorFromHttpResponse(500, "something odd", "241", "n1:8123");
    ASSERT_TRUE(error);
    EXPECT_EQ(error->serverCode(), 241);
    EXPECT_NE(error->serverMessage().find("something odd"), std::string::npos);
}

TEST(ServerErrorTest, ProxyPageIsNotAServerError) {
    EXPECT_FALSE(errorFromHttpResponse(502, "<html><body>502 Bad Gateway</body></html>", "", "n1:8123"));
}

TEST(ServerErrorTest, TaggedStreamedException) {
    // 25.11+: the tag from X-ClickHouse-Exception-Tag frames the error at the end of a 200 body.
    std::string body =
        "0\tZE*4\n1\tCxkv\n__exception__PU1FNUFH98\r\nCode: 395. DB::Exception: There was an error in the "
        "stream!. (FUNCTION_THROW_IF_VALUE_IS_NON_ZERO) (version 25.11.1.1)\n136 PU1FNUFH98__exception__\r\n";
    auto error = findStreamedException(body, "PU1FNUFH98", "", false, "n1:8123");
    ASSERT_TRUE(error);
    EXPECT_EQ(error->serverCode(), 395);
    EXPECT_EQ(error->serverMessage(),
              "There was an error in the stream!. (FUNCTION_THROW_IF_VALUE_IS_NON_ZERO)");
}

TEST(ServerErrorTest, CutStreamWithExceptionMarker) {
    // 24.11 .. 25.10: "__exception__" on its own line, the error, then the connection is closed.
    std::string body =
        "0,\"ZE*4-_2(5&Fa^XUrSCzv\"\n__exception__\nCode: 395. DB::Exception: There was an error in the "
        "stream!: while executing 'FUNCTION throwIf'. (FUNCTION_THROW_IF_VALUE_IS_NON_ZERO) (version "
        "25.1.6.34 (official build))\n";
    auto error = findStreamedException(body, "", "", true, "n1:8123");
    ASSERT_TRUE(error);
    EXPECT_EQ(error->serverCode(), 395);
    // Without a cut transfer the same bytes could be data.
    EXPECT_FALSE(findStreamedException(body, "", "", false, "n1:8123"));
}

TEST(ServerErrorTest, ExceptionCodeTrailer) {
    auto error =
        findStreamedException("1\n2\nCode: 159. DB::Exception: Timeout exceeded. (TIMEOUT_EXCEEDED)\n", "",
                              "159", false, "n1:8123");
    ASSERT_TRUE(error);
    EXPECT_EQ(error->serverCode(), 159);
    EXPECT_FALSE(findStreamedException("1\n2\n", "", "0", false, "n1:8123"));
}

TEST(ServerErrorTest, PlainBodyHasNoStreamedException) {
    EXPECT_FALSE(findStreamedException("1\n2\n3\n", "", "", false, "n1:8123"));
    EXPECT_FALSE(findStreamedException("1\n2\n3\n", "ABCDEF", "", false, "n1:8123"));
}

}  // namespace
}  // namespace chfleet::clickhouse
