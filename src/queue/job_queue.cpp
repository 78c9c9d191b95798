#include "queue/job_queue.hpp"

#include "queue/detail/job_params.hpp"
#include "queue/detail/lua_scripts.hpp"
#include "queue/enqueue_writer.hpp"
#include "queue/item_id.hpp"

#include <algorithm>
#include <random>

namespace rotor::queue {

namespace {

std::string random_id() {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    static constexpr char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    std::string out;
    for (int i = 0; i < 12; ++i) out.push_back(digits[rng() % 36]);
    return out;
}

double jitter() {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

} // namespace

std::string_view to_string(lock_mode mode) {
    return mode == lock_mode::job ? "job" : "platform";
}

const nlohmann::json* job_lease::item_data(std::size_t index) const {
    const auto it = params.find("item_data");
    if (it == params.end() || !it->is_array() || index >= it->size()) return nullptr;
    const auto& v = (*it)[index];
    return v.is_object() ? &v : nullptr;
}

std::vector<std::string> job_lease::items() const {
    std::vector<std::string> out;
    auto it = params.find("product_ids");
    if (it == params.end() || !it->is_array()) return out;
    for (const auto& v : *it) out.push_back(v.is_string() ? v.get<std::string>() : v.dump());
    return out;
}

job_queue::job_queue(redis_options redis, queue_options options)
    : options_(std::move(options)), keys_(options_.prefix),
      conn_(std::move(redis)), enqueue_{"enqueue", detail::enqueue_lua, {}},
      bind_enqueue_{"bind_enqueue", detail::bind_enqueue_lua, {}}, claim_{"claim",
                                                                          detail::claim_lua,
                                                                          {}},
      renew_{"renew", detail::renew_lua, {}}, checkpoint_{"checkpoint", detail::checkpoint_lua, {}},
      store_outcome_{"store_outcome", detail::store_outcome_lua, {}},
      complete_{"complete", detail::complete_lua, {}},
      complete_claim_{"complete_and_claim", detail::complete_and_claim_lua, {}},
      fail_job_{"fail", detail::fail_job_lua, {}}, reap_{"reap_stalled",
                                                         detail::reap_stalled_lua,
                                                         {}},
      heartbeat_{"heartbeat", detail::heartbeat_lua, {}}, dead_letter_{"dead_letter",
                                                                       detail::dead_letter_lua,
                                                                       {}},
      release_{"release", detail::release_lua, {}}, counts_{"counts", detail::counts_lua, {}} {
    if (options_.retention.count() < 1) {
        throw error(errc::invalid_argument,
                    "queue options: retention must be at least 1 s (it is how long batch groups "
                    "and kept done jobs live); to drop done jobs at once set keep_done_jobs = "
                    "false");
    }
    if (options_.dead_retention.count() < 1) {
        throw error(errc::invalid_argument, "queue options: dead_retention must be at least 1 s");
    }
    if (options_.lease.count() < 1) {
        throw error(errc::invalid_argument, "queue options: lease must be positive");
    }
    if (options_.idempotency_window.count() < 1) {
        throw error(errc::invalid_argument,
                    "queue options: idempotency_window must be at least 1 s");
    }
}

std::string job_queue::done_ttl() const {
    return options_.keep_done_jobs ? std::to_string(options_.retention.count()) : "0";
}

std::string job_queue::dead_ttl() const {
    return std::to_string(options_.dead_retention.count());
}

redis_reply job_queue::run(lua_script& script, const std::vector<std::string>& k,
                           const std::vector<std::string>& args, const std::string& what,
                           std::optional<std::size_t> replay_flag) {
    std::lock_guard lock(mutex_);
    try {
        return conn_.eval(script, k, args, replay_flag);
    } catch (const error& e) {
        if (e.kind() == errc::redis_error &&
            std::string_view(e.what()).find("LEASE_LOST") != std::string_view::npos) {
            throw error(errc::lease_lost,
                        what + ": the lease is no longer ours (another worker took the job over, "
                               "or it finished)");
        }
        throw error(e.kind(), what + ": " + e.what());
    }
}

redis_reply job_queue::command(const std::vector<std::string>& argv) {
    std::lock_guard lock(mutex_);
    return conn_.command(argv);
}

enqueue_result job_queue::enqueue(const enqueue_request& request) {
    if (request.platform.empty()) throw error(errc::invalid_argument, "enqueue: platform is empty");
    if (request.items.empty()) {
        throw error(errc::invalid_argument, "enqueue " + request.platform + ": no items");
    }
    // Every id is checked before anything is written: a bad one fails the whole call.
    std::vector<enqueue_item> items;
    items.reserve(request.items.size());
    for (std::size_t i = 0; i < request.items.size(); ++i) {
        std::string id = request.items[i];
        if (auto why = normalize_item_id(id)) {
            throw error(errc::invalid_argument, "enqueue " + request.platform + ": item " +
                                                    std::to_string(i) + ": " + *why);
        }
        items.push_back({std::move(id), nullptr});
    }
    enqueue_writer writer(*this, request);
    writer.expect(items.size());
    for (auto& item : items) writer.add(std::move(item));
    auto summary = writer.finish();
    return {std::move(summary.group_id), std::move(summary.job_ids)};
}

std::string job_queue::new_group_id(const std::string& platform) {
    return platform + "-" + random_id();
}

std::chrono::seconds group_counter_ttl(const queue_options& o) {
    return 2 * std::max({o.retention, o.dead_retention, o.failures_ttl, o.results_ttl,
                         std::chrono::seconds(1)});
}

std::string job_queue::bind_enqueue_key(const enqueue_target& t) {
    const std::string& key = t.idempotency_key;
    const std::string tier = std::to_string(static_cast<int>(t.prio));
    const std::string attempts = std::to_string(options_.max_attempts);
    const auto bound =
        run(bind_enqueue_, {keys_.enqueue_key(key)},
            {t.platform, t.group_id.empty() ? new_group_id(t.platform) : t.group_id, t.workflow_id,
             tier, attempts, std::to_string(options_.idempotency_window.count())},
            "enqueue " + t.platform + ": idempotency key " + key);
    if (bound.elements.size() != 5) {
        throw error(errc::redis_error,
                    "enqueue " + t.platform + ": idempotency key " + key + ": unexpected reply");
    }
    const auto field = [&](std::size_t i) {
        return bound.elements[i].is_nil() ? std::string() : bound.elements[i].as_string();
    };
    const std::string group = field(1);
    std::string differs;
    if (field(0) != t.platform)
        differs = "platform " + field(0);
    else if (!t.group_id.empty() && group != t.group_id)
        differs = "group " + group;
    else if (field(2) != t.workflow_id)
        differs = "workflow '" + field(2) + "'";
    else if (field(3) != tier)
        differs = "priority tier " + field(3);
    else if (field(4) != attempts)
        differs = "max attempts " + field(4);
    if (!differs.empty()) {
        throw error(errc::idempotency_mismatch,
                    "enqueue " + t.platform + ": idempotency key " + key + " was used with " +
                        differs + " (group " + group +
                        "): give the same settings to finish that enqueue, or pick another key");
    }
    return group;
}

enqueue_chunk_result job_queue::write_enqueue_chunk(const enqueue_chunk& chunk) {
    const enqueue_target& t = *chunk.target;
    const bool keyed = !t.idempotency_key.empty();
    // Every job's params pass the worker's own rule before this chunk is written: enqueue.lua
    // stamps them as checked (params_checked, their length), and a claim does not decode them
    // again. enqueue_writer builds params that pass (it refuses extra params that set what it
    // writes); this is the backstop for any other caller.
    for (std::size_t i = 0; i < chunk.params.size(); ++i) {
        nlohmann::json reread;
        if (auto why = detail::read_job_params(chunk.params[i], reread)) {
            throw error(errc::invalid_argument,
                        "enqueue " + t.platform + " into group " + chunk.group_id + ": job " +
                            std::to_string(i + 1) + " of the " +
                            std::to_string(chunk.params.size()) + " in chunk " +
                            std::to_string(chunk.index) + ": " + *why);
        }
    }
    std::vector<std::string> args = {options_.prefix,
                                     t.platform,
                                     t.workflow_id,
                                     std::to_string(static_cast<int>(t.prio)),
                                     chunk.group_id,
                                     std::to_string(options_.max_attempts),
                                     std::to_string(chunk.params.size()),
                                     std::to_string(options_.retention.count()),
                                     chunk.digest,
                                     chunk.last ? "0" : "1",
                                     std::to_string(options_.idempotency_window.count()),
                                     chunk.min_score,
                                     "chunk:" + std::to_string(chunk.index),
                                     keyed ? "1" : "0",
                                     std::to_string(group_counter_ttl(options_).count())};
    args.insert(args.end(), chunk.params.begin(), chunk.params.end());
    const std::string record = keyed ? keys_.enqueue_key(t.idempotency_key)
                                     : keys_.enqueue_request(random_id() + random_id());
    redis_reply reply;
    try {
        reply = run(enqueue_,
                    {keys_.queue(t.platform), keys_.batch_group(chunk.group_id), record,
                     keys_.batch_group_seq(chunk.group_id)},
                    args, "enqueue " + t.platform + " into group " + chunk.group_id);
    } catch (const error& e) {
        const std::string_view what = e.what();
        if (what.find("IDEMPOTENCY_MISMATCH") != std::string_view::npos) {
            throw error(errc::idempotency_mismatch,
                        std::string(what) +
                            " (the idempotency key was used for other items: pick another key, "
                            "or give the same input again)");
        }
        if (what.find("IDEMPOTENCY_EXPIRED") != std::string_view::npos ||
            what.find("JOB_EXISTS") != std::string_view::npos ||
            what.find("WRONGTYPE_KEY") != std::string_view::npos) {
            throw error(errc::invalid_argument, std::string(what));
        }
        throw;
    }
    if (reply.elements.size() < 2) {
        throw error(errc::redis_error, "enqueue " + t.platform + ": unexpected reply");
    }
    enqueue_chunk_result r;
    r.replayed = reply.elements[0].as_string() == "replay";
    r.next_min_score = reply.elements[1].as_string();
    for (std::size_t i = 2; i < reply.elements.size(); ++i) {
        r.job_ids.push_back(reply.elements[i].as_string());
    }
    return r;
}

std::optional<job_lease> job_queue::claim(const std::string& platform,
                                          const std::string& worker_id) {
    // A job the script let through but nlohmann cannot read (or without items) is dead-lettered
    // and the next one claimed: run, it would complete with no items.
    for (;;) {
        const auto reply =
            run(claim_,
                {keys_.queue(platform), keys_.running(platform), keys_.delayed(platform),
                 keys_.dead(platform), keys_.lock(platform), keys_.paused(platform)},
                {options_.prefix, std::to_string(options_.lease.count()), worker_id,
                 std::string(to_string(options_.lock)), random_id(), "0", dead_ttl()},
                "claim " + platform, 5);
        std::string malformed;
        auto job = parse_claim(reply, worker_id, malformed);
        if (!job || malformed.empty()) return job;
        dead_letter(*job, "malformed_job: " + malformed);
    }
}

std::optional<job_lease> job_queue::parse_claim(const redis_reply& reply,
                                                const std::string& worker_id,
                                                std::string& malformed) {
    if (reply.is_nil() || reply.elements.size() < 9) return std::nullopt;
    job_lease job;
    job.id = reply.elements[0].as_string();
    job.token = reply.elements[1].as_string();
    job.platform = reply.elements[2].as_string();
    job.workflow_id = reply.elements[4].as_string();
    job.group_id = reply.elements[7].as_string();
    job.lease_deadline_ms = reply.elements[8].as_integer();
    job.worker_id = worker_id;
    // A lease whose fields cannot be read is dead-lettered, not thrown: thrown, the job would
    // stay leased and unrun until its lease expired, again and again, and die "stalled".
    try {
        job.attempts = static_cast<int>(reply.elements[5].as_integer());
        job.max_attempts = static_cast<int>(reply.elements[6].as_integer());
    } catch (const error&) {
        malformed = "attempts or max_attempts is not a number";
        return job;
    }
    if (auto why = detail::read_job_params(reply.elements[3].as_string(), job.params)) {
        malformed = std::move(*why);
    }
    return job;
}
std::optional<job_lease> job_queue::complete_and_claim(const job_lease& job) {
    const std::int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::steady_clock::now().time_since_epoch())
                                 .count();
    std::int64_t last = last_promote_ns_.load();
    const bool promote = now - last >= std::chrono::nanoseconds(options_.delayed_poll).count() &&
                         last_promote_ns_.compare_exchange_strong(last, now);
    const auto reply =
        run(complete_claim_,
            {keys_.job(job.id), keys_.running(job.platform), keys_.lock(job.platform),
             keys_.queue(job.platform), keys_.delayed(job.platform), keys_.dead(job.platform),
             keys_.paused(job.platform)},
            {job.token, options_.prefix, std::string(to_string(options_.lock)), job.worker_id,
             std::to_string(options_.lease.count()), done_ttl(), promote ? "1" : "0", random_id(),
             "0", dead_ttl()},
            "complete " + job.id + " and claim the next", 8);
    std::string malformed;
    auto next = parse_claim(reply, job.worker_id, malformed);
    if (!next || malformed.empty()) return next;
    dead_letter(*next, "malformed_job: " + malformed);
    return claim(job.platform, job.worker_id);
}

void job_queue::renew(job_lease& job) {
    const auto reply = run(
        renew_, {keys_.job(job.id), keys_.running(job.platform), keys_.lock(job.platform)},
        {job.token, std::to_string(options_.lease.count()), std::string(to_string(options_.lock)),
         job.worker_id, options_.prefix, pulse_gap_ms(), std::to_string(options_.lease.count())},
        "renew " + job.id);
    job.lease_deadline_ms = reply.as_integer();
}

std::size_t job_queue::checkpoint(const job_lease& job, const std::string& node_id,
                                  std::size_t index, std::size_t total) {
    const auto reply = run(checkpoint_, {keys_.job(job.id), keys_.checkpoint(job.id, node_id)},
                           {job.token, std::to_string(index), std::to_string(total),
                            std::to_string(options_.failures_ttl.count())},
                           "checkpoint " + job.id + " item " + std::to_string(index));
    return static_cast<std::size_t>(reply.as_integer());
}

std::size_t job_queue::record_failure(const job_lease& job, const std::string& node_id,
                                      std::size_t index, std::size_t total, const std::string& item,
                                      const std::string& error_text) {
    const nlohmann::json entry = {
        {"item", item}, {"index", index}, {"error", error_text}, {"node", node_id}};
    return store_outcome(job, node_id, index, total, "failed",
                         entry.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                         "record failure of " + job.id + " item " + item);
}

std::size_t job_queue::store_result(const job_lease& job, const std::string& node_id,
                                    std::size_t index, std::size_t total,
                                    const nlohmann::json& result, const cache_entry* cache) {
    return store_outcome(job, node_id, index, total, "ok",
                         result.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                         "store result of " + job.id + " item " + std::to_string(index), cache);
}

std::vector<std::optional<std::string>>
job_queue::read_cache(const std::string& platform, const std::vector<std::string>& items) {
    std::vector<std::optional<std::string>> out;
    out.reserve(items.size());
    for (std::size_t at = 0; at < items.size(); at += 500) {
        std::vector<std::string> argv = {"MGET"};
        for (std::size_t i = at; i < std::min(items.size(), at + 500); ++i) {
            argv.push_back(keys_.cache(platform, items[i]));
        }
        const auto reply = command(argv);
        if (reply.type != redis_reply::kind::array || reply.elements.size() != argv.size() - 1) {
            throw error(errc::redis_error, "read cache of " + platform + ": not an MGET reply");
        }
        for (const auto& e : reply.elements) {
            out.push_back(e.is_nil() ? std::nullopt : std::optional<std::string>(e.as_string()));
        }
    }
    return out;
}

std::size_t job_queue::store_outcome(const job_lease& job, const std::string& node_id,
                                     std::size_t index, std::size_t total, const char* kind,
                                     const std::string& payload, const std::string& what,
                                     const cache_entry* cache) {
    std::vector<std::string> k = {keys_.job(job.id), keys_.checkpoint(job.id, node_id),
                                  keys_.results(job.id), keys_.failures(job.id)};
    std::vector<std::string> args = {job.token,
                                     std::to_string(index),
                                     std::to_string(total),
                                     std::to_string(options_.failures_ttl.count()),
                                     std::to_string(options_.results_ttl.count()),
                                     kind,
                                     payload};
    if (cache != nullptr && cache->ttl.count() > 0) {
        k.push_back(keys_.cache(job.platform, cache->item));
        args.push_back(std::to_string(cache->ttl.count()));
        args.push_back(cache->value);
    }
    const auto reply = run(store_outcome_, k, args, what);
    return static_cast<std::size_t>(reply.as_integer());
}

bool job_queue::release(const job_lease& job) {
    const auto reply =
        run(release_,
            {keys_.job(job.id), keys_.running(job.platform), keys_.queue(job.platform),
             keys_.lock(job.platform)},
            {job.token, std::string(to_string(options_.lock)), job.worker_id}, "release " + job.id);
    return reply.str == "released";
}

std::string job_queue::pulse_gap_ms() const {
    // Every busy worker renews every lease/3 and every idle one heartbeats each poll: a silence
    // of 2/3 of a lease (and at least outage_gap) is an outage, not a quiet moment.
    return std::to_string(std::max(options_.lease.count() * 2 / 3, options_.outage_gap.count()));
}

checkpoint_state job_queue::load_checkpoint(const std::string& job_id, const std::string& node_id) {
    const auto reply = command(
        {"HMGET", keys_.checkpoint(job_id, node_id), "processed_index", "total", "done_beyond"});
    checkpoint_state state;
    if (reply.elements.size() != 3 || reply.elements[0].is_nil()) return state;
    state.processed_index = static_cast<std::size_t>(reply.elements[0].as_integer());
    state.total =
        reply.elements[1].is_nil() ? 0 : static_cast<std::size_t>(reply.elements[1].as_integer());
    if (!reply.elements[2].is_nil()) {
        const auto done = nlohmann::json::parse(reply.elements[2].as_string(), nullptr, false);
        if (done.is_array()) {
            for (const auto& v : done) {
                if (v.is_number()) state.done_beyond.insert(v.get<std::size_t>());
            }
        }
    }
    return state;
}

void job_queue::complete(const job_lease& job) {
    run(complete_, {keys_.job(job.id), keys_.running(job.platform), keys_.lock(job.platform)},
        {job.token, options_.prefix, std::string(to_string(options_.lock)), job.worker_id,
         done_ttl()},
        "complete " + job.id);
}

retry_decision job_queue::fail(const job_lease& job, const std::string& error_text) {
    const auto reply =
        run(fail_job_,
            {keys_.job(job.id), keys_.running(job.platform), keys_.delayed(job.platform),
             keys_.dead(job.platform), keys_.lock(job.platform)},
            {job.token, error_text, std::to_string(options_.retry_backoff.count()),
             std::to_string(options_.retry_backoff_max.count()), std::to_string(jitter()),
             options_.prefix, std::string(to_string(options_.lock)), job.worker_id, dead_ttl()},
            "fail " + job.id);
    retry_decision d;
    if (reply.elements.size() == 2) {
        d.dead = reply.elements[0].as_string() == "dead";
        d.backoff = milliseconds(reply.elements[1].as_integer());
    }
    return d;
}

void job_queue::dead_letter(const job_lease& job, const std::string& reason) {
    run(dead_letter_,
        {keys_.job(job.id), keys_.running(job.platform), keys_.dead(job.platform),
         keys_.lock(job.platform)},
        {job.token, reason, options_.prefix, std::string(to_string(options_.lock)), job.worker_id,
         dead_ttl(), job.id},
        "dead-letter " + job.id);
}

std::pair<std::int64_t, std::int64_t> job_queue::reap_stalled(const std::string& platform) {
    const auto reply =
        run(reap_, {keys_.running(platform), keys_.queue(platform), keys_.dead(platform)},
            {std::to_string(options_.max_stalled), options_.prefix, "1000", dead_ttl(),
             pulse_gap_ms(), std::to_string(options_.lease.count())},
            "reap stalled jobs of " + platform);
    if (reply.elements.size() < 2) return {0, 0};
    return {reply.elements[0].as_integer(), reply.elements[1].as_integer()};
}

std::vector<failure_record> job_queue::failures(const std::string& job_id) {
    const auto reply = command({"LRANGE", keys_.failures(job_id), "0", "-1"});
    std::vector<failure_record> out;
    for (const auto& e : reply.elements) {
        const auto j = nlohmann::json::parse(e.as_string(), nullptr, false);
        if (!j.is_object()) continue;
        failure_record r;
        r.index = j.value("index", std::size_t{0});
        r.item = j.value("item", "");
        r.error = j.value("error", "");
        r.timestamp_ms = j.value("timestamp", std::int64_t{0});
        out.push_back(std::move(r));
    }
    return out;
}

std::int64_t job_queue::failures_ttl_seconds(const std::string& job_id) {
    return command({"TTL", keys_.failures(job_id)}).as_integer();
}

group_progress job_queue::progress(const std::string& group_id) {
    const auto reply = command({"HMGET", keys_.batch_group(group_id), "total", "completed",
                                "failed", "progress", "first", "enqueuing"});
    if (reply.elements.size() != 6 || reply.elements[0].is_nil()) {
        throw error(errc::not_found, "batch group " + group_id + " does not exist");
    }
    group_progress g;
    g.total = reply.elements[0].as_integer();
    g.completed = reply.elements[1].is_nil() ? 0 : reply.elements[1].as_integer();
    g.failed = reply.elements[2].is_nil() ? 0 : reply.elements[2].as_integer();
    g.progress = reply.elements[3].is_nil() ? 0 : std::stod(reply.elements[3].as_string());
    g.first = reply.elements[4].is_nil() ? 0 : reply.elements[4].as_integer();
    g.enqueuing = !reply.elements[5].is_nil();
    // What callers loop over: a damaged hash must not make them walk 10^15 job ids.
    if (g.total < 0 || g.total > 100000000 || g.first < 0 || g.first > (std::int64_t{1} << 50)) {
        throw error(errc::malformed_job, "batch group " + group_id + " has an unreadable total (" +
                                             std::to_string(g.total) + ") or first job (" +
                                             std::to_string(g.first) + ")");
    }
    return g;
}

std::map<std::string, std::string> job_queue::job_fields(const std::string& job_id) {
    const auto reply = command({"HGETALL", keys_.job(job_id)});
    std::map<std::string, std::string> out;
    for (std::size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
        out[reply.elements[i].as_string()] = reply.elements[i + 1].as_string();
    }
    return out;
}

platform_counts job_queue::counts(const std::string& platform) {
    // One script: one round trip, and the four read at one moment (see counts.lua).
    const auto reply = run(counts_,
                           {keys_.queue(platform), keys_.running(platform), keys_.delayed(platform),
                            keys_.dead(platform)},
                           {}, "counts of " + platform);
    if (reply.elements.size() != 4) {
        throw error(errc::redis_error, "counts of " + platform + ": unexpected reply");
    }
    platform_counts c;
    c.queued = reply.elements[0].as_integer();
    c.running = reply.elements[1].as_integer();
    c.delayed = reply.elements[2].as_integer();
    c.dead = reply.elements[3].as_integer();
    return c;
}

void job_queue::heartbeat(const std::string& worker_id, const nlohmann::json& status) {
    // Status strings may carry Chromium's own output: invalid UTF-8 is replaced, not thrown.
    run(heartbeat_, {keys_.workers(), keys_.workers_seen()},
        {worker_id, status.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
         std::to_string(options_.worker_ttl.count()), options_.prefix, pulse_gap_ms(),
         std::to_string(options_.lease.count())},
        "heartbeat of " + worker_id);
}

std::vector<worker_entry> job_queue::workers() {
    const auto seen = command({"ZREVRANGE", keys_.workers_seen(), "0", "-1", "WITHSCORES"});
    std::vector<worker_entry> out;
    for (std::size_t i = 0; i + 1 < seen.elements.size(); i += 2) {
        worker_entry w;
        w.id = seen.elements[i].as_string();
        w.last_seen_ms = static_cast<std::int64_t>(std::stod(seen.elements[i + 1].as_string()));
        const auto status = command({"HGET", keys_.workers(), w.id});
        w.status = status.is_nil() ? nlohmann::json()
                                   : nlohmann::json::parse(status.as_string(), nullptr, false);
        out.push_back(std::move(w));
    }
    return out;
}

void job_queue::forget_worker(const std::string& worker_id) {
    command({"HDEL", keys_.workers(), worker_id});
    command({"ZREM", keys_.workers_seen(), worker_id});
}

} // namespace rotor::queue
