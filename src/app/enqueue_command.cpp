#include "app/enqueue_command.hpp"

#include "queue/enqueue_writer.hpp"
#include "queue/item_id.hpp"
#include "queue/item_reader.hpp"

#include <nlohmann/json.hpp>

#include <sys/stat.h>

#include <charconv>
#include <fstream>
#include <functional>
#include <iostream>
#include <random>
#include <sstream>

namespace rotor::app {
namespace {

constexpr std::size_t max_problems_shown = 20;

std::string made_up_key() {
    std::random_device rd;
    std::mt19937_64 rng(rd());
    static constexpr char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    std::string key = "rotorctl-";
    for (int i = 0; i < 20; ++i) key.push_back(digits[rng() % 36]);
    return key;
}

std::int64_t parse_bound(const std::string& s, const std::string& range) {
    std::int64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || s.empty()) {
        throw std::invalid_argument("--range must be FROM-TO with integers, not " + range);
    }
    return v;
}

// Called for every item of the source, with its line (0 for --items/--range); false stops.
using item_sink = std::function<bool(const queue::read_item&)>;

struct file_source {
    std::ifstream file;
    std::istream* in = nullptr;
    queue::item_format format = queue::item_format::csv;
};

void open_file(const enqueue_source& source, file_source& f) {
    if (source.file == "-") {
        f.in = &std::cin;
    } else {
        f.file.open(source.file, std::ios::binary);
        if (!f.file) throw std::invalid_argument("--file " + source.file + ": cannot open it");
        f.in = &f.file;
    }
    if (source.format == "csv") {
        f.format = queue::item_format::csv;
    } else if (source.format == "jsonl") {
        f.format = queue::item_format::jsonl;
    } else if (auto by_name = queue::format_of_path(source.file)) {
        f.format = *by_name;
    } else {
        f.format = queue::item_format::detect; // standard input, or an unknown extension
    }
}

void read_all(file_source& f, const item_sink& each) {
    queue::item_reader reader(*f.in, f.format);
    queue::read_item r;
    while (reader.next(r)) {
        if (!each(r)) return;
    }
    if (f.in->bad()) throw std::runtime_error("reading the items failed");
}

void for_each_item(const enqueue_source& source, const item_sink& each) {
    queue::read_item r;
    if (!source.items.empty()) {
        std::stringstream ss(source.items);
        for (std::string id; std::getline(ss, id, ',');) {
            if (id.empty()) continue;
            r = queue::read_item{};
            r.item.id = id;
            if (auto why = queue::normalize_item_id(r.item.id)) r.problem = *why;
            if (!each(r)) return;
        }
    }
    if (!source.range.empty()) {
        const auto dash = source.range.find('-', 1);
        if (dash == std::string::npos) {
            throw std::invalid_argument("--range must be FROM-TO, not " + source.range);
        }
        const auto from = parse_bound(source.range.substr(0, dash), source.range);
        const auto to = parse_bound(source.range.substr(dash + 1), source.range);
        if (to < from) throw std::invalid_argument("--range " + source.range + " is empty");
        for (std::int64_t i = from;; ++i) {
            r = queue::read_item{};
            r.item.id = std::to_string(i);
            if (!each(r) || i == to) break;
        }
    }
}

bool seekable(const std::string& path) {
    struct stat st {};
    return path != "-" && ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

} // namespace

int run_enqueue(queue::job_queue& queue, queue::enqueue_target target, const enqueue_source& source,
                std::ostream& out, std::ostream& err) {
    const bool from_file = !source.file.empty();
    if (from_file && (!source.items.empty() || !source.range.empty())) {
        throw std::invalid_argument("--file cannot be combined with --items or --range");
    }
    if (!from_file && source.items.empty() && source.range.empty()) {
        throw std::invalid_argument("no items to enqueue: give --items, --range or --file");
    }
    const bool made_up = target.idempotency_key.empty();
    if (made_up) target.idempotency_key = made_up_key();
    std::size_t bad = 0;
    auto report = [&](const queue::read_item& r) {
        if (++bad <= max_problems_shown) {
            err << "rotorctl enqueue: "
                << (r.line > 0 ? "line " + std::to_string(r.line) + ": "
                               : "item " + r.item.id + ": ")
                << r.problem << "\n";
        } else if (bad == max_problems_shown + 1) {
            err << "rotorctl enqueue: (more bad lines; the count follows)\n";
        }
    };

    // A file that can be read twice is checked whole first: a bad line then stops the enqueue
    // before anything is written, and the jobs know their batch_total.
    std::optional<std::size_t> good_items;
    // Counts the good items of a first pass (reporting the bad ones); false when one was bad and
    // bad ones are not skipped: then nothing is written.
    auto first_pass = [&](const std::function<void(const item_sink&)>& read_source,
                          const std::string& what) {
        std::size_t good = 0;
        read_source([&](const queue::read_item& r) {
            if (r.problem.empty())
                ++good;
            else
                report(r);
            return true;
        });
        if (bad > 0 && !source.skip_bad_lines) {
            err << "rotorctl enqueue: " << bad << " bad " << what
                << "; nothing was enqueued (fix them, or pass --skip-bad-lines)\n";
            return false;
        }
        good_items = good;
        return true;
    };
    if (from_file && seekable(source.file)) {
        file_source f;
        open_file(source, f);
        if (!first_pass([&](const item_sink& each) { read_all(f, each); },
                        "line(s) in " + source.file)) {
            return 1;
        }
    } else if (!from_file) {
        if (!first_pass([&](const item_sink& each) { for_each_item(source, each); }, "id(s)")) {
            return 1;
        }
    }
    if (good_items && *good_items == 0) {
        err << "rotorctl enqueue: no items to enqueue\n";
        return 1;
    }

    queue::enqueue_limits limits;
    if (source.chunk_items > 0) limits.chunk_items = source.chunk_items;
    queue::enqueue_writer writer(queue, target, limits);
    if (good_items) writer.expect(*good_items);
    // Said before anything is written: a run killed halfway can still be finished.
    err << "rotorctl enqueue: group " << writer.group_id() << ", idempotency key "
        << target.idempotency_key
        << " (if this run is cut short, run it again with --idempotency-key "
        << target.idempotency_key << ": nothing is added twice)" << std::endl;
    bool stopped = false;
    const bool checked = good_items.has_value();
    auto take = [&](const queue::read_item& r) {
        if (!r.problem.empty()) {
            if (!checked) report(r); // checked: reported by the first pass
            stopped = !source.skip_bad_lines;
            return !stopped;
        }
        writer.add(r.item);
        return true;
    };
    try {
        if (from_file) {
            file_source f;
            open_file(source, f);
            read_all(f, take);
        } else {
            for_each_item(source, take);
        }
        if (stopped) {
            const auto& s = writer.summary();
            err << "rotorctl enqueue: stopped at a bad line; " << s.chunks << " chunk(s) of group "
                << s.group_id << " were written before it (" << s.jobs
                << " jobs known so far). Fix the line and run again with --idempotency-key "
                << target.idempotency_key
                << ": the chunks written are recognised, nothing is added twice\n";
            return 1;
        }
        const auto s = writer.finish();
        nlohmann::json line = {{"group", s.group_id},
                               {"jobs", s.jobs},
                               {"items", s.items},
                               {"chunks", s.chunks},
                               {"replayed_chunks", s.replayed_chunks},
                               {"skipped", bad},
                               {"idempotency_key", target.idempotency_key}};
        out << line.dump() << std::endl;
        return 0;
    } catch (const std::exception& e) {
        err << "rotorctl enqueue: " << e.what() << "\n";
        const auto* qe = dynamic_cast<const queue::error*>(&e);
        if (qe == nullptr || qe->kind() != queue::errc::idempotency_mismatch) {
            err << "rotorctl enqueue: " << writer.summary().chunks
                << " chunk(s) were written; run it again with --idempotency-key "
                << target.idempotency_key << (made_up ? " (made up for this run)" : "")
                << " to add what is missing, nothing twice\n";
        }
        return 1;
    }
}

} // namespace rotor::app
