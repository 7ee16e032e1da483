#pragma once

#include <optional>
#include <string>
#include <string_view>

// The check of the SQL fragments a fleet file gives (column types and defaults, engine, partition_by,
// order_by, sharding_key, a materialized view's select) before chfleet pastes them into its statements. A
// fragment is part of one statement: it must not close what chfleet opened around it, end the statement, or
// hide the rest of it. Without the check, a column type of `String) ENGINE=Memory --` turns every local table
// into a Memory table of one column.
namespace chfleet::topology {

/// What is wrong with `fragment`, or nullopt when it is sound:
/// - brackets (), [] and {} pair up, innermost first, within the fragment;
/// - quoted text ('...', "..." and `...`, where \ escapes the next character and a doubled quote is a quote)
///   is closed within the fragment;
/// - outside quotes, no ';' (it ends the statement), no comment ('--', '/*', and '#': current ClickHouse
///   reads '# ' and '#!' as comments), no '$' (ClickHouse reads $$...$$ as a string), and with
///   `single_item` no ',' outside brackets (a column type or default, or a sharding key, is one item: a ','
///   would add another column or engine argument);
/// - no control character other than tab and line breaks.
/// Positions in the message count characters from 1.
std::optional<std::string> sqlFragmentProblem(std::string_view fragment, bool single_item = false);

/// For a fragment sqlFragmentProblem accepts, written `Name(arguments) rest` (an engine): `rest`, the text
/// after the ')' that closes the first '(', without surrounding white space; "" when there is no '(' or
/// nothing follows.
std::string textAfterArguments(std::string_view fragment);

}  // namespace chfleet::topology
