// worker --platform P: claims the platform's batch jobs from Redis and runs their items through
// the platform's workflow (a pool of Chromium processes, or HTTP for an api platform).
// Exit codes: 0 done (stopped, drained, --max-jobs reached), 1 fatal (Redis unreachable at
// start, the heartbeat port taken, a sink that cannot open; or a stop that had to be forced: a
// second signal, or --grace ran out), 2 usage (a bad option), 3 config (the platform file has
// problems).
// SIGTERM/SIGINT: claim nothing more, let the items in flight end, release the job (back to the
// front of its queue with its checkpoint, no stall counted: another worker resumes it at once),
// close the browsers, exit 0; all within --grace. When the grace runs out (an item that will not
// end, Redis away), or at a second signal: the job is given back on a connection of its own,
// Chromium is killed and the worker exits 1 at once. Nothing recorded is lost either way: an
// item in flight is redone by the next worker.
#include "app/heartbeat_server.hpp"
#include "app/logging.hpp"
#include "app/stop_signals.hpp"
#include "app/worker_health.hpp"
#include "nodes/config_loader.hpp"
#include "nodes/job_loop.hpp"
#include "nodes/log_fields.hpp"
#include "queue/redis_durability.hpp"

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmath>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

namespace {

/// Logs the worker's memory every `every` on a thread of its own until stop().
class memory_reporter {
  public:
    memory_reporter(std::string worker, rotor::pool::browser_pool* pool, std::chrono::seconds every)
        : worker_(std::move(worker)), pool_(pool), thread_([this, every] {
              std::unique_lock lock(mutex_);
              do {
                  report();
              } while (!cv_.wait_for(lock, every, [this] { return stopped_; }));
          }) {}
    ~memory_reporter() { stop(); }
    void stop() {
        {
            std::lock_guard lock(mutex_);
            stopped_ = true;
        }
        cv_.notify_all();
        if (thread_.joinable()) thread_.join();
    }

  private:
    void report() const {
        nlohmann::json f = {
            {"worker", worker_},
            {"worker_rss_mb", std::lround(rotor::app::worker_rss_bytes() / 1048576.0)}};
        if (pool_ != nullptr) {
            const auto p = pool_->stats();
            std::size_t processes = 0;
            for (const auto& b : p.browsers) processes += b.processes;
            f["chromium_pss_mb"] = std::lround(p.pss_mb);
            f["chromium_peak_pss_mb"] = std::lround(p.peak_pss_mb);
            f["browsers"] = p.browsers.size();
            f["chromium_processes"] = processes;
            f["shm"] = p.shm;
        }
        spdlog::info(rotor::nodes::with_fields("memory", f));
    }
    std::string worker_;
    rotor::pool::browser_pool* pool_;
    std::mutex mutex_;
    std::condition_variable cv_;
    bool stopped_ = false;
    std::thread thread_;
};

} // namespace

int main(int argc, char** argv) {
    // Logs go to stderr: stdout carries the JSON lines scripts read.
    spdlog::set_default_logger(spdlog::stderr_color_mt("rotor"));
    CLI::App app{"rotor worker: runs a platform's batch jobs from Redis"};
    std::string platform;
    std::string config_dir = "config/platforms";
    rotor::nodes::loop_options loop;
    rotor::queue::redis_options redis;
    rotor::queue::queue_options queue;
    std::size_t concurrency = 0;
    app.add_option("--platform", platform, "Platform whose queue to serve")->required();
    auto* config_dir_option =
        app.add_option("--config-dir", config_dir,
                       "Where {platform}.yaml is (default config/platforms, then "
                       "/etc/rotor/platforms)")
            ->envname("ROTOR_CONFIG_DIR");
    app.add_option("--worker-id", loop.worker_id, "Default: <hostname>-<pid>");
    app.add_option("--redis-host", redis.host);
    app.add_option("--redis-port", redis.port)->check(CLI::Range(1, 65535));
    std::string redis_url;
    app.add_option(
           "--redis-url", redis_url,
           "redis://[[user]:password@]host[:port][/db]; overrides --redis-host/--redis-port")
        ->envname("ROTOR_REDIS_URL");
    app.add_option("--prefix", queue.prefix, "Redis key prefix");
    app.add_option("--concurrency", concurrency, "Items in flight (default: the config's)")
        ->check(CLI::Range(1, 256));
    app.add_flag("--drain,--once", loop.drain, "Exit when the platform's queue is empty");
    app.add_option("--max-jobs", loop.max_jobs, "Exit after this many jobs ended (0: no limit)")
        ->check(CLI::Range(std::size_t{0}, std::size_t{1000000000}));
    std::string output_dir;
    app.add_option("--output-dir", output_dir,
                   "Where the JSONL sink writes (overrides the config's sinks.jsonl.dir)")
        ->envname("ROTOR_OUTPUT_DIR");
    std::string log_format = "text";
    app.add_option("--log-format", log_format, "text, or json: one JSON object per line")
        ->check(CLI::IsMember({"text", "json"}));
    std::string log_level = "info";
    app.add_option("--log-level", log_level, "trace, debug, info, warn, error, critical or off")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
    std::int64_t lease_ms = queue.lease.count();
    app.add_option("--lease-ms", lease_ms,
                   "A claimed job is this worker's for this long unless renewed (every third of "
                   "it); a dead worker's job is taken over after it (default 60000)")
        ->check(CLI::Range(std::int64_t{1000}, std::int64_t{3600000}));
    rotor::app::heartbeat_options heartbeat;
    app.add_option("--heartbeat-port", heartbeat.port,
                   "Port of /healthz, /readyz and /metrics (0: any free port, see the log)")
        ->envname("HEARTBEAT_PORT");
    app.add_option("--heartbeat-bind", heartbeat.bind,
                   "Address the heartbeat listens on (0.0.0.0 in a container)")
        ->envname("HEARTBEAT_BIND");
    std::string heartbeat_port_file;
    app.add_option("--heartbeat-port-file", heartbeat_port_file,
                   "Write the heartbeat's port here once it listens (for health checks, "
                   "supervisors and tests)")
        ->envname("HEARTBEAT_PORT_FILE");
    std::int64_t stall_timeout_s = 60;
    app.add_option("--stall-timeout-s", stall_timeout_s,
                   "/healthz answers 503 when a job runs and no item ended for this long")
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{86400}));
    std::int64_t grace_s = 20;
    app.add_option("--grace", grace_s,
                   "Seconds a SIGTERM/SIGINT stop may take: items in flight end, the job goes "
                   "back, the browsers close (default 20); then, or at a second signal, the "
                   "worker gives the job back and exits at once")
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{3600}));
    std::int64_t redis_wait_ms = redis.retry_for.count();
    app.add_option("--redis-wait-ms", redis_wait_ms,
                   "How long an unreachable Redis is retried before giving up, also at start "
                   "(default 60000)")
        ->check(CLI::Range(std::int64_t{0}, std::int64_t{3600000}));
    std::string lock_mode = "job";
    app.add_option("--lock-mode", lock_mode,
                   "job: any number of workers per platform, each leasing whole jobs (default); "
                   "platform: one worker per platform holds workflow:lock:platform:{p}, as the "
                   "system rotor replaces did (for a migration)")
        ->envname("ROTOR_LOCK_MODE")
        ->check(CLI::IsMember({"job", "platform"}));
    bool allow_eviction = false;
    app.add_flag("--allow-eviction", allow_eviction,
                 "Run on a Redis whose maxmemory-policy may evict keys (checkpoints, jobs)");
    try {
        app.parse(argc, argv);
    } catch (const CLI::Success& e) { // --help (and any other early, successful exit)
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e); // prints the message naming the option
        return 2;
    }
    rotor::app::configure_logging(log_format, log_level);
    try {
        if (!redis_url.empty()) rotor::queue::apply_redis_url(redis, redis_url);
    } catch (const std::exception& e) {
        std::cerr << "worker: --redis-url: " << e.what() << "\n";
        return 2;
    }
    // Not given: ./config/platforms (a checkout), else /etc/rotor/platforms (an install).
    if (config_dir_option->count() == 0 &&
        !std::filesystem::exists(std::filesystem::path(config_dir) / (platform + ".yaml")) &&
        std::filesystem::exists("/etc/rotor/platforms/" + platform + ".yaml")) {
        config_dir = "/etc/rotor/platforms";
    }
    rotor::nodes::platform_config config;
    try {
        config = rotor::nodes::load_platform(config_dir, platform);
    } catch (const std::exception& e) {
        std::cerr << "worker: " << e.what() << "\n";
        return 3;
    }
    if (!output_dir.empty()) {
        if (!config.jsonl) config.jsonl = rotor::nodes::jsonl_sink_spec{};
        config.jsonl->dir = output_dir;
    }
    if (concurrency > 0) config.concurrency = concurrency;
    queue.lease = std::chrono::milliseconds(lease_ms);
    queue.lock =
        lock_mode == "platform" ? rotor::queue::lock_mode::platform : rotor::queue::lock_mode::job;
    redis.retry_for = std::chrono::milliseconds(redis_wait_ms);
    // Set at a stop: no Redis retry starts after it, so the last calls end within the grace.
    auto redis_cutoff = std::make_shared<std::atomic<std::int64_t>>(0);
    redis.cutoff = redis_cutoff;
    const auto grace = std::chrono::milliseconds(grace_s * 1000);
    if (loop.worker_id.empty()) {
        char host[256] = {0};
        ::gethostname(host, sizeof host - 1);
        loop.worker_id = std::string(host) + "-" + std::to_string(::getpid());
    }
    // Before any thread starts (they inherit the blocked signals): a signal while waiting for
    // Redis or launching Chromium exits at once; once serving, it stops the loop (see
    // app/stop_signals.hpp).
    rotor::app::stop_options stop;
    stop.worker_id = loop.worker_id;
    stop.grace = grace;
    stop.redis_attempt = redis.connect_timeout + redis.command_timeout;
    stop.redis_cutoff = redis_cutoff;
    rotor::app::stop_signals signals(stop);
    try {
        // What this Redis can lose is said once at start; an evicting one is refused unless
        // allowed (it could drop checkpoints and job hashes under memory pressure).
        rotor::queue::redis_connection redis_check(redis);
        const auto report = rotor::queue::check_durability(redis_check, allow_eviction);
        spdlog::info("redis {}:{} durability: {}", redis.host, redis.port, report.summary);
        for (const auto& w : report.warnings)
            spdlog::warn("redis {}:{}: {}", redis.host, redis.port, w);
    } catch (const std::exception& e) {
        std::cerr << "worker: cannot start: " << e.what() << "\n";
        return 1;
    }

    try {
        std::unique_ptr<rotor::pool::browser_pool> browsers;
        if (config.type == rotor::nodes::worker_type::browser) {
            rotor::pool::pool_options pool;
            pool.browsers = config.browser.browsers;
            pool.concurrency = config.concurrency;
            pool.rotation = config.browser.rotation;
            pool.shm = config.browser.shm;
            pool.flags.extra = config.browser.extra_flags;
            browsers = std::make_unique<rotor::pool::browser_pool>(pool);
        }
        rotor::nodes::job_loop run(config, browsers.get(), redis, queue, loop);
        // A signal reaches the loop only between attach and detach (before `run` goes).
        signals.attach(&run);
        struct detach_loop {
            rotor::app::stop_signals& s;
            ~detach_loop() { s.detach(); }
        } detach{signals};
        rotor::app::worker_view view;
        view.worker_id = loop.worker_id;
        view.config = &config;
        view.loop = &run;
        view.pool = browsers.get();
        view.stall_timeout = std::chrono::seconds(stall_timeout_s);
        rotor::app::heartbeat_routes routes;
        routes.healthz = [&view] { return rotor::app::healthz(view); };
        routes.readyz = [&view] { return rotor::app::readyz(view); };
        routes.metrics = [&view] { return rotor::app::metrics(view); };
        // Declared after `run` and `view`: destroyed (stopped) before them.
        rotor::app::heartbeat_server heartbeat_server(heartbeat, routes);
        spdlog::info("worker {}: heartbeat on http://{}:{} (/healthz, /readyz, /metrics)",
                     loop.worker_id, heartbeat.bind, heartbeat_server.port());
        if (!heartbeat_port_file.empty()) {
            // Written whole, then renamed: a reader never sees it half written.
            const std::string tmp = heartbeat_port_file + ".tmp";
            std::ofstream(tmp) << heartbeat_server.port() << "\n";
            std::rename(tmp.c_str(), heartbeat_port_file.c_str());
        }
        spdlog::info("worker {}: serving {} ({}, concurrency {}, config {})", loop.worker_id,
                     config.platform, rotor::nodes::to_string(config.type), config.concurrency,
                     config.source);
        // A memory line every 60 s (and at start): the worker, its Chromium tree, the shm
        // decision. Joined before `browsers` goes.
        memory_reporter memory(loop.worker_id, browsers.get(), std::chrono::seconds(60));
        run.run();
        memory.stop();
        const auto s = run.stats();
        nlohmann::json summary = {{"worker", loop.worker_id},
                                  {"jobs_completed", s.jobs_completed},
                                  {"jobs_failed", s.jobs_failed},
                                  {"jobs_released", s.jobs_released},
                                  {"items_ok", s.items_ok},
                                  {"items_gone", s.items_gone},
                                  {"items_cached", s.items_cached},
                                  {"items_failed", s.items_failed},
                                  {"items_retried", s.items_retried},
                                  {"items_poisoned", s.items_poisoned},
                                  {"items_skipped_by_checkpoint", s.items_skipped}};
        if (browsers) {
            const auto p = browsers->stats();
            summary["page_rotations"] = p.page_rotations;
            summary["context_rotations"] = p.context_rotations;
            summary["browser_restarts"] = p.restarts;
            summary["chromium_peak_pss_mb"] = std::lround(p.peak_pss_mb);
            summary["shm"] = p.shm;
        }
        rusage usage{};
        ::getrusage(RUSAGE_SELF, &usage);
        summary["worker_peak_rss_mb"] = std::lround(static_cast<double>(usage.ru_maxrss) / 1024.0);
        std::cout << summary.dump() << std::endl;
        signals.exiting();
    } catch (const std::invalid_argument& e) {
        // The workflow cannot be built from the config (a node this build cannot run, a sink
        // without what it needs): a config problem.
        signals.exiting();
        std::cerr << "worker: " << e.what() << "\n";
        return 3;
    } catch (const std::exception& e) {
        signals.exiting();
        std::cerr << "worker: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
