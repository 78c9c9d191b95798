#include "nodes/item_executor.hpp"

#include "nodes/cache_identity.hpp"
#include "nodes/detail/blocking.hpp"
#include "nodes/log_fields.hpp"
#include "nodes/sink.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <spdlog/spdlog.h>

#include <cmath>
#include <cstdio>
#include <future>
#include <mutex>
#include <optional>

namespace rotor::nodes {

namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;

struct item_executor::job_state {
    const queue::job_lease& job;
    const std::vector<std::string> items;
    const std::vector<std::size_t>& pending;
    const std::atomic<bool>& stopping;
    std::atomic<bool>& lease_lost;
    std::atomic<std::size_t> next{0};
    std::atomic<std::size_t> ended{0};
    std::mutex error_mutex;
    std::string job_error;
    std::string worker_fault;
    std::atomic<bool> halted{false}; // any of the above: lanes take no new item
    std::atomic<bool> dead_letter{false};
    std::vector<std::optional<std::string>> cached; // per pending item: its freshness entry
    clock_type::time_point started = clock_type::now();
    std::atomic<std::int64_t> last_progress_log{0}; // steady ns

    bool should_stop() const { return halted || lease_lost || stopping; }
    void set_error(const std::string& e) {
        std::lock_guard lock(error_mutex);
        if (job_error.empty() && worker_fault.empty()) job_error = e;
        halted = true;
    }
    void set_fault(const std::string& e) {
        std::lock_guard lock(error_mutex);
        if (worker_fault.empty()) worker_fault = e;
        halted = true;
    }
};

item_executor::item_executor(const platform_config& config, workflow& flow,
                             std::vector<queue::job_queue*> queues, asio::thread_pool& blocking,
                             std::size_t threads)
    : config_(config), flow_(flow), queues_(std::move(queues)), blocking_(blocking) {
    if (queues_.empty()) throw std::invalid_argument("item_executor: no queue connection");
    work_.emplace(io_.get_executor());
    for (std::size_t i = 0; i < std::max<std::size_t>(1, threads); ++i) {
        threads_.emplace_back([this] {
            io_.run();
            ++threads_done_;
        });
    }
}

item_executor::~item_executor() {
    // Let run() end by itself: another thread (the HTTP client's, after resuming a lane) may
    // hold this context's work for an instant, and destroying the context under it is a use
    // after free. Stopped only if work is still held after 5 s.
    work_.reset();
    const auto until = clock_type::now() + std::chrono::seconds(5);
    while (threads_done_.load() < threads_.size() && clock_type::now() < until) {
        std::this_thread::sleep_for(milliseconds(2));
    }
    io_.stop();
    for (auto& t : threads_) t.join();
}

job_run item_executor::run(const queue::job_lease& job, const std::vector<std::size_t>& pending,
                           const std::atomic<bool>& stopping, std::atomic<bool>& lease_lost) {
    job_state s{job, job.items(), pending, stopping, lease_lost, {}, {}, {}, {}, {}, {}, {}, {}};
    if (config_.cache_ttl.count() > 0 && !pending.empty()) {
        // Items saved less than cache_ttl ago are answered from Redis: one read per 500 items.
        std::vector<std::string> ids;
        ids.reserve(pending.size());
        for (const auto i : pending) ids.push_back(s.items.at(i));
        try {
            s.cached = queues_.front()->read_cache(config_.platform, ids);
        } catch (const queue::error& e) {
            spdlog::warn("{}: job {}: reading the freshness cache: {} (every item is fetched)",
                         config_.platform, job.id, e.what());
            s.cached.clear();
        }
    }
    stats_.job_items_total = s.items.size();
    stats_.job_items_done = s.items.size() - pending.size();
    const std::size_t lanes = std::max<std::size_t>(1, config_.concurrency);
    std::vector<std::future<void>> done;
    for (std::size_t i = 0; i < lanes; ++i) {
        done.push_back(asio::co_spawn(io_, lane(s, i), asio::use_future));
    }
    for (auto& f : done) {
        try {
            f.get();
        } catch (const std::exception& e) { // nothing a lane throws may be lost
            s.set_error(e.what());
        }
    }
    try {
        for (const auto& n : flow_.nodes()) n->end_of_job();
    } catch (const std::exception& e) {
        s.set_fault(e.what()); // what was saved may not be durable: the job does not complete
    }
    job_run r;
    r.ended = s.ended;
    r.lease_lost = s.lease_lost;
    std::lock_guard lock(s.error_mutex);
    r.job_error = s.job_error;
    r.worker_fault = s.worker_fault;
    r.dead_letter = s.dead_letter && r.worker_fault.empty();
    return r;
}

asio::awaitable<void> item_executor::lane(job_state& s, std::size_t lane_no) {
    auto& q = *queues_[lane_no % queues_.size()];
    for (;;) {
        if (s.should_stop()) co_return;
        const std::size_t k = s.next++;
        if (k >= s.pending.size()) co_return;
        item_context item;
        item.platform = config_.platform;
        item.job_id = s.job.id;
        item.lease = s.job.token;
        item.index = s.pending[k];
        item.id = s.items.at(item.index);
        item.should_stop = [&s] { return s.should_stop(); };
        item.activity = &stats_.last_item_ms;
        if (const auto* d = s.job.item_data(item.index)) item.data = *d;
        item_outcome outcome;
        std::string fault;
        const auto item_started = clock_type::now();
        try {
            if (k < s.cached.size() && s.cached[k] && answer_from_cache(*s.cached[k], item)) {
                outcome.kind = outcome_kind::cached;
            } else {
                outcome = co_await process(s, item);
            }
            if (outcome.kind == outcome_kind::gone || outcome.kind == outcome_kind::failed ||
                outcome.kind == outcome_kind::cached) {
                // Every item has its line: gone and failed ones too, before they are recorded.
                if (flow_.saver() != nullptr) co_await flow_.saver()->save_end(item, outcome);
            }
        } catch (const pool::error& e) {
            fault = std::string("the browser pool cannot serve: ") + e.what();
        } catch (const sink_error& e) {
            fault = e.what();
        }
        if (!fault.empty()) {
            // This worker's fault: the item is not recorded; the job is given back.
            s.set_fault(fault);
            co_return;
        }
        if (outcome.kind == outcome_kind::abandoned) co_return; // redone by the next run
        auto record_it = [&] { return record(s, q, item, outcome); };
        const bool go_on = co_await detail::run_blocking(blocking_, std::move(record_it));
        if (!go_on) co_return;
        const auto ended = ++s.ended;
        ++stats_.job_items_done;
        const auto now = clock_type::now();
        stats_.last_item_ms =
            std::chrono::duration_cast<milliseconds>(now.time_since_epoch()).count();
        observe(s, item, outcome, now - item_started, ended);
        if (outcome.kind == outcome_kind::failed &&
            config_.on_item_failure == platform_config::item_failure_policy::fail_job) {
            s.dead_letter = true;
            s.set_error("item " + item.id +
                        " failed (on_item_failure: fail_job): " + outcome.reason);
            co_return;
        }
    }
}

void item_executor::observe(job_state& s, const item_context& item, const item_outcome& outcome,
                            clock_type::duration took, std::size_t ended) {
    const double seconds = std::chrono::duration<double>(took).count();
    std::size_t bucket = 0;
    while (bucket < item_latency_bounds.size() && seconds > item_latency_bounds[bucket]) ++bucket;
    ++stats_.latency_buckets[bucket];
    stats_.latency_sum_us += static_cast<std::uint64_t>(seconds * 1e6);
    ++stats_.latency_count;

    // The node an item ended in heads its reason ("scan: timeout"); ok ones went through all.
    std::string node;
    if (const auto colon = outcome.reason.find(':'); colon != std::string::npos)
        node = outcome.reason.substr(0, colon);
    nlohmann::json fields = {{"job", s.job.id},
                             {"index", item.index},
                             {"item", item.id},
                             {"outcome", std::string(to_string(outcome.kind))},
                             {"attempts", item.attempt + 1},
                             {"duration_ms", std::llround(seconds * 1000)}};
    if (!node.empty()) fields["node"] = node;
    if (const auto b = s.job.params.find("batch_index");
        b != s.job.params.end() && b->is_number_integer()) {
        fields["batch"] = *b;
    }
    if (outcome.kind == outcome_kind::failed) {
        fields["reason"] = outcome.reason;
        spdlog::warn(with_fields("item failed", fields));
    } else {
        spdlog::debug(with_fields("item ended", fields));
    }

    // A progress line per job: every 10 s, and at its last item.
    const auto now_ns = clock_type::now().time_since_epoch().count();
    auto last = s.last_progress_log.load();
    const bool last_item = ended == s.pending.size();
    if (!last_item && now_ns - last < std::chrono::nanoseconds(std::chrono::seconds(10)).count())
        return;
    if (!last_item && !s.last_progress_log.compare_exchange_strong(last, now_ns)) return;
    const double elapsed = std::chrono::duration<double>(clock_type::now() - s.started).count();
    const double rate = elapsed > 0 ? static_cast<double>(ended) / elapsed : 0;
    const auto left = s.pending.size() - ended;
    nlohmann::json progress = {{"job", s.job.id},
                               {"done", s.items.size() - s.pending.size() + ended},
                               {"total", s.items.size()},
                               {"items_per_s", std::round(rate * 10) / 10}};
    if (rate > 0) progress["eta_s"] = std::llround(static_cast<double>(left) / rate);
    spdlog::info(with_fields(last_item ? "job items all recorded" : "job progress", progress));
}

bool item_executor::answer_from_cache(const std::string& entry, item_context& item) const {
    try {
        const auto j = nlohmann::json::parse(entry, nullptr, false);
        if (j.is_discarded() || !j.is_object() || !j.contains("fields") ||
            !j["fields"].is_object()) {
            return false; // not an entry this build wrote: fetch the item
        }
        if (j.value("identity", std::string()) != cache_identity(config_, item.id, item.data))
            return false;
        // Read at the job's start, answered maybe much later: the entry's own age decides.
        const auto now_ms = std::chrono::duration_cast<milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
        const auto at_ms = j.value("at_ms", std::int64_t{0});
        if (now_ms - at_ms >= std::chrono::duration_cast<milliseconds>(config_.cache_ttl).count()) {
            return false;
        }
        item.fields = j["fields"];
        item.url = j.value("url", std::string());
        item.http_status = j.value("status", 0);
        item.timings = {{"cached_from", j.value("run", std::string())}, {"cached_at_ms", at_ms}};
        return true;
    } catch (const nlohmann::json::exception&) {
        item.fields = nlohmann::json::object();
        item.url.clear();
        item.http_status = 0;
        return false; // a foreign or damaged entry: fetch the item
    }
}

asio::awaitable<item_outcome> item_executor::process(job_state& s, item_context& item) {
    int crashes = 0;
    int retries = 0; // timeouts, crashes, 5xx
    int blocked = 0; // 429s and block pages: their own budget
    for (int attempt = 0;; ++attempt) {
        if (s.should_stop()) co_return item_outcome::abandoned("stopped before attempt");
        item.attempt = attempt;
        item.fields = nlohmann::json::object();
        item.problems = nlohmann::json::object();
        item.timings = nlohmann::json::object();
        item.http_status = 0;
        item.deadline = clock_type::now() + config_.timeouts.item;
        item_outcome outcome;
        const auto t0 = clock_type::now();
        for (const auto& n : flow_.nodes()) {
            try {
                outcome = co_await n->run(item);
            } catch (const pool::error&) {
                throw;
            } catch (const sink_error&) {
                throw;
            } catch (const std::exception& e) {
                outcome = item_outcome::retry(n->id() + ": " + e.what());
            }
            if (outcome.kind != outcome_kind::ok) {
                outcome.reason = n->id() + ": " + outcome.reason;
                break;
            }
        }
        item.timings["item_ms"] =
            std::chrono::duration_cast<milliseconds>(clock_type::now() - t0).count();
        if (outcome.kind == outcome_kind::abandoned) co_return outcome;
        if (outcome.crash && ++crashes >= config_.poison_after) {
            ++stats_.items_poisoned;
            co_return item_outcome::failed("poison_item: " + std::to_string(crashes) +
                                           " crashes at " + item.url + " (last: " + outcome.reason +
                                           ")");
        }
        const bool is_blocked = outcome.kind == outcome_kind::blocked;
        if (outcome.kind != outcome_kind::retry && !is_blocked) co_return outcome;
        // A stop, a lost lease or a job halted elsewhere: the item is not given up but left to
        // whoever runs the job next.
        if (s.should_stop()) co_return item_outcome::abandoned(outcome.reason);
        if (is_blocked ? blocked >= max_blocked_retries : retries >= config_.retries) {
            co_return item_outcome::failed("gave up after " + std::to_string(attempt + 1) +
                                           " attempt(s): " + outcome.reason);
        }
        ++(is_blocked ? blocked : retries);
        ++stats_.items_retried;
        // The wait the outcome asks for (a cooldown), else a short backoff that doubles; in
        // slices, so that a stop is not held up by it.
        const auto wait = outcome.after.count() > 0
                              ? outcome.after
                              : milliseconds(500 * (1 << std::min(retries, 5)));
        const auto until = clock_type::now() + wait;
        while (clock_type::now() < until) {
            if (s.should_stop()) co_return item_outcome::abandoned(outcome.reason);
            item.touch(); // a backoff or cooldown is not a stall
            asio::steady_timer t(
                co_await asio::this_coro::executor,
                std::min(milliseconds(250),
                         std::chrono::duration_cast<milliseconds>(until - clock_type::now())));
            co_await t.async_wait(asio::use_awaitable);
        }
    }
}

bool item_executor::record(job_state& s, queue::job_queue& q, const item_context& item,
                           const item_outcome& outcome) {
    const auto total = s.items.size();
    const auto& node_id = flow_.checkpoint_node();
    // Redis away for longer than the connection's retry window is waited out while the lease
    // may still be ours; a stop gives up (the item is redone after the release).
    for (;;) {
        try {
            if (outcome.kind == outcome_kind::ok || outcome.kind == outcome_kind::gone ||
                outcome.kind == outcome_kind::cached) {
                nlohmann::json stored = item.fields;
                stored["item"] = item.id;
                if (outcome.kind == outcome_kind::gone) {
                    stored["gone"] = true;
                    stored["status"] = item.http_status;
                }
                if (outcome.kind == outcome_kind::cached) stored["cached"] = true;
                std::optional<queue::cache_entry> cache;
                if (outcome.kind == outcome_kind::ok && config_.cache_ttl.count() > 0) {
                    // Only fetched values go into the cache: an answer from it does not make
                    // it fresher.
                    const nlohmann::json entry = {
                        {"identity", cache_identity(config_, item.id, item.data)},
                        {"fields", item.fields},
                        {"url", item.url},
                        {"status", item.http_status},
                        {"run", s.job.id},
                        {"at_ms", std::chrono::duration_cast<milliseconds>(
                                      std::chrono::system_clock::now().time_since_epoch())
                                      .count()}};
                    cache = queue::cache_entry{
                        item.id, config_.cache_ttl,
                        entry.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
                }
                q.store_result(s.job, node_id, item.index, total, stored,
                               cache ? &*cache : nullptr);
                ++(outcome.kind == outcome_kind::ok     ? stats_.items_ok
                   : outcome.kind == outcome_kind::gone ? stats_.items_gone
                                                        : stats_.items_cached);
            } else {
                q.record_failure(s.job, node_id, item.index, total, item.id, outcome.reason);
                ++stats_.items_failed;
                if (outcome.reason.rfind("poison_item", 0) == 0) {
                    const nlohmann::json entry = {
                        {"job", s.job.id}, {"url", item.url}, {"reason", outcome.reason}};
                    const auto key = q.key_names().prefix() + "poison:platform:" + item.platform;
                    q.command({"HSET", key, item.id, entry.dump()});
                    q.command({"EXPIRE", key, std::to_string(q.options().failures_ttl.count())});
                }
            }
            return true;
        } catch (const queue::error& e) {
            if (e.kind() == queue::errc::lease_lost) {
                s.lease_lost = true;
                return false;
            }
            if (e.kind() == queue::errc::redis_unavailable && !s.lease_lost && !s.stopping) {
                spdlog::warn("{}: item {} of {}: {}; waiting for Redis", config_.platform, item.id,
                             s.job.id, e.what());
                item.touch(); // waiting out Redis: a restart would not help
                std::this_thread::sleep_for(milliseconds(1000));
                continue;
            }
            if (e.kind() != queue::errc::redis_unavailable) {
                s.set_error("recording item " + item.id + ": " + e.what());
            }
            return false;
        }
    }
}

} // namespace rotor::nodes
