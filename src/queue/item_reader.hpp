#pragma once
// Reads items to enqueue from a stream, one at a time, with the line each came from:
// - csv: RFC 4180 (quoted fields, "" inside quotes, line breaks inside quotes, CRLF, a UTF-8
//   BOM). A first row naming a column `id` or `product_id` is a header: that column is the id
//   and the other named columns become the item's values (strings). Without a header a row is
//   one id; a row with more columns is refused (which one would be the id?).
// - jsonl: one JSON value per line: a string or an integer is an id; an object has its id under
//   "id" (or "product_id"), and its other members are the item's values (nested at most 32
//   levels deep).
// Empty lines are skipped. A line that cannot be an item is reported with its line number and
// the reason; reading goes on with the next line (the caller decides whether to stop).

#include "queue/enqueue_writer.hpp"

#include <istream>
#include <optional>
#include <string>
#include <vector>

namespace rotor::queue {

enum class item_format {
    csv,
    jsonl,
    detect, // by the first non-empty line (format_of_line)
};

/// The format a file name says (.csv, .jsonl/.ndjson, .txt: one id per line is csv), or nullopt.
std::optional<item_format> format_of_path(const std::string& path);
/// The format a first line looks like: '{' or '"' opens JSON lines, anything else is csv.
item_format format_of_line(const std::string& line);

struct read_item {
    std::size_t line = 0; // where the item (or the bad line) starts, from 1
    std::string problem;  // empty: `item` is good
    enqueue_item item;
};

class item_reader {
  public:
    item_reader(std::istream& in, item_format format);
    /// The next item or bad line; false at the end of the input. Throws errc::invalid_argument
    /// only for a read error of the stream itself.
    bool next(read_item& out);

  private:
    bool next_csv(read_item& out);
    bool next_jsonl(read_item& out);
    /// One CSV record (it may span lines); false at the end. `problem` set for a bad record.
    bool csv_record(std::vector<std::string>& fields, std::string& problem);
    bool get_line(std::string& line);

    std::istream& in_;
    item_format format_;
    std::optional<std::string> pending_; // a line read to detect the format, not yet used
    std::size_t line_ = 0;               // lines read so far
    std::size_t record_line_ = 0;        // where the last CSV record started
    bool first_ = true;
    std::optional<std::size_t> id_column_; // set by a header
    std::vector<std::string> header_;
    std::string header_problem_; // the header cannot be used: every row is refused
};

} // namespace rotor::queue
