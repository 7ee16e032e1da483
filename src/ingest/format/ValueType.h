#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chfleet::ingest {

/// The scalar types whose values ingest checks. Anything else (Array, Map, Tuple, DateTime64, Bool, IPv4...)
/// is refused when a table is set up.
enum class TypeKind {
    String,
    FixedString,
    UUID,
    Date,
    DateTime,
    UInt8,
    UInt16,
    UInt32,
    UInt64,
    Int8,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    Decimal,
    Enum8,
    Enum16,
};

/// The type of one column as ingest understands it: a scalar kind with its parameters, possibly Nullable and
/// possibly LowCardinality (which changes nothing about the values). It checks one value's text and gives its
/// canonical text: the form every ClickHouse version from 18.16 on reads into the same stored value, whatever
/// the server's date_time_input_format or time zone handling of offsets.
///
/// One grammar per type serves all input formats (the readers unquote and unescape first). It accepts what
/// ClickHouse 26.5 accepts where 26.5 stores the written value, and refuses input that 26.5 silently turns
/// into something else:
/// - integers: optional '-' (signed types only), digits without leading zeros, within the type's range
///   (ClickHouse wraps 256 into a UInt8 as 0; ingest refuses it). Empty text is 0, as in ClickHouse.
/// - floats: decimal or exponent notation, inf, infinity, nan (any case, optional sign). Empty text is 0.
/// - Decimal(P, S): decimal or exponent notation; at most P - S digits before the point; further fractional
///   digits are cut off as ClickHouse does. Canonical text has no exponent.
/// - Date: YYYY-MM-DD (months and days of one or two digits, '-' or '/') or YYYYMMDD, a real calendar day
/// from
///   1970-01-01 to 2149-06-06; 0000-00-00 is the zero date.
/// - DateTime: a date alone, or a date, 'T' or ' ', hh:mm[:ss] with optional fractional seconds (cut off) and
///   an optional offset (Z, +hh, +hhmm, +hh:mm); or a unix timestamp of 9 or 10 digits up to 4294967295;
///   0000-00-00 00:00:00 is the zero time. Values with an offset or given as timestamps are written as a
///   10-digit timestamp, local times as YYYY-MM-DD hh:mm:ss (read by the server in the column's time zone).
/// - UUID: 8-4-4-4-12 or 32 hexadecimal digits, any case; canonical lower case with dashes.
/// - Enum8/Enum16: an element's name or its number; canonical is the name.
/// - FixedString(N): at most N bytes.
class ValueType {
  public:
    /// Parses a type as system.columns prints it ("Nullable(String)", "DateTime('Europe/Berlin')",
    /// "Decimal(9, 2)", "Enum8('a' = 1, 'b' = 2)", "LowCardinality(Nullable(String))"). Throws
    /// Exception(BadArguments) "type ... is not supported by ingest" for any other type.
    static ValueType parse(std::string_view type);

    /// The outcome of check(): the text was canonical already, its canonical form was appended to `out`, or
    /// it is not a value of the type.
    enum class Verdict { Valid, Rewritten, Invalid };

    /// Checks `text` (unquoted, unescaped). Appends the canonical text to `out` when it differs from `text`.
    /// On Invalid, `problem` says what was expected ("expected an integer from 0 to 255").
    Verdict check(std::string_view text, std::string& out, std::string& problem) const;

    /// A JSON number (bare, unquoted) for a Date column: a day number from 1970-01-01, as ClickHouse reads
    /// it. Appends YYYY-MM-DD to `out`.
    bool checkDayNumber(std::string_view digits, std::string& out, std::string& problem) const;

    const std::string& name() const { return name_; }
    TypeKind kind() const { return kind_; }
    bool nullable() const { return nullable_; }
    /// String, FixedString and Enum values are read as (escaped) strings; the others as plain tokens.
    bool isText() const;
    bool isInteger() const;
    bool isFloat() const { return kind_ == TypeKind::Float32 || kind_ == TypeKind::Float64; }

    /// False for an Enum without an element numbered 0: ClickHouse refuses NULL (and empty CSV values) for
    /// such a column unless it has a DEFAULT, because it reads them as 0.
    bool hasZero() const;
    /// What check() says of 0 (for an Enum without 0: which elements there are).
    std::string problemOfZero() const;

    /// The canonical text of the type's default value (of the non-Nullable type): "", 0, 1970-01-01,
    /// 0000000000 (DateTime zero, read alike by every server version and input mode), the zero UUID, the
    /// enum element with the smallest number.
    std::string defaultText() const;

  private:
    Verdict checkInteger(std::string_view text, std::string& out, std::string& problem) const;
    Verdict checkFloat(std::string_view text, std::string& out, std::string& problem) const;
    Verdict checkDecimal(std::string_view text, std::string& out, std::string& problem) const;
    /// True for text already in the canonical form of checkDecimal (the common case, checked without copies).
    bool isCanonicalDecimal(std::string_view text) const;
    Verdict checkDate(std::string_view text, std::string& out, std::string& problem) const;
    Verdict checkDateTime(std::string_view text, std::string& out, std::string& problem) const;
    Verdict checkUuid(std::string_view text, std::string& out, std::string& problem) const;
    Verdict checkEnum(std::string_view text, std::string& out, std::string& problem) const;

    std::string name_;  ///< as given, for messages
    TypeKind kind_ = TypeKind::String;
    bool nullable_ = false;
    uint32_t fixed_size_ = 0;  ///< FixedString(N)
    uint32_t precision_ = 0;   ///< Decimal(P, S)
    uint32_t scale_ = 0;
    std::vector<std::pair<std::string, int>> enum_elements_;  ///< in declaration order
};

}  // namespace chfleet::ingest
