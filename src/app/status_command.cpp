#include "app/status_command.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <ostream>
#include <set>
#include <thread>

namespace rotor::app {

namespace {

using std::chrono::milliseconds;

std::int64_t wall_ms() {
    return std::chrono::duration_cast<milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::int64_t to_int(const std::string& s) {
    try {
        return s.empty() ? 0 : std::stoll(s);
    } catch (const std::exception&) {
        return 0;
    }
}

std::vector<std::string> configured_platforms(const std::string& dir) {
    std::vector<std::string> out;
    std::error_code ec;
    if (dir.empty() || !std::filesystem::is_directory(dir, ec)) return out;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
        const auto ext = e.path().extension().string();
        if (e.is_regular_file(ec) && (ext == ".yaml" || ext == ".yml"))
            out.push_back(e.path().stem().string());
    }
    return out;
}

struct platform_view {
    std::string platform;
    queue::platform_stats stats;
    std::int64_t workers = 0;
    std::int64_t items_seen = 0; // items the live workers reported ended (their heartbeats)
};

struct sample {
    std::int64_t at_ms = 0;
    std::map<std::string, std::int64_t> items; // per platform or group: items ended so far
};

std::string fmt_rate(double r) {
    char b[32];
    std::snprintf(b, sizeof b, "%.1f", r);
    return b;
}

std::string fmt_eta(double seconds) {
    if (!(seconds >= 0) || seconds > 1e7) return "-";
    const auto s = static_cast<std::int64_t>(seconds + 0.5);
    char b[32];
    if (s >= 3600)
        std::snprintf(b, sizeof b, "%lldh%02lldm", static_cast<long long>(s / 3600),
                      static_cast<long long>(s % 3600 / 60));
    else if (s >= 60)
        std::snprintf(b, sizeof b, "%lldm%02llds", static_cast<long long>(s / 60),
                      static_cast<long long>(s % 60));
    else
        std::snprintf(b, sizeof b, "%llds", static_cast<long long>(s));
    return b;
}

} // namespace

group_state read_group(queue::job_queue& q, const queue::keys& keys, const std::string& group) {
    const auto g = q.progress(group); // throws not_found
    group_state s;
    s.group = group;
    s.jobs = g.total;
    s.jobs_completed = g.completed;
    s.jobs_failed = g.failed;
    s.enqueuing = g.enqueuing;
    const auto created = q.command({"HGET", keys.batch_group(group), "created_at"});
    s.created_at_ms = created.is_nil() ? 0 : to_int(created.as_string());
    for (std::int64_t i = g.first; i < g.first + g.total; ++i) {
        const std::string id = group + "-" + std::to_string(i);
        const auto f = q.command({"HMGET", keys.job(id), "platform", "params"});
        if (f.elements.size() == 2 && !f.elements[0].is_nil()) {
            if (s.platform.empty()) s.platform = f.elements[0].as_string();
            if (!f.elements[1].is_nil()) {
                const auto p = nlohmann::json::parse(f.elements[1].as_string(), nullptr, false);
                if (p.is_object() && p.contains("product_ids") && p["product_ids"].is_array())
                    s.items += static_cast<std::int64_t>(p["product_ids"].size());
            }
        }
        s.items_recorded += q.command({"HLEN", keys.results(id)}).as_integer();
        s.items_failed += q.command({"LLEN", keys.failures(id)}).as_integer();
    }
    // A job whose hash expired (done long ago) still counts what it recorded.
    s.items = std::max(s.items, s.items_recorded + s.items_failed);
    return s;
}

int run_status(queue::job_queue& q, queue::job_admin& admin, const queue::queue_options& qo,
               const status_options& options, printer& out) {
    sample last;
    for (std::size_t update = 0;; ++update) {
        std::vector<std::string> platforms = options.platforms;
        if (platforms.empty()) {
            platforms = configured_platforms(options.config_dir);
            const auto used = admin.platforms_in_use();
            platforms.insert(platforms.end(), used.begin(), used.end());
            std::sort(platforms.begin(), platforms.end());
            platforms.erase(std::unique(platforms.begin(), platforms.end()), platforms.end());
        }
        const auto now = wall_ms();
        sample current;
        current.at_ms = now;
        const auto workers = q.workers();
        std::vector<platform_view> views;
        for (const auto& p : platforms) {
            platform_view v;
            v.platform = p;
            v.stats = admin.stats(p);
            for (const auto& w : workers) {
                // A heartbeat of another shape (an older or foreign worker) is skipped, not
                // thrown: one bad entry must not hide every platform's status.
                if (!w.status.is_object()) continue;
                const auto platform = w.status.find("platform");
                if (platform == w.status.end() || !platform->is_string() || *platform != p)
                    continue;
                if (v.stats.now_ms - w.last_seen_ms > qo.lease.count()) continue; // gone quiet
                ++v.workers;
                for (const char* k : {"items_ok", "items_gone", "items_failed", "items_cached"}) {
                    const auto n = w.status.find(k);
                    if (n != w.status.end() && n->is_number_integer())
                        v.items_seen += n->get<std::int64_t>();
                }
            }
            current.items["p:" + p] = v.items_seen;
            views.push_back(std::move(v));
        }
        std::vector<group_state> groups;
        for (const auto& g : options.groups) {
            groups.push_back(read_group(q, admin.key_names(), g));
            current.items["g:" + g] = groups.back().items_recorded + groups.back().items_failed;
        }
        // Rates: between two updates when watching; a group's since it was created otherwise.
        const double dt = last.at_ms > 0 ? static_cast<double>(now - last.at_ms) / 1000.0 : 0;
        auto rate_of = [&](const std::string& key) -> double {
            if (dt <= 0 || last.items.count(key) == 0) return -1;
            return std::max<double>(0, static_cast<double>(current.items[key] - last.items[key])) /
                   dt;
        };

        std::vector<nlohmann::json> records;
        for (const auto& v : views) {
            nlohmann::json r = {{"platform", v.platform},
                                {"queued", v.stats.counts.queued},
                                {"running", v.stats.counts.running},
                                {"delayed", v.stats.counts.delayed},
                                {"dead", v.stats.counts.dead},
                                {"stalled", v.stats.stalled},
                                {"workers", v.workers}};
            if (v.stats.oldest_dead_ms > 0)
                r["oldest_dead_ms_ago"] = v.stats.now_ms - v.stats.oldest_dead_ms;
            r["paused"] = !v.stats.paused.empty();
            if (!v.stats.paused.empty()) {
                const auto p = nlohmann::json::parse(v.stats.paused, nullptr, false);
                const auto reason = p.is_object() ? p.find("reason") : p.end();
                r["paused_reason"] = p.is_object() && reason != p.end() && reason->is_string()
                                         ? reason->get<std::string>()
                                         : v.stats.paused;
            }
            if (v.stats.cooldown_factor < 1) {
                r["cooldown_factor"] = std::round(v.stats.cooldown_factor * 100) / 100;
                r["cooldown_ms_left"] =
                    std::max<std::int64_t>(0, v.stats.cooldown_until_ms - v.stats.now_ms);
            }
            const double rate = rate_of("p:" + v.platform);
            if (rate >= 0) r["items_per_s"] = std::round(rate * 10) / 10;
            records.push_back(std::move(r));
        }
        for (const auto& g : groups) {
            const auto ended = g.items_recorded + g.items_failed;
            double rate = rate_of("g:" + g.group);
            if (rate < 0 && g.created_at_ms > 0 && now > g.created_at_ms)
                rate = static_cast<double>(ended) * 1000.0 /
                       static_cast<double>(now - g.created_at_ms);
            nlohmann::json r = {{"group", g.group},
                                {"platform", g.platform},
                                {"jobs", g.jobs},
                                {"jobs_completed", g.jobs_completed},
                                {"jobs_failed", g.jobs_failed},
                                {"items", g.items},
                                {"items_done", g.items_recorded},
                                {"items_failed", g.items_failed},
                                {"progress", g.items > 0
                                                 ? std::round(1000.0 * static_cast<double>(ended) /
                                                              static_cast<double>(g.items)) /
                                                       10
                                                 : 0.0},
                                {"items_per_s", std::round(std::max(rate, 0.0) * 10) / 10},
                                {"enqueuing", g.enqueuing}};
            if (rate > 0 && ended < g.items)
                r["eta_s"] = std::llround(static_cast<double>(g.items - ended) / rate);
            records.push_back(std::move(r));
        }

        if (out.mode() == output_mode::terminal) {
            auto& os = out.stream();
            if (options.watch) os << "\033[H\033[2J";
            char row[256];
            std::snprintf(row, sizeof row, "%-14s %7s %7s %7s %6s %7s %7s %8s  %s\n", "PLATFORM",
                          "QUEUED", "RUNNING", "DELAYED", "DEAD", "STALLED", "WORKERS", "ITEMS/S",
                          "STATE");
            os << row;
            for (const auto& r : records) {
                if (!r.contains("platform") || r.contains("group")) continue;
                std::string state;
                if (r["paused"].get<bool>())
                    state += "paused (" + r.value("paused_reason", "") + ") ";
                if (r.contains("cooldown_factor"))
                    state += "cooldown x" + fmt_rate(r["cooldown_factor"].get<double>());
                std::snprintf(
                    row, sizeof row, "%-14s %7lld %7lld %7lld %6lld %7lld %7lld %8s  %s\n",
                    r["platform"].get<std::string>().c_str(),
                    static_cast<long long>(r["queued"].get<std::int64_t>()),
                    static_cast<long long>(r["running"].get<std::int64_t>()),
                    static_cast<long long>(r["delayed"].get<std::int64_t>()),
                    static_cast<long long>(r["dead"].get<std::int64_t>()),
                    static_cast<long long>(r["stalled"].get<std::int64_t>()),
                    static_cast<long long>(r["workers"].get<std::int64_t>()),
                    r.contains("items_per_s") ? fmt_rate(r["items_per_s"].get<double>()).c_str()
                                              : "-",
                    state.empty() ? "ok" : state.c_str());
                os << row;
            }
            for (const auto& r : records) {
                if (!r.contains("group")) continue;
                const double frac = r["progress"].get<double>() / 100.0;
                os << "\ngroup " << r["group"].get<std::string>() << " ("
                   << r["platform"].get<std::string>() << ")\n  " << progress_bar(frac) << "  "
                   << r["items_done"].get<std::int64_t>() + r["items_failed"].get<std::int64_t>()
                   << "/" << r["items"].get<std::int64_t>() << " items, "
                   << r["items_failed"].get<std::int64_t>() << " failed, "
                   << fmt_rate(r["items_per_s"].get<double>()) << " items/s, ETA "
                   << (r.contains("eta_s") ? fmt_eta(r["eta_s"].get<double>()) : "-") << ", jobs "
                   << r["jobs_completed"].get<std::int64_t>() << " done "
                   << r["jobs_failed"].get<std::int64_t>() << " failed of "
                   << r["jobs"].get<std::int64_t>()
                   << (r["enqueuing"].get<bool>() ? " (enqueuing)" : "") << "\n";
            }
            os.flush();
        } else {
            for (const auto& r : records) out.line(r);
        }
        if (!options.watch || (options.updates > 0 && update + 1 >= options.updates)) return 0;
        last = std::move(current);
        std::this_thread::sleep_for(options.interval);
    }
}

} // namespace rotor::app
