#include "queue/job_admin.hpp"

#include "queue/detail/lua_scripts.hpp"

#include <charconv>

namespace rotor::queue {

std::string_view to_string(job_state state) {
    switch (state) {
    case job_state::queued:
        return "queued";
    case job_state::running:
        return "running";
    case job_state::delayed:
        return "delayed";
    case job_state::dead:
        return "dead";
    }
    return "queued";
}

std::optional<job_state> parse_job_state(std::string_view name) {
    for (auto s : {job_state::queued, job_state::running, job_state::delayed, job_state::dead}) {
        if (to_string(s) == name) return s;
    }
    return std::nullopt;
}

std::chrono::seconds parse_age(std::string_view text) {
    const auto bad = [&] {
        return error(errc::invalid_argument,
                     "age '" + std::string(text) +
                         "': expected a number with an optional unit s, m, h or d (e.g. 7d)");
    };
    std::int64_t n = 0;
    const char* end = text.data() + text.size();
    const auto [rest, ec] = std::from_chars(text.data(), end, n);
    if (ec != std::errc() || rest == text.data() || n < 0) throw bad();
    const std::string_view unit(rest, static_cast<std::size_t>(end - rest));
    std::int64_t scale = 0;
    if (unit.empty() || unit == "s") scale = 1;
    if (unit == "m") scale = 60;
    if (unit == "h") scale = 3600;
    if (unit == "d") scale = 86400;
    // At most 100 years: it is later turned into milliseconds, which must not overflow.
    constexpr std::int64_t max_seconds = 100LL * 365 * 86400;
    if (scale == 0 || n > max_seconds / scale) throw bad();
    return std::chrono::seconds(n * scale);
}

job_admin::job_admin(redis_options redis, queue_options options)
    : options_(std::move(options)), keys_(options_.prefix),
      conn_(std::move(redis)), requeue_{"requeue", detail::requeue_lua, {}},
      clean_dead_{"clean_dead", detail::clean_dead_lua, {}}, stats_{"platform_stats",
                                                                    detail::platform_stats_lua,
                                                                    {}} {}

std::map<std::string, std::string> job_admin::job_fields(const std::string& job_id) {
    const auto reply = conn_.command({"HGETALL", keys_.job(job_id)});
    std::map<std::string, std::string> out;
    for (std::size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
        out[reply.elements[i].as_string()] = reply.elements[i + 1].as_string();
    }
    return out;
}

void job_admin::requeue(const std::string& job_id) {
    const std::string platform = job_fields(job_id)["platform"];
    if (platform.empty()) throw error(errc::not_found, "requeue " + job_id + ": no such job");
    try {
        conn_.eval(requeue_, {keys_.job(job_id), keys_.dead(platform), keys_.queue(platform)},
                   {options_.prefix, job_id, std::to_string(group_counter_ttl(options_).count())});
    } catch (const error& e) {
        const std::string_view what = e.what();
        const auto at = what.find("NOT_DEAD ");
        if (at == std::string_view::npos)
            throw error(e.kind(), "requeue " + job_id + ": " + e.what());
        throw error(errc::not_found, "requeue " + job_id +
                                         ": only dead jobs can be requeued; it is " +
                                         std::string(what.substr(at + 9)));
    }
}

std::vector<job_summary> job_admin::list(const std::string& platform, job_state state,
                                         std::size_t limit) {
    const std::string key = state == job_state::queued    ? keys_.queue(platform)
                            : state == job_state::running ? keys_.running(platform)
                            : state == job_state::delayed ? keys_.delayed(platform)
                                                          : keys_.dead(platform);
    if (limit == 0) return {};
    const auto reply = conn_.command({"ZRANGE", key, "0", std::to_string(limit - 1), "WITHSCORES"});
    std::vector<job_summary> out;
    for (std::size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
        job_summary j;
        j.id = reply.elements[i].as_string();
        j.state = state;
        j.at_ms = static_cast<std::int64_t>(std::stod(reply.elements[i + 1].as_string()));
        j.fields = job_fields(j.id);
        out.push_back(std::move(j));
    }
    return out;
}

std::int64_t job_admin::clean_dead(const std::string& platform, std::chrono::seconds older_than) {
    constexpr std::int64_t per_call = 500; // bounded work per script: Redis serves others between
    std::int64_t removed = 0;
    for (;;) {
        const auto n = conn_
                           .eval(clean_dead_, {keys_.dead(platform)},
                                 {options_.prefix, std::to_string(older_than.count() * 1000),
                                  std::to_string(per_call)})
                           .as_integer();
        removed += n;
        if (n < per_call) return removed;
    }
}

std::vector<std::string> job_admin::platforms_with_dead() {
    return platforms_under(keys_.dead(""));
}

std::vector<std::string> job_admin::platforms_in_use() {
    std::vector<std::string> out;
    for (const auto& head : {keys_.queue(""), keys_.running(""), keys_.delayed(""), keys_.dead(""),
                             keys_.paused("")}) {
        const auto some = platforms_under(head);
        out.insert(out.end(), some.begin(), some.end());
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

void job_admin::pause(const std::string& platform, const std::string& by,
                      const std::string& reason) {
    if (platform.empty()) throw error(errc::invalid_argument, "pause: no platform given");
    const auto t = conn_.command({"TIME"});
    const auto now_ms = t.elements.at(0).as_integer() * 1000 + t.elements.at(1).as_integer() / 1000;
    const nlohmann::json record = {{"at_ms", now_ms}, {"by", by}, {"reason", reason}};
    conn_.command({"SET", keys_.paused(platform),
                   record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)});
}

bool job_admin::resume(const std::string& platform) {
    if (platform.empty()) throw error(errc::invalid_argument, "resume: no platform given");
    return conn_.command({"DEL", keys_.paused(platform)}).as_integer() == 1;
}

std::vector<std::string> job_admin::platforms_under(const std::string& head) {
    std::vector<std::string> out;
    std::string cursor = "0";
    do {
        const auto reply = conn_.command({"SCAN", cursor, "MATCH", head + "*", "COUNT", "1000"});
        if (reply.elements.size() != 2) break;
        cursor = reply.elements[0].as_string();
        for (const auto& k : reply.elements[1].elements)
            out.push_back(k.as_string().substr(head.size()));
    } while (cursor != "0");
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

platform_stats job_admin::stats(const std::string& platform) {
    // One script: one round trip, and every figure of one moment (see platform_stats.lua).
    const auto r =
        conn_.eval(stats_,
                   {keys_.queue(platform), keys_.running(platform), keys_.delayed(platform),
                    keys_.dead(platform), keys_.paused(platform), keys_.cooldown(platform)},
                   {});
    if (r.elements.size() != 11) {
        throw error(errc::redis_error, "stats of " + platform + ": unexpected reply");
    }
    const auto& e = r.elements;
    platform_stats s;
    s.now_ms = e[0].as_integer();
    s.counts.queued = e[1].as_integer();
    s.counts.running = e[2].as_integer();
    s.counts.delayed = e[3].as_integer();
    s.counts.dead = e[4].as_integer();
    s.stalled = e[5].as_integer();
    if (!e[6].is_nil()) {
        s.oldest_dead_ms = static_cast<std::int64_t>(std::stod(e[6].as_string()));
    }
    if (!e[7].is_nil()) s.paused = e[7].as_string();
    // The cooldown as cooldown_factor.lua reads it: the full slowdown until `until`, then a
    // linear ramp back to 1 over `ramp` ms. A key of another shape is no cooldown.
    if (!e[8].is_nil() && !e[9].is_nil()) {
        try {
            const double factor = std::stod(e[8].as_string());
            const auto till = std::stoll(e[9].as_string());
            const auto ramp = e[10].is_nil() ? 0 : std::stoll(e[10].as_string());
            if (factor > 0 && factor < 1) {
                s.cooldown_until_ms = till;
                if (s.now_ms < till) {
                    s.cooldown_factor = factor;
                } else if (ramp > 0 && s.now_ms < till + ramp) {
                    s.cooldown_factor = factor + (1 - factor) *
                                                     static_cast<double>(s.now_ms - till) /
                                                     static_cast<double>(ramp);
                }
            }
        } catch (const std::exception&) {
            // not a number: no cooldown this build can read
        }
    }
    return s;
}

} // namespace rotor::queue
