#include "nodes/batch_runner.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <spdlog/spdlog.h>

#include <unistd.h>

#include <cmath>
#include <condition_variable>
#include <future>
#include <thread>

namespace rotor::nodes {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
    for (auto pos = text.find(from); pos != std::string::npos;
         pos = text.find(from, pos + to.size())) {
        text.replace(pos, from.size(), to);
    }
    return text;
}

// One attempt at one item on one lease. Throws cdp/pool errors; returns the extracted JSON or
// an item-level failure reason in `error`.
asio::awaitable<json> scan_on_page(std::shared_ptr<cdp::page> page, std::string url,
                                   scan_options scan, std::string* error) {
    cdp::navigate_options nav;
    nav.timeout = scan.navigate_timeout;
    auto result = co_await page->navigate(url, nav);
    if (result.status >= 400 || result.status == 0) {
        *error = "HTTP " + std::to_string(result.status) + " for " + url;
        co_return json();
    }
    try {
        co_await page->wait_for_function(scan.ready_expression, scan.ready_timeout);
    } catch (const cdp::error& e) {
        if (e.kind() != cdp::errc::timeout) throw;
        *error = "the data never appeared on " + url + " (" + e.what() + ")";
        co_return json();
    }
    co_return co_await page->evaluate(scan.extract_expression);
}

} // namespace

batch_runner::batch_runner(pool::browser_pool& pool, queue::redis_options redis,
                           queue::queue_options queue_options, runner_options options)
    : pool_(pool), redis_(redis), queue_options_(queue_options), options_(std::move(options)),
      queue_(redis_, queue_options_) {
    if (options_.scan.rate_per_second > 0) limiter_.emplace(redis_, queue_options_.prefix);
    // The runner's results TTL is the one the outcome script applies.
    queue_options_.results_ttl = options_.results_ttl;
}

queue::job_queue& batch_runner::connection(std::size_t i) {
    // One connection per item thread and one for the renewer, made once and kept for every
    // job (each new one costs a connect, AUTH and SCRIPT LOADs).
    std::lock_guard lock(connections_mutex_);
    while (connections_.size() <= i) {
        connections_.push_back(std::make_unique<queue::job_queue>(redis_, queue_options_));
    }
    return *connections_[i];
}

runner_stats batch_runner::stats() const {
    std::lock_guard lock(stats_mutex_);
    return stats_;
}

void batch_runner::run() {
    struct leave_registry { // a stopped worker is gone: it leaves the registry on its way out
        batch_runner& r;
        ~leave_registry() {
            if (!r.stopping_) return;
            try {
                r.queue_.forget_worker(r.options_.worker_id);
            } catch (const queue::error& e) {
                spdlog::warn("worker {}: leaving the registry: {}", r.options_.worker_id, e.what());
            }
        }
    } leave{*this};
    // A busy worker completes a job and claims the next in one round trip; between jobs it
    // reports in and reaps stalled jobs at most every idle_wait.
    std::optional<queue::job_lease> next;
    auto last_chores = std::chrono::steady_clock::time_point{};
    while (!stopping_) {
        try {
            if (std::chrono::steady_clock::now() - last_chores >= options_.idle_wait) {
                last_chores = std::chrono::steady_clock::now();
                queue_.heartbeat(options_.worker_id, heartbeat_status(""));
                queue_.reap_stalled(options_.platform);
            }
            if (!next) next = queue_.claim(options_.platform, options_.worker_id);
            if (!next) {
                if (options_.drain) {
                    const auto c = queue_.counts(options_.platform);
                    if (c.queued == 0 && c.delayed == 0 && c.running == 0) return;
                }
                std::this_thread::sleep_for(options_.idle_wait);
                continue;
            }
            auto job = std::move(*next);
            next.reset();
            // A job whose items all ended completes, also when a stop came meanwhile (it is
            // only the next claim that a stop skips).
            if (run_job(job)) {
                next = finish(job, /*claim_next=*/!stopping_);
            } else if (!stopping_) {
                last_chores = {};
            }
        } catch (const queue::error& e) {
            // Redis gave up after its retries: wait and try again; nothing is lost, the job's
            // lease expires and it is reaped back into the queue.
            spdlog::error("worker {}: {}", options_.worker_id, e.what());
            std::this_thread::sleep_for(options_.idle_wait);
        }
    }
    if (next) {
        // Claimed as the last one completed, then asked to stop: give it straight back.
        try {
            queue_.release(*next);
        } catch (const queue::error& e) {
            spdlog::warn("worker {}: releasing {}: {}", options_.worker_id, next->id, e.what());
        }
    }
}

std::optional<queue::job_lease> batch_runner::finish(const queue::job_lease& job, bool claim_next) {
    try {
        std::optional<queue::job_lease> next;
        if (claim_next) {
            next = queue_.complete_and_claim(job);
        } else {
            queue_.complete(job);
        }
        std::lock_guard lock(stats_mutex_);
        ++stats_.jobs_completed;
        return next;
    } catch (const queue::error& e) {
        spdlog::warn("worker {}: completing {}: {}", options_.worker_id, job.id, e.what());
        if (e.kind() != queue::errc::lease_lost) throw;
        return std::nullopt;
    }
}

nlohmann::json batch_runner::heartbeat_status(const std::string& job_id) {
    const auto s = stats();
    const auto p = pool_.stats();
    const nlohmann::json pool_status = {{"healthy", p.healthy},
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
    return {{"platform", options_.platform},
            {"pid", ::getpid()},
            {"job", job_id},
            {"at_ms", std::chrono::duration_cast<milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count()},
            {"jobs_completed", s.jobs_completed},
            {"items_ok", s.items_ok},
            {"items_failed", s.items_failed},
            {"pool", pool_status}};
}

bool batch_runner::run_one() {
    queue_.heartbeat(options_.worker_id, heartbeat_status(""));
    queue_.reap_stalled(options_.platform);
    auto job = queue_.claim(options_.platform, options_.worker_id);
    if (!job) return false;
    if (run_job(*job)) finish(*job, /*claim_next=*/false);
    return true;
}

batch_runner::item_result batch_runner::scan(const std::string& item) {
    item_result r;
    const std::string url = replace_all(
        replace_all(options_.scan.url_template, "{base}", options_.scan.base_url), "{id}", item);
    for (int attempt = 0;; ++attempt) {
        if (limiter_)
            limiter_->acquire(options_.platform,
                              {options_.scan.rate_per_second,
                               static_cast<double>(std::max(1, options_.scan.rate_burst))});
        auto lease = pool_.acquire_blocking(std::chrono::minutes(2)); // pool::error goes up
        std::string error;
        try {
            r.value =
                asio::co_spawn(io_, scan_on_page(lease.page_ptr(), url, options_.scan, &error),
                               asio::use_future)
                    .get();
            lease.release(error.empty() ? pool::item_outcome::ok : pool::item_outcome::failed);
            r.ok = error.empty();
            r.error = error;
            return r;
        } catch (const pool::error&) {
            lease.release(pool::item_outcome::broken);
            throw; // the pool cannot serve: a whole-job failure, not this item's
        } catch (const std::exception& e) {
            lease.release(pool::item_outcome::broken);
            if (pool::browser_pool::is_retryable(e) && attempt < options_.scan.retries) {
                ++r.retries;
                continue; // the browser or page died under the item: not the item's fault
            }
            r.ok = false;
            r.error = e.what();
            return r;
        }
    }
}

bool batch_runner::run_job(const queue::job_lease& job) {
    const auto items = job.items();
    const auto total = items.size();
    const auto cp = queue_.load_checkpoint(job.id, options_.node_id);
    const auto pending = cp.total == 0 && cp.processed_index == 0 ? [&] {
        std::vector<std::size_t> all(total);
        for (std::size_t i = 0; i < total; ++i) all[i] = i;
        return all;
    }()
                                                                  : cp.pending();
    {
        std::lock_guard lock(stats_mutex_);
        stats_.items_skipped += total - pending.size();
    }
    spdlog::info("worker {}: job {} ({} items, {} to do{})", options_.worker_id, job.id, total,
                 pending.size(), pending.size() < total ? ", resumed from its checkpoint" : "");

    // The lease is renewed in the background; losing it stops the job at once.
    std::atomic<bool> lease_lost{false};
    std::mutex renew_mutex;
    std::condition_variable renew_cv;
    bool finished = false;
    const std::size_t parallel = std::max<std::size_t>(1, pool_.concurrency());
    auto& renew_queue = connection(parallel);
    std::thread renewer([&] {
        auto lease = job;
        std::unique_lock lock(renew_mutex);
        while (!renew_cv.wait_for(lock, queue_options_.lease / 3, [&] { return finished; })) {
            try {
                renew_queue.renew(lease);
                // A job runs for minutes: the registry hears of the worker while it does.
                renew_queue.heartbeat(options_.worker_id, heartbeat_status(job.id));
            } catch (const queue::error& e) {
                if (e.kind() == queue::errc::lease_lost) {
                    lease_lost = true;
                    spdlog::warn("worker {}: {}", options_.worker_id, e.what());
                    return;
                }
                spdlog::warn("worker {}: renewing {}: {}", options_.worker_id, job.id, e.what());
            } catch (const std::exception& e) { // nothing may leave a thread of ours
                spdlog::warn("worker {}: renewing {}: {}", options_.worker_id, job.id, e.what());
            }
        }
    });

    // Items run concurrently up to the pool's concurrency; each is checkpointed when it ends.
    std::mutex next_mutex;
    std::size_t next = 0;
    std::atomic<std::size_t> ended{0}; // items stored or recorded as failed in this run
    std::string job_error;             // set when the job cannot run at all (the pool is unhealthy)
    auto worker = [&](std::size_t lane) {
        auto& q = connection(lane);
        for (;;) {
            std::size_t k = 0;
            {
                std::lock_guard lock(next_mutex);
                if (next >= pending.size() || lease_lost || stopping_ || !job_error.empty()) return;
                k = next++;
            }
            const std::size_t index = pending[k];
            item_result r;
            try {
                r = scan(items[index]);
            } catch (const std::exception& e) {
                std::lock_guard lock(next_mutex);
                if (job_error.empty()) job_error = e.what();
                return;
            }
            try {
                // Redis gone for longer than the connection's retry window is waited out while
                // the lease may still be ours (the renewer has not heard LEASE_LOST): failing
                // the job instead would count an attempt, or a stall once its lease ran out,
                // against a worker that is alive (the outage hold keeps its lease when Redis
                // is back). A stop gives up waiting: the item is redone after the release.
                for (;;) {
                    try {
                        if (r.ok) {
                            json stored = r.value;
                            stored["item"] = items[index];
                            // Result and checkpoint in one fenced step: once the lease is lost
                            // nothing is written, and the item is never both a result and a
                            // failure.
                            q.store_result(job, options_.node_id, index, total, stored);
                        } else {
                            q.record_failure(job, options_.node_id, index, total, items[index],
                                             r.error);
                        }
                        break;
                    } catch (const queue::error& e) {
                        if (e.kind() != queue::errc::redis_unavailable || lease_lost || stopping_) {
                            throw;
                        }
                        spdlog::warn("worker {}: item {} of {}: {}; waiting for Redis",
                                     options_.worker_id, items[index], job.id, e.what());
                        std::this_thread::sleep_for(options_.idle_wait);
                    }
                }
            } catch (const std::exception& e) {
                // The item is neither checkpointed nor recorded as failed, so the job must not
                // complete: it fails (a retry resumes from the checkpoint and redoes this item).
                const auto* qe = dynamic_cast<const queue::error*>(&e);
                if (qe != nullptr && qe->kind() == queue::errc::lease_lost) {
                    lease_lost = true;
                } else if (qe != nullptr && qe->kind() == queue::errc::redis_unavailable &&
                           stopping_) {
                    // Stopping while Redis is away: the job is released (or, Redis still
                    // gone, reaped), and this item redone; it is not the job's failure.
                } else {
                    std::lock_guard lock(next_mutex);
                    if (job_error.empty())
                        job_error = "recording item " + items[index] + ": " + e.what();
                }
                spdlog::warn("worker {}: item {} of {}: {}", options_.worker_id, items[index],
                             job.id, e.what());
                return;
            }
            ++ended;
            std::lock_guard lock(stats_mutex_);
            (r.ok ? stats_.items_ok : stats_.items_failed)++;
            stats_.items_retried += static_cast<std::uint64_t>(r.retries);
        }
    };
    std::vector<std::thread> workers;
    for (std::size_t i = 0; i < parallel; ++i) workers.emplace_back(worker, i);
    for (auto& t : workers) t.join();
    {
        std::lock_guard lock(renew_mutex);
        finished = true;
    }
    renew_cv.notify_all();
    renewer.join();

    if (lease_lost) {
        std::lock_guard lock(stats_mutex_);
        ++stats_.jobs_abandoned;
        return false;
    }
    if (!job_error.empty()) {
        // Finished items stay checkpointed; the retry resumes after them.
        const auto d = queue_.fail(job, job_error);
        spdlog::error("worker {}: job {} failed ({}): {}", options_.worker_id, job.id,
                      d.dead ? "dead-lettered"
                             : "retry in " + std::to_string(d.backoff.count()) + " ms",
                      job_error);
        std::lock_guard lock(stats_mutex_);
        ++stats_.jobs_failed;
        return false;
    }
    if (stopping_ && ended < pending.size()) {
        // A graceful stop: the items that ended are checkpointed; the job goes back to the front
        // of its queue at once, for another worker to resume (no stall counted, no lease to wait
        // out). Were Redis gone now, the lease would expire and the job be reaped instead.
        try {
            queue_.release(job);
            std::lock_guard lock(stats_mutex_);
            ++stats_.jobs_released;
        } catch (const queue::error& e) {
            spdlog::warn("worker {}: releasing {}: {}", options_.worker_id, job.id, e.what());
        }
        return false;
    }
    return true;
}

} // namespace rotor::nodes
