#include "nodes/job_loop.hpp"

#include <spdlog/spdlog.h>

#include <unistd.h>

#include <cmath>
#include <condition_variable>
#include <system_error>
#include <thread>

namespace rotor::nodes {

job_loop::job_loop(const platform_config& config, pool::browser_pool* pool,
                   queue::redis_options redis, queue::queue_options queue_options,
                   loop_options options)
    : config_(config), pool_(pool), redis_(std::move(redis)),
      queue_options_(std::move(queue_options)), options_(std::move(options)),
      queue_(redis_, queue_options_), blocking_(config.concurrency + 2) {
    // The limiter also carries cooldowns (a 429 pauses every worker), with or without a rate.
    limiter_.emplace(redis_, queue_options_.prefix);
    renew_queue_ = std::make_unique<queue::job_queue>(redis_, queue_options_);
    std::vector<queue::job_queue*> qs;
    for (std::size_t i = 0; i < std::min<std::size_t>(config_.concurrency, 4); ++i) {
        outcome_queues_.push_back(std::make_unique<queue::job_queue>(redis_, queue_options_));
        qs.push_back(outcome_queues_.back().get());
    }
    scan_services services{pool_, limiter_ ? &*limiter_ : nullptr, &blocking_};
    flow_ = std::make_unique<workflow>(config_, services, &redis_);
    if (flow_->scanner() != nullptr && pool_ == nullptr) {
        throw std::invalid_argument(config_.source + ": a scan_product node needs a browser pool");
    }
    executor_ = std::make_unique<item_executor>(config_, *flow_, std::move(qs), blocking_);
}

job_loop::~job_loop() {
    executor_.reset();
    blocking_.join();
}

loop_stats job_loop::stats() const {
    loop_stats s;
    {
        std::lock_guard lock(stats_mutex_);
        s = stats_;
    }
    const auto& e = executor_->stats();
    s.items_ok = e.items_ok;
    s.items_gone = e.items_gone;
    s.items_failed = e.items_failed;
    s.items_retried = e.items_retried;
    s.items_poisoned = e.items_poisoned;
    s.items_cached = e.items_cached;
    return s;
}

std::size_t job_loop::jobs_ended() const {
    std::lock_guard lock(stats_mutex_);
    return stats_.jobs_completed + stats_.jobs_failed;
}

bool job_loop::reached_max_jobs() const {
    return options_.max_jobs > 0 && jobs_ended() >= options_.max_jobs;
}

bool job_loop::one_before_max_jobs() const {
    // finish() completes the job it holds: with max_jobs - 1 ended, that one is the last.
    return options_.max_jobs > 0 && jobs_ended() + 1 >= options_.max_jobs;
}

job_loop::health job_loop::health_now() const {
    health h;
    {
        std::lock_guard lock(job_mutex_);
        h.job = current_job_;
    }
    const auto now = std::chrono::duration_cast<milliseconds>(
                         std::chrono::steady_clock::now().time_since_epoch())
                         .count();
    const auto last = std::max(job_started_ms_.load(), executor_->stats().last_item_ms.load());
    h.since_progress = milliseconds(h.job.empty() ? 0 : std::max<std::int64_t>(0, now - last));
    h.redis_ok = redis_ok_;
    return h;
}

nlohmann::json job_loop::heartbeat_status(const std::string& job_id) const {
    const auto s = stats();
    nlohmann::json status = {{"platform", config_.platform},
                             {"pid", ::getpid()},
                             {"job", job_id},
                             {"at_ms", std::chrono::duration_cast<milliseconds>(
                                           std::chrono::system_clock::now().time_since_epoch())
                                           .count()},
                             {"jobs_completed", s.jobs_completed},
                             {"items_ok", s.items_ok},
                             {"items_gone", s.items_gone},
                             {"items_failed", s.items_failed},
                             {"items_cached", s.items_cached}};
    if (pool_ != nullptr) {
        const auto p = pool_->stats();
        status["pool"] = {{"healthy", p.healthy},
                          {"unhealthy_reason", p.unhealthy_reason},
                          {"shm", p.shm},
                          {"browsers", p.browsers.size()},
                          {"pss_mb", std::lround(p.pss_mb)},
                          {"leases_active", p.leases_active},
                          {"recycles_by_count", p.recycles_by_count},
                          {"recycles_by_memory", p.recycles_by_memory},
                          {"recycles_by_hang", p.recycles_by_hang},
                          {"restarts", p.restarts},
                          {"forced_closes", p.forced_closes}};
    }
    return status;
}

void job_loop::run() {
    struct leave_registry { // a stopped worker is gone: it leaves the registry on its way out
        job_loop& l;
        ~leave_registry() {
            if (!l.stopping_) return;
            try {
                l.queue_.forget_worker(l.options_.worker_id);
            } catch (const queue::error& e) {
                spdlog::warn("worker {}: leaving the registry: {}", l.options_.worker_id, e.what());
            }
        }
    } leave{*this};
    std::optional<queue::job_lease> next;
    auto last_chores = std::chrono::steady_clock::time_point{};
    while (!stopping_) {
        if (reached_max_jobs()) {
            spdlog::info("worker {}: {} job(s) ended (--max-jobs): stopping", options_.worker_id,
                         options_.max_jobs);
            stopping_ = true;
            break;
        }
        try {
            if (std::chrono::steady_clock::now() - last_chores >= options_.idle_wait) {
                last_chores = std::chrono::steady_clock::now();
                queue_.heartbeat(options_.worker_id, heartbeat_status(""));
                queue_.reap_stalled(config_.platform);
                read_depth(queue_);
                redis_ok_ = true;
            }
            if (!next && fault_backoff_.count() > 0) {
                // The last job was given back for a fault of this worker: wait before claiming
                // again, and not at all while the pool says it cannot serve.
                // In slices: a stop must not wait out a 30 s backoff.
                const auto until = std::chrono::steady_clock::now() + fault_backoff_;
                while (!stopping_ && std::chrono::steady_clock::now() < until) {
                    std::this_thread::sleep_for(milliseconds(100));
                }
                if (stopping_) break;
                if (pool_ != nullptr && !pool_->stats().healthy) {
                    if (options_.drain) {
                        // A one-shot run cannot wait for a pool that may never heal: the job
                        // went back for a healthy worker; this one ends.
                        spdlog::error("worker {}: the browser pool cannot serve ({}); draining "
                                      "ends",
                                      options_.worker_id, pool_->stats().unhealthy_reason);
                        return;
                    }
                    last_chores = {};
                    continue;
                }
            }
            if (!next) {
                next = queue_.claim(config_.platform, options_.worker_id);
                count_claim(next);
            }
            if (!next) {
                if (options_.drain) {
                    const auto c = queue_.counts(config_.platform);
                    if (c.queued == 0 && c.delayed == 0 && c.running == 0) return;
                }
                std::this_thread::sleep_for(options_.idle_wait);
                continue;
            }
            auto job = std::move(*next);
            next.reset();
            if (run_job(job)) {
                next = finish(job, /*claim_next=*/!stopping_ && !one_before_max_jobs());
                count_claim(next);
            } else if (!stopping_) {
                last_chores = {};
            }
        } catch (const queue::error& e) {
            if (e.kind() == queue::errc::redis_unavailable) redis_ok_ = false;
            spdlog::error("worker {}: {}", options_.worker_id, e.what());
            std::this_thread::sleep_for(options_.idle_wait);
        } catch (const std::exception& e) {
            // Not a queue error (run_job failed the job, or gave it back for a fault of this
            // worker): the worker backs off instead of ending the process.
            spdlog::error("worker {}: {}", options_.worker_id, e.what());
            fault_backoff_ =
                std::min(milliseconds(30000), std::max(options_.idle_wait, fault_backoff_ * 2));
        }
    }
    if (next) {
        try {
            queue_.release(*next);
        } catch (const queue::error& e) {
            spdlog::warn("worker {}: releasing {}: {}", options_.worker_id, next->id, e.what());
        }
    }
}

bool job_loop::run_one() {
    queue_.heartbeat(options_.worker_id, heartbeat_status(""));
    queue_.reap_stalled(config_.platform);
    auto job = queue_.claim(config_.platform, options_.worker_id);
    count_claim(job);
    if (!job) return false;
    if (run_job(*job)) finish(*job, /*claim_next=*/false);
    return true;
}

std::optional<queue::job_lease> job_loop::finish(const queue::job_lease& job, bool claim_next) {
    try {
        std::optional<queue::job_lease> next;
        if (claim_next)
            next = queue_.complete_and_claim(job);
        else
            queue_.complete(job);
        std::lock_guard lock(stats_mutex_);
        ++stats_.jobs_completed;
        return next;
    } catch (const queue::error& e) {
        spdlog::warn("worker {}: completing {}: {}", options_.worker_id, job.id, e.what());
        if (e.kind() != queue::errc::lease_lost) throw;
        return std::nullopt;
    }
}

void job_loop::read_depth(queue::job_queue& q) noexcept {
    try {
        const auto c = q.counts(config_.platform);
        std::lock_guard lock(depth_mutex_);
        depth_.counts = c;
        depth_.at_ms = std::chrono::duration_cast<milliseconds>(
                           std::chrono::steady_clock::now().time_since_epoch())
                           .count();
    } catch (const std::exception&) {
        // Redis away: the last reading stays (its age says how old it is)
    }
}

job_loop::depth job_loop::queue_depth() const {
    std::lock_guard lock(depth_mutex_);
    return depth_;
}

std::uint64_t job_loop::redis_reconnects() const noexcept {
    std::uint64_t n = queue_.reconnects() + (renew_queue_ ? renew_queue_->reconnects() : 0);
    for (const auto& q : outcome_queues_) n += q->reconnects();
    return n;
}

void job_loop::count_claim(const std::optional<queue::job_lease>& job) {
    if (!job) return;
    {
        // Held from its claim: a forced stop gives back a job not started yet too (a stale
        // lease left here is harmless: its release is refused).
        std::lock_guard lock(job_mutex_);
        current_lease_ = *job;
    }
    std::lock_guard lock(stats_mutex_);
    ++stats_.jobs_claimed;
}

bool job_loop::release_now(milliseconds budget) noexcept {
    try {
        std::optional<queue::job_lease> lease;
        {
            std::lock_guard lock(job_mutex_);
            lease = current_lease_;
        }
        if (!lease) return false;
        auto quick = redis_;
        quick.cutoff.reset();
        quick.retry_for = milliseconds(0);
        quick.connect_timeout = std::max(milliseconds(50), budget / 2);
        quick.command_timeout = std::max(milliseconds(50), budget / 2);
        queue::job_queue q(quick, queue_options_);
        const bool released = q.release(*lease);
        spdlog::warn("worker {}: job {} {}", options_.worker_id, lease->id,
                     released ? "given back with its checkpoint (items in flight are redone)"
                              : "is not running under this worker's lease any more (completed, "
                                "released or taken over)");
        return released;
    } catch (const std::exception& e) {
        spdlog::error("worker {}: giving the job back: {} (its lease expires instead)",
                      options_.worker_id, e.what());
        return false;
    }
}

void job_loop::give_back(const queue::job_lease& job) {
    try {
        queue_.release(job);
        std::lock_guard lock(stats_mutex_);
        ++stats_.jobs_released;
    } catch (const queue::error& e) {
        // Redis away or the lease gone: the lease expires and the job is reaped (or it is
        // another worker's already).
        spdlog::warn("worker {}: releasing {}: {}", options_.worker_id, job.id, e.what());
    }
}

bool job_loop::run_job(const queue::job_lease& job) {
    // What is thrown after the claim (the renewer is stopped and joined by then): Redis away
    // past its retry window, or the lease gone, leave the job to its lease (a give-back would
    // wait out the same window again; an outage is held off the reaper). Anything else (a
    // checkpoint Redis cannot read back, a bug) fails the job with the reason: an attempt is
    // counted, and a job that fails so every time ends dead instead of being given back and
    // claimed again for ever.
    const auto fail_with = [&](const std::string& why) {
        try {
            const auto d = queue_.fail(job, "worker error: " + why);
            spdlog::error("worker {}: job {} failed ({}): worker error: {}", options_.worker_id,
                          job.id, d.dead ? "dead-lettered" : "retried later", why);
            std::lock_guard lock(stats_mutex_); // as run_claimed's own failures (--max-jobs)
            ++stats_.jobs_failed;
            if (d.dead) ++stats_.jobs_dead;
        } catch (const queue::error& e) {
            spdlog::warn("worker {}: failing {}: {}", options_.worker_id, job.id, e.what());
        }
    };
    try {
        return run_claimed(job);
    } catch (const queue::error& e) {
        if (e.kind() != queue::errc::redis_unavailable && e.kind() != queue::errc::lease_lost) {
            fail_with(e.what());
        }
        throw;
    } catch (const std::system_error&) {
        give_back(job); // this worker's fault (no thread, no resource): no attempt counted
        throw;
    } catch (const std::bad_alloc&) {
        give_back(job);
        throw;
    } catch (const std::exception& e) {
        fail_with(e.what());
        throw;
    }
}

bool job_loop::run_claimed(const queue::job_lease& job) {
    const auto total = job.items().size();
    const auto cp = queue_.load_checkpoint(job.id, flow_->checkpoint_node());
    if (cp.total != 0 && cp.total != total) {
        spdlog::warn("worker {}: job {} has {} items and a checkpoint of {}: its items changed "
                     "since; every item not marked done is run",
                     options_.worker_id, job.id, total, cp.total);
    }
    // Bounded by the job's own items: a checkpoint of fewer would end the job early, one of
    // more would point past its items.
    const std::vector<std::size_t> pending = cp.pending(total);
    {
        std::lock_guard lock(stats_mutex_);
        stats_.items_skipped += total - pending.size();
    }
    spdlog::info("worker {}: job {} ({} items, {} to do{})", options_.worker_id, job.id, total,
                 pending.size(), pending.size() < total ? ", resumed from its checkpoint" : "");

    job_started_ms_ = std::chrono::duration_cast<milliseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
    {
        std::lock_guard lock(job_mutex_); // published after its start time (no false stall)
        current_job_ = job.id;
        current_lease_ = job;
    }
    struct idle_again {
        job_loop& l;
        ~idle_again() {
            std::lock_guard lock(l.job_mutex_);
            l.current_job_.clear();
        }
    } idle{*this};
    std::atomic<bool> lease_lost{false};
    std::mutex renew_mutex;
    std::condition_variable renew_cv;
    bool finished = false;
    std::thread renewer([&] {
        auto lease = job;
        std::unique_lock lock(renew_mutex);
        while (!renew_cv.wait_for(lock, queue_options_.lease / 3, [&] { return finished; })) {
            try {
                renew_queue_->renew(lease);
                renew_queue_->heartbeat(options_.worker_id, heartbeat_status(job.id));
                read_depth(*renew_queue_);
                redis_ok_ = true;
            } catch (const queue::error& e) {
                if (e.kind() == queue::errc::lease_lost) {
                    lease_lost = true;
                    spdlog::warn("worker {}: {}", options_.worker_id, e.what());
                    return;
                }
                if (e.kind() == queue::errc::redis_unavailable) redis_ok_ = false;
                spdlog::warn("worker {}: renewing {}: {}", options_.worker_id, job.id, e.what());
            } catch (const std::exception& e) {
                spdlog::warn("worker {}: renewing {}: {}", options_.worker_id, job.id, e.what());
            }
        }
    });
    job_run r;
    {
        // Stops and joins the renewer however the run ends, a throw included (a joinable thread
        // destroyed would end the process).
        struct stop_renewer {
            std::mutex& m;
            std::condition_variable& cv;
            bool& finished;
            std::thread& t;
            ~stop_renewer() {
                {
                    std::lock_guard lock(m);
                    finished = true;
                }
                cv.notify_all();
                t.join();
            }
        } stop{renew_mutex, renew_cv, finished, renewer};
        r = executor_->run(job, pending, stopping_, lease_lost);
    }

    if (r.lease_lost || lease_lost) {
        std::lock_guard lock(stats_mutex_);
        ++stats_.jobs_abandoned;
        return false;
    }
    if (!r.worker_fault.empty()) {
        // Not the job's fault: it goes back (no attempt counted) for a healthy worker, and this
        // one backs off before claiming again.
        spdlog::error("worker {}: job {} given back: {}", options_.worker_id, job.id,
                      r.worker_fault);
        give_back(job);
        fault_backoff_ =
            std::min(milliseconds(30000), std::max(options_.idle_wait, fault_backoff_ * 2));
        return false;
    }
    fault_backoff_ = milliseconds(0);
    if (r.dead_letter) {
        // on_item_failure: fail_job. The failed item is checkpointed (recorded), so a retry would
        // skip it and complete: the job goes to the dead set with the reason instead.
        queue_.dead_letter(job, r.job_error);
        spdlog::error("worker {}: job {} dead-lettered: {}", options_.worker_id, job.id,
                      r.job_error);
        std::lock_guard lock(stats_mutex_);
        ++stats_.jobs_failed;
        ++stats_.jobs_dead;
        return false;
    }
    if (!r.job_error.empty()) {
        const auto d = queue_.fail(job, r.job_error);
        spdlog::error("worker {}: job {} failed ({}): {}", options_.worker_id, job.id,
                      d.dead ? "dead-lettered"
                             : "retry in " + std::to_string(d.backoff.count()) + " ms",
                      r.job_error);
        std::lock_guard lock(stats_mutex_);
        ++stats_.jobs_failed;
        if (d.dead) ++stats_.jobs_dead;
        return false;
    }
    if (r.ended < pending.size()) {
        // A stop (or Redis gone at a stop): the job goes back with its checkpoint.
        give_back(job);
        return false;
    }
    return true;
}

} // namespace rotor::nodes
