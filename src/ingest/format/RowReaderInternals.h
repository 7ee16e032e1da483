#pragma once

// What the files of RowReader share and its callers do not see: how a reader asks for more data, how text
// is shown in errors, and the per-row pieces every format's reader calls. RowReader.cpp streams the data and
// stores values; JsonRowReader.cpp reads JSONEachRow; DelimitedRowReader.cpp reads TabSeparated and CSV.

#include <cstddef>
#include <string>
#include <string_view>

#include "ingest/format/RowReader.h"

namespace chfleet::ingest {

namespace row_reading {

/* How the reader streams: each step reads one row (or the header) from the bytes at hand. When a row runs
 * past them, the helper that noticed throws NeedMoreData; parse() catches it, keeps the bytes from the start
 * of that row for the next chunk and nothing of the partial row survives (arenas and slots are reset when a
 * row begins; state that spans rows, like JSON's enclosing array, is committed only when a row completes).
 * Chunks are gathered until 64 KiB (kParseAtBytes) are at hand before a parse, so the throw and the re-read
 * of a partial row happen once per 64 KiB, not once per network read (a few KiB). A tail longer than that is
 * parsed again only when it has doubled, so a huge row spread over many small chunks still costs linear time.
 * At finish() the same code runs with `final` set: the end of the data then ends the last row, or is an error
 * when the row is incomplete. */
struct NeedMoreData {};

/// `text` quoted for an error message, cut after 40 bytes.
std::string shown(std::string_view text);
/// What stands at `p` for an error message: up to 20 bytes of it quoted, or "the end of the data".
std::string shownAt(const char* p, const char* end);

inline bool isJsonSpace(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

}  // namespace row_reading

inline void RowReader::beginRow() {
    unescaped_.clear();
    canonical_.clear();
    for (Slot& slot : slots_) {
        slot.omitted = true;
        slot.is_null = false;
    }
    ++attempt_;
}

// Instantiated in DelimitedRowReader.cpp, for RowReader::step.
extern template RowReader::Step RowReader::readDelimitedRow<RowReader::Delimiter::Tab>(const char*&,
                                                                                       const char*, bool);
extern template RowReader::Step RowReader::readDelimitedRow<RowReader::Delimiter::Comma>(const char*&,
                                                                                         const char*, bool);
extern template RowReader::Step RowReader::readHeader<RowReader::Delimiter::Tab>(const char*&, const char*,
                                                                                 bool);
extern template RowReader::Step RowReader::readHeader<RowReader::Delimiter::Comma>(const char*&, const char*,
                                                                                   bool);

}  // namespace chfleet::ingest
