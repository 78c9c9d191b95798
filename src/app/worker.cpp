// worker --platform P: claims the platform's batch jobs from Redis and scans their items with a
// pool of Chromium processes. SIGTERM/SIGINT: finish the items in flight, release the job (back
// to the front of its queue with its checkpoint, no stall counted), then exit; another worker
// resumes it at once.
#include "nodes/batch_runner.hpp"
#include "queue/redis_durability.hpp"

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <csignal>
#include <iostream>
#include <thread>

int main(int argc, char** argv) {
    CLI::App app{"rotor worker: runs a platform's batch jobs from Redis"};
    rotor::nodes::runner_options runner;
    rotor::queue::redis_options redis;
    rotor::queue::queue_options queue;
    rotor::pool::pool_options pool;
    std::string shm = "auto";
    app.add_option("--platform", runner.platform, "Platform whose queue to serve")->required();
    app.add_option("--worker-id", runner.worker_id, "Default: <hostname>-<pid>");
    app.add_option("--redis-host", redis.host);
    app.add_option("--redis-port", redis.port);
    std::string redis_url;
    app.add_option(
           "--redis-url", redis_url,
           "redis://[[user]:password@]host[:port][/db]; overrides --redis-host/--redis-port")
        ->envname("ROTOR_REDIS_URL");
    app.add_option("--prefix", queue.prefix, "Redis key prefix");
    app.add_option("--base-url", runner.scan.base_url, "Replaces {base} in the URL template")
        ->required();
    app.add_option("--url-template", runner.scan.url_template);
    app.add_option("--browsers", pool.browsers)->check(CLI::Range(1, 32));
    app.add_option("--concurrency", pool.concurrency)->check(CLI::Range(1, 256));
    app.add_option("--memory-budget-mb", pool.rotation.memory_budget_mb);
    app.add_option("--shm", shm, "auto, use or avoid")
        ->check(CLI::IsMember({"auto", "use", "avoid"}));
    app.add_option("--rate", runner.scan.rate_per_second,
                   "Requests/s for the platform, all workers");
    app.add_option("--rate-burst", runner.scan.rate_burst,
                   "requests that may go back to back before the rate holds")
        ->check(CLI::Range(1, 1000));
    app.add_flag("--drain", runner.drain, "Exit when the platform's queue is empty");
    bool allow_eviction = false;
    app.add_flag("--allow-eviction", allow_eviction,
                 "Run on a Redis whose maxmemory-policy may evict keys (checkpoints, jobs)");
    CLI11_PARSE(app, argc, argv);
    if (!redis_url.empty()) {
        try {
            rotor::queue::apply_redis_url(redis, redis_url);
        } catch (const std::exception& e) {
            std::cerr << "worker: " << e.what() << "\n";
            return 2;
        }
    }
    if (runner.worker_id.empty()) {
        char host[256] = {0};
        ::gethostname(host, sizeof host - 1);
        runner.worker_id = std::string(host) + "-" + std::to_string(::getpid());
    }
    pool.shm = rotor::pool::shm_mode_from_string(shm);
    try {
        // What this Redis can lose is said once at start; an evicting one is refused unless
        // allowed (it could drop checkpoints and job hashes under memory pressure).
        rotor::queue::redis_connection redis_check(redis);
        const auto report = rotor::queue::check_durability(redis_check, allow_eviction);
        spdlog::info("redis {}:{} durability: {}", redis.host, redis.port, report.summary);
        for (const auto& w : report.warnings)
            spdlog::warn("redis {}:{}: {}", redis.host, redis.port, w);
    } catch (const std::exception& e) {
        std::cerr << "worker: " << e.what() << "\n";
        return 2;
    }

    // Signals are taken by a thread of ours, never by a library thread.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    try {
        rotor::pool::browser_pool browsers(pool);
        rotor::nodes::batch_runner run(browsers, redis, queue, runner);
        std::thread signal_thread([&] {
            int sig = 0;
            sigwait(&signals, &sig);
            if (sig == SIGINT || sig == SIGTERM) {
                spdlog::info("worker {}: signal {}: finishing the items in flight",
                             runner.worker_id, sig);
                run.stop();
            }
        });
        signal_thread.detach();
        spdlog::info("worker {}: serving {} ({} browsers, concurrency {})", runner.worker_id,
                     runner.platform, pool.browsers, pool.concurrency);
        run.run();
        const auto s = run.stats();
        const auto p = browsers.stats();
        std::cout << nlohmann::json{{"worker", runner.worker_id},
                                    {"jobs_completed", s.jobs_completed},
                                    {"jobs_failed", s.jobs_failed},
                                    {"items_ok", s.items_ok},
                                    {"items_failed", s.items_failed},
                                    {"items_retried", s.items_retried},
                                    {"items_skipped_by_checkpoint", s.items_skipped},
                                    {"page_rotations", p.page_rotations},
                                    {"context_rotations", p.context_rotations},
                                    {"browser_restarts", p.restarts},
                                    {"shm", p.shm}}
                         .dump()
                  << std::endl;
    } catch (const std::exception& e) {
        std::cerr << "worker: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
