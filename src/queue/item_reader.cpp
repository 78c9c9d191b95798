#include "queue/item_reader.hpp"

#include "queue/errors.hpp"
#include "queue/item_id.hpp"

#include <algorithm>
#include <cctype>

namespace rotor::queue {
namespace {

constexpr std::size_t max_line_bytes = 1 << 20;
constexpr int max_json_depth = 32;
constexpr char too_long[] = "\x01too long"; // get_line's marker (no text line holds \x01)

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

bool ends_with(const std::string& s, const std::string& tail) {
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

bool blank(const std::string& s) {
    return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isspace(c); });
}

// An id from a JSON value: a string, or an integer written in decimal.
std::optional<std::string> json_id(const nlohmann::json& v) {
    if (v.is_string()) return v.get<std::string>();
    if (v.is_number_integer()) return v.dump();
    return std::nullopt;
}

} // namespace

std::optional<item_format> format_of_path(const std::string& path) {
    const std::string p = lower(path);
    if (ends_with(p, ".jsonl") || ends_with(p, ".ndjson")) return item_format::jsonl;
    if (ends_with(p, ".csv") || ends_with(p, ".txt")) return item_format::csv;
    return std::nullopt;
}

item_format format_of_line(const std::string& line) {
    const auto at = line.find_first_not_of(" \t\xEF\xBB\xBF");
    if (at == std::string::npos) return item_format::csv;
    if (line[at] == '{') return item_format::jsonl;
    // A quoted CSV id ("A1") is the same id read as JSON; a quoted CSV row ("id","name", as
    // QUOTE_ALL exports write it) is not JSON at all.
    if (line[at] == '"' && nlohmann::json::accept(line.substr(at))) return item_format::jsonl;
    return item_format::csv;
}

item_reader::item_reader(std::istream& in, item_format format) : in_(in), format_(format) {}

bool item_reader::get_line(std::string& line) {
    if (pending_) {
        line = std::move(*pending_);
        pending_.reset();
        return true;
    }
    line.clear();
    auto* buf = in_.rdbuf();
    if (buf == nullptr) return false;
    bool any = false;
    bool over = false;
    for (;;) {
        const auto c = buf->sbumpc();
        if (c == std::char_traits<char>::eof()) break;
        any = true;
        if (c == '\n') break;
        if (line.size() < max_line_bytes) {
            line.push_back(static_cast<char>(c));
        } else {
            over = true;
        }
    }
    if (!any) return false;
    ++line_;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line_ == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3); // UTF-8 BOM
    if (over) line = too_long;
    return true;
}

bool item_reader::next(read_item& out) {
    out = read_item{};
    if (format_ == item_format::detect) {
        std::string line;
        do {
            if (!get_line(line)) return false;
        } while (blank(line));
        format_ = format_of_line(line);
        pending_ = std::move(line);
    }
    return format_ == item_format::csv ? next_csv(out) : next_jsonl(out);
}

bool item_reader::next_jsonl(read_item& out) {
    std::string line;
    do {
        if (!get_line(line)) return false;
    } while (blank(line));
    out.line = line_;
    if (line == too_long) {
        out.problem = "the line is longer than 1 MiB";
        return true;
    }
    nlohmann::json v;
    struct too_deep {};
    try {
        // Nesting is bounded: a value nested thousands deep would crash the writer's dump
        // (recursion) or be refused by Redis's cjson at the claim, dead-lettering its whole job.
        v = nlohmann::json::parse(line,
                                  [](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
                                      if (depth > max_json_depth) throw too_deep{};
                                      return true;
                                  });
    } catch (const too_deep&) {
        out.problem =
            "the value is nested more than " + std::to_string(max_json_depth) + " levels deep";
        return true;
    } catch (const nlohmann::json::exception& e) {
        out.problem = std::string("not JSON: ") + e.what();
        return true;
    }
    if (v.is_object()) {
        const char* name = v.contains("id") ? "id" : "product_id";
        const auto it = v.find(name);
        if (it == v.end()) {
            out.problem = "the object has no \"id\" (or \"product_id\")";
            return true;
        }
        auto id = json_id(*it);
        if (!id) {
            out.problem = std::string("\"") + name + "\" is not a string or an integer";
            return true;
        }
        out.item.id = std::move(*id);
        v.erase(name);
        if (!v.empty()) out.item.data = std::move(v);
    } else if (auto id = json_id(v)) {
        out.item.id = std::move(*id);
    } else {
        out.problem = "a line is an id (a string or an integer) or an object with an \"id\"";
        return true;
    }
    if (auto why = normalize_item_id(out.item.id)) out.problem = *why;
    return true;
}

bool item_reader::csv_record(std::vector<std::string>& fields, std::string& problem) {
    fields.clear();
    std::string line;
    do {
        if (!get_line(line)) return false;
    } while (blank(line));
    record_line_ = line_;
    if (line == too_long) {
        problem = "the line is longer than 1 MiB";
        return true;
    }
    std::string field;
    bool quoted = false;     // inside a quoted field
    bool was_quoted = false; // the current field was quoted (only spaces may follow the quote)
    std::size_t record_bytes = 0;
    for (;;) {
        record_bytes += line.size();
        for (std::size_t i = 0; i < line.size(); ++i) {
            const char c = line[i];
            if (quoted) {
                if (c == '"') {
                    if (i + 1 < line.size() && line[i + 1] == '"') {
                        field.push_back('"');
                        ++i;
                    } else {
                        quoted = false;
                    }
                } else {
                    field.push_back(c);
                }
            } else if (c == ',') {
                fields.push_back(std::move(field));
                field.clear();
                was_quoted = false;
            } else if (c == '"' && !was_quoted && blank(field)) {
                field.clear();
                quoted = was_quoted = true;
            } else if (was_quoted && c != ' ' && c != '\t') {
                problem = "text after a closing quote";
                return true;
            } else if (!was_quoted) {
                field.push_back(c);
            }
        }
        if (!quoted) break;
        // A line break inside quotes belongs to the field.
        if (record_bytes > max_line_bytes) {
            problem = "a quoted field runs past 1 MiB (a quote is not closed?)";
            return true;
        }
        if (!get_line(line)) {
            problem = "the file ends inside a quoted field";
            return true;
        }
        if (line == too_long) {
            problem = "the line is longer than 1 MiB";
            return true;
        }
        field.push_back('\n');
    }
    fields.push_back(std::move(field));
    return true;
}

bool item_reader::next_csv(read_item& out) {
    std::vector<std::string> fields;
    for (;;) {
        std::string problem;
        if (!csv_record(fields, problem)) return false;
        out.line = record_line_;
        if (!problem.empty()) {
            out.problem = problem;
            first_ = false;
            return true;
        }
        if (first_) {
            first_ = false;
            for (std::size_t i = 0; i < fields.size(); ++i) {
                std::string name = fields[i];
                normalize_item_id(name); // trims
                const std::string n = lower(name);
                if (n == "id" || n == "product_id") {
                    id_column_ = i;
                    break;
                }
            }
            if (id_column_) {
                for (auto& f : fields) {
                    normalize_item_id(f); // trims
                    if (!valid_utf8(f)) header_problem_ = "the header is not valid UTF-8";
                    header_.push_back(f);
                }
                if (header_problem_.empty()) continue; // the header is not an item
                out.problem = header_problem_;
                return true;
            }
        }
        if (!id_column_) {
            if (fields.size() != 1) {
                out.problem = "a row has " + std::to_string(fields.size()) +
                              " columns and there is no header naming the id column (id or "
                              "product_id)";
                return true;
            }
            out.item.id = std::move(fields[0]);
        } else {
            if (!header_problem_.empty()) {
                out.problem = header_problem_ + " (line 1): no row can be read";
                return true;
            }
            if (fields.size() != header_.size()) {
                out.problem = "a row has " + std::to_string(fields.size()) +
                              " columns, the header " + std::to_string(header_.size());
                return true;
            }
            out.item.id = fields[*id_column_];
            nlohmann::json data = nlohmann::json::object();
            for (std::size_t i = 0; i < fields.size(); ++i) {
                if (i == *id_column_ || header_[i].empty()) continue;
                if (!valid_utf8(fields[i])) {
                    out.problem = "column " + header_[i] + " is not valid UTF-8";
                    return true;
                }
                data[header_[i]] = std::move(fields[i]);
            }
            if (!data.empty()) out.item.data = std::move(data);
        }
        if (auto why = normalize_item_id(out.item.id)) out.problem = *why;
        return true;
    }
}

} // namespace rotor::queue
