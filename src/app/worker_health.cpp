#include "app/worker_health.hpp"

#include "nodes/politeness.hpp"

#include <unistd.h>

#include <cstdio>
#include <fstream>

namespace rotor::app {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

double worker_rss_bytes() {
    std::ifstream in("/proc/self/statm");
    long long pages = 0, resident = 0;
    if (!(in >> pages >> resident)) return 0;
    return static_cast<double>(resident) * static_cast<double>(::sysconf(_SC_PAGESIZE));
}

http_answer healthz(const worker_view& w) {
    const auto h = w.loop->health_now();
    const auto s = w.loop->stats();
    nlohmann::json body = {
        {"worker", w.worker_id},
        {"platform", w.config->platform},
        {"uptime_s",
         duration_cast<milliseconds>(std::chrono::steady_clock::now() - w.started).count() /
             1000.0},
        {"job", h.job},
        {"since_progress_s", h.since_progress.count() / 1000.0},
        {"stall_timeout_s", w.stall_timeout.count() / 1000.0},
        {"items_ok", s.items_ok},
        {"job_items",
         {{"done", w.loop->item_stats().job_items_done.load()},
          {"total", w.loop->item_stats().job_items_total.load()}}},
        {"items_failed", s.items_failed},
        {"jobs_completed", s.jobs_completed},
        {"worker_rss_mb", worker_rss_bytes() / (1024.0 * 1024.0)}};
    std::string reason;
    if (!h.job.empty() && h.since_progress > w.stall_timeout) {
        reason = "stalled: no item of job " + h.job + " finished for " +
                 std::to_string(h.since_progress.count() / 1000) + " s (stall_timeout " +
                 std::to_string(w.stall_timeout.count() / 1000) + " s)";
    }
    if (w.pool != nullptr) {
        const auto p = w.pool->stats();
        body["pool"] = {{"healthy", p.healthy},
                        {"unhealthy_reason", p.unhealthy_reason},
                        {"browsers", p.browsers.size()},
                        {"shm", p.shm},
                        {"pss_mb", p.pss_mb}};
        if (!p.healthy && reason.empty())
            reason = "the browser pool cannot serve: " + p.unhealthy_reason;
    }
    body["status"] = reason.empty() ? "ok" : "unhealthy";
    if (!reason.empty()) body["reason"] = reason;
    return {reason.empty() ? 200 : 503, "application/json",
            body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n"};
}

http_answer readyz(const worker_view& w) {
    const auto h = w.loop->health_now();
    std::string reason;
    if (!h.redis_ok) reason = "Redis unreachable at the loop's last call";
    if (w.pool != nullptr && reason.empty()) {
        const auto p = w.pool->stats();
        if (!p.healthy) reason = "the browser pool cannot serve: " + p.unhealthy_reason;
    }
    nlohmann::json body = {{"ready", reason.empty()}, {"platform", w.config->platform}};
    if (!reason.empty()) body["reason"] = reason;
    return {reason.empty() ? 200 : 503, "application/json",
            body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n"};
}

http_answer metrics(const worker_view& w) {
    const auto s = w.loop->stats();
    const auto h = w.loop->health_now();
    const std::string p = w.config->platform;
    metrics_text m;
    m.family("rotor_items_total", "counter", "Items that ended, by outcome.");
    m.sample("rotor_items_total", {{"platform", p}, {"outcome", "ok"}},
             static_cast<double>(s.items_ok));
    m.sample("rotor_items_total", {{"platform", p}, {"outcome", "gone"}},
             static_cast<double>(s.items_gone));
    m.sample("rotor_items_total", {{"platform", p}, {"outcome", "failed"}},
             static_cast<double>(s.items_failed));
    m.sample("rotor_items_total", {{"platform", p}, {"outcome", "cached"}},
             static_cast<double>(s.items_cached));
    m.family("rotor_item_retries_total", "counter", "Attempts after an item's first.");
    m.sample("rotor_item_retries_total", {{"platform", p}}, static_cast<double>(s.items_retried));
    m.family("rotor_items_poisoned_total", "counter",
             "Items quarantined after crashing their renderer.");
    m.sample("rotor_items_poisoned_total", {{"platform", p}},
             static_cast<double>(s.items_poisoned));
    m.family("rotor_jobs_total", "counter", "Jobs this worker ended, by result.");
    m.sample("rotor_jobs_total", {{"platform", p}, {"result", "completed"}},
             static_cast<double>(s.jobs_completed));
    m.sample("rotor_jobs_total", {{"platform", p}, {"result", "retried"}},
             static_cast<double>(s.jobs_failed - s.jobs_dead));
    m.sample("rotor_jobs_total", {{"platform", p}, {"result", "dead"}},
             static_cast<double>(s.jobs_dead));
    m.sample("rotor_jobs_total", {{"platform", p}, {"result", "released"}},
             static_cast<double>(s.jobs_released));
    m.sample("rotor_jobs_total", {{"platform", p}, {"result", "abandoned"}},
             static_cast<double>(s.jobs_abandoned));
    m.family("rotor_jobs_claimed_total", "counter", "Jobs this worker claimed.");
    m.sample("rotor_jobs_claimed_total", {{"platform", p}}, static_cast<double>(s.jobs_claimed));

    // Items from their start to their record (retries and waits included).
    const auto& is = w.loop->item_stats();
    m.family("rotor_item_duration_seconds", "histogram",
             "How long items took from their start to their record.");
    std::uint64_t cumulative = 0;
    for (std::size_t b = 0; b < is.latency_buckets.size(); ++b) {
        cumulative += is.latency_buckets[b].load();
        char le[32] = "+Inf";
        if (b < nodes::item_latency_bounds.size())
            std::snprintf(le, sizeof le, "%g", nodes::item_latency_bounds[b]);
        m.sample("rotor_item_duration_seconds_bucket", {{"platform", p}, {"le", le}},
                 static_cast<double>(cumulative));
    }
    m.sample("rotor_item_duration_seconds_sum", {{"platform", p}},
             static_cast<double>(is.latency_sum_us.load()) / 1e6);
    m.sample("rotor_item_duration_seconds_count", {{"platform", p}},
             static_cast<double>(cumulative));

    const auto d = w.loop->queue_depth();
    if (d.at_ms > 0) {
        m.family("rotor_queue_jobs", "gauge",
                 "Jobs of the platform's queue by state, as last read (idle polls, renewals).");
        m.sample("rotor_queue_jobs", {{"platform", p}, {"state", "queued"}},
                 static_cast<double>(d.counts.queued));
        m.sample("rotor_queue_jobs", {{"platform", p}, {"state", "running"}},
                 static_cast<double>(d.counts.running));
        m.sample("rotor_queue_jobs", {{"platform", p}, {"state", "delayed"}},
                 static_cast<double>(d.counts.delayed));
        m.sample("rotor_queue_jobs", {{"platform", p}, {"state", "dead"}},
                 static_cast<double>(d.counts.dead));
    }
    const auto& pc = nodes::process_politeness_counters();
    m.family("rotor_rate_limit_waits_total", "counter",
             "Times an item waited for the platform's shared rate.");
    m.sample("rotor_rate_limit_waits_total", {{"platform", p}},
             static_cast<double>(pc.rate_waits.load()));
    m.family("rotor_rate_limit_wait_seconds_total", "counter",
             "Time items waited for the platform's shared rate.");
    m.sample("rotor_rate_limit_wait_seconds_total", {{"platform", p}},
             static_cast<double>(pc.rate_wait_ms.load()) / 1000.0);
    m.family("rotor_cooldowns_total", "counter",
             "Cooldowns this worker started (the platform pushed back: 429, a block page).");
    m.sample("rotor_cooldowns_total", {{"platform", p}}, static_cast<double>(pc.cooldowns.load()));
    m.family("rotor_redis_reconnects_total", "counter",
             "Times a Redis connection of the loop was re-established after a failure.");
    m.sample("rotor_redis_reconnects_total", {}, static_cast<double>(w.loop->redis_reconnects()));

    m.family("rotor_job_active", "gauge", "1 while a job runs.");
    m.sample("rotor_job_active", {{"platform", p}}, h.job.empty() ? 0 : 1);
    m.family("rotor_seconds_since_progress", "gauge",
             "Seconds since the running job started or an item of it ended (0 when idle).");
    m.sample("rotor_seconds_since_progress", {{"platform", p}},
             static_cast<double>(h.since_progress.count()) / 1000.0);
    m.family("rotor_redis_up", "gauge", "1 when the loop's last Redis call went through.");
    m.sample("rotor_redis_up", {{"platform", p}}, h.redis_ok ? 1 : 0);
    m.family("rotor_worker_rss_bytes", "gauge", "Resident memory of the worker process.");
    m.sample("rotor_worker_rss_bytes", {}, worker_rss_bytes());
    m.family("rotor_uptime_seconds", "gauge", "Seconds since the worker started.");
    m.sample(
        "rotor_uptime_seconds", {},
        static_cast<double>(
            duration_cast<milliseconds>(std::chrono::steady_clock::now() - w.started).count()) /
            1000.0);
    if (w.pool != nullptr) {
        const auto ps = w.pool->stats();
        m.family("rotor_rotations_total", "counter", "Page and context rotations.");
        m.sample("rotor_rotations_total", {{"kind", "page"}},
                 static_cast<double>(ps.page_rotations));
        m.sample("rotor_rotations_total", {{"kind", "context"}},
                 static_cast<double>(ps.context_rotations));
        m.family("rotor_browser_recycles_total", "counter",
                 "Browsers replaced on purpose, by cause.");
        m.sample("rotor_browser_recycles_total", {{"cause", "count"}},
                 static_cast<double>(ps.recycles_by_count));
        m.sample("rotor_browser_recycles_total", {{"cause", "memory"}},
                 static_cast<double>(ps.recycles_by_memory));
        m.sample("rotor_browser_recycles_total", {{"cause", "hang"}},
                 static_cast<double>(ps.recycles_by_hang));
        m.family("rotor_browser_restarts_total", "counter", "Browsers relaunched after they died.");
        m.sample("rotor_browser_restarts_total", {}, static_cast<double>(ps.restarts));
        m.family("rotor_chromium_pss_bytes", "gauge",
                 "Proportional set size of every Chromium process, last sample.");
        m.sample("rotor_chromium_pss_bytes", {}, ps.pss_mb * 1024 * 1024);
        m.family("rotor_pool_healthy", "gauge", "1 while the pool can launch and serve pages.");
        m.sample("rotor_pool_healthy", {}, ps.healthy ? 1 : 0);
    }
    return {200, "text/plain; version=0.0.4; charset=utf-8", m.text()};
}

} // namespace rotor::app
