// rotorctl: enqueue products as batch jobs; watch platforms and groups; list failures and retry
// them; pause and resume a platform; requeue dead jobs and clean old ones away; check configs.
// Output: plain `key=value` lines (progress bars on a terminal), or JSON lines with --json.
// Exit codes: 0 done, 1 failed (Redis, a job or group that does not exist), 2 usage.
#include "app/config_commands.hpp"
#include "app/enqueue_command.hpp"
#include "app/failure_commands.hpp"
#include "app/logging.hpp"
#include "app/printer.hpp"
#include "app/status_command.hpp"
#include "queue/job_admin.hpp"
#include "queue/job_queue.hpp"

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <chrono>
#include <iostream>
#include <sstream>

int main(int argc, char** argv) {
    // Logs go to stderr: stdout carries the JSON lines scripts read.
    spdlog::set_default_logger(spdlog::stderr_color_mt("rotor"));
    CLI::App app{"rotorctl: rotor's admin command line"};
    app.require_subcommand(1);
    // Global options may also come after the subcommand (rotorctl status --json).
    app.fallthrough();
    rotor::queue::redis_options redis;
    rotor::queue::queue_options queue;
    app.add_option("--redis-host", redis.host);
    app.add_option("--redis-port", redis.port)->check(CLI::Range(1, 65535));
    // An admin command waits a little for a restarting Redis, not a worker's minute.
    redis.retry_for = std::chrono::milliseconds(5000);
    std::int64_t redis_wait_ms = redis.retry_for.count();
    app.add_option("--redis-wait-ms", redis_wait_ms,
                   "How long to keep retrying while Redis is unreachable (default 5000)")
        ->check(CLI::Range(std::int64_t{0}, std::int64_t{3600000}));
    std::string redis_url;
    app.add_option(
           "--redis-url", redis_url,
           "redis://[[user]:password@]host[:port][/db]; overrides --redis-host/--redis-port")
        ->envname("ROTOR_REDIS_URL");
    app.add_option("--prefix", queue.prefix, "Redis key prefix");
    bool json = false;
    app.add_flag("--json", json, "One JSON object per line (for scripts)");
    std::string config_dir = "config/platforms";
    app.add_option("--config-dir", config_dir,
                   "Where the platform files are (default config/platforms)")
        ->envname("ROTOR_CONFIG_DIR");
    std::string log_format = "text";
    app.add_option("--log-format", log_format, "text, or json: one JSON object per line")
        ->check(CLI::IsMember({"text", "json"}));
    std::string log_level = "warn";
    app.add_option("--log-level", log_level, "trace, debug, info, warn, error, critical or off")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));

    auto* enqueue = app.add_subcommand("enqueue", "Split products into batch jobs");
    rotor::queue::enqueue_target request;
    rotor::app::enqueue_source source;
    std::string prio = "normal";
    enqueue->add_option("--platform", request.platform)->required();
    enqueue->add_option("--workflow", request.workflow_id);
    enqueue->add_option("--items", source.items, "Comma-separated product ids");
    enqueue->add_option("--range", source.range, "FROM-TO product ids");
    enqueue->add_option("--file", source.file,
                        "Items from a file (.csv: one id per row, or a header naming the id "
                        "column; .jsonl: an id or an object with \"id\" per line), - for stdin");
    enqueue->add_option("--format", source.format, "Format of --file (default: by its name)")
        ->check(CLI::IsMember({"auto", "csv", "jsonl"}));
    enqueue->add_flag("--skip-bad-lines", source.skip_bad_lines,
                      "Enqueue the good lines and report the bad ones (default: refuse all)");
    enqueue->add_option("--idempotency-key", request.idempotency_key,
                        "Running again with the same key adds nothing twice (default: one is "
                        "made up and printed)");
    enqueue->add_option("--batch-size", queue.batch_size)->check(CLI::Range(1, 100000));
    enqueue
        ->add_option("--chunk-items", source.chunk_items,
                     "Ids written per Redis script at most (default 10000; whole jobs)")
        ->check(CLI::Range(1, 1000000));
    enqueue->add_option("--priority", prio)->check(CLI::IsMember({"high", "normal", "low"}));
    enqueue->add_option("--group", request.group_id);

    auto* status = app.add_subcommand(
        "status", "Platforms (queue depths, workers alive, paused, cooldown) and batch groups "
                  "(progress, items/s, ETA)");
    std::string platform;
    rotor::app::status_options status_opts;
    status->add_option("--platform", status_opts.platforms,
                       "Only these platforms (default: every configured one and every one in "
                       "Redis)");
    status->add_option("--group", status_opts.groups, "Batch groups to show progress of");
    status->add_flag("--watch", status_opts.watch, "Redraw every --interval seconds");
    std::int64_t interval_s = 2;
    status->add_option("--interval", interval_s, "Seconds between updates with --watch")
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{3600}));
    status
        ->add_option("--updates", status_opts.updates,
                     "With --watch: stop after this many updates (default: until Ctrl-C)")
        ->check(CLI::Range(std::size_t{0}, std::size_t{1000000}));

    auto* group = app.add_subcommand("group", "Progress of a batch group, items done and failed");
    std::string group_id;
    group->add_option("id", group_id)->required();

    auto* failures =
        app.add_subcommand("failures", "Failed items of a job or a batch group, with the reasons");
    std::string job_id;
    std::string failures_group;
    failures->add_option("--job,job", job_id, "A job id");
    failures->add_option("--group", failures_group, "A batch group id");

    auto* retry_failed = app.add_subcommand(
        "retry-failed", "Enqueue a group's failed items again as a new batch group");
    std::string retry_group;
    std::string retry_key;
    retry_failed->add_option("--group", retry_group)->required();
    retry_failed->add_option("--idempotency-key", retry_key,
                             "Default retry-failed:<group>: running it again adds nothing twice");

    auto* pause = app.add_subcommand(
        "pause", "Workers claim no job of the platform until resume (running jobs run on)");
    std::string pause_reason;
    pause->add_option("--platform", platform)->required();
    pause->add_option("--reason", pause_reason, "Shown by status");
    auto* resume = app.add_subcommand("resume", "Workers claim the platform's jobs again");
    resume->add_option("--platform", platform)->required();

    auto* jobs = app.add_subcommand("jobs", "Jobs of a platform in one state, with their fields");
    std::string state_name = "dead";
    std::size_t limit = 100;
    jobs->add_option("--platform", platform)->required();
    jobs->add_option("--state", state_name)
        ->check(CLI::IsMember({"queued", "running", "delayed", "dead"}));
    jobs->add_option("--limit", limit)->check(CLI::Range(1, 100000));

    auto* requeue = app.add_subcommand("requeue", "Put dead jobs back into their queue");
    std::vector<std::string> requeue_ids;
    bool all_dead = false;
    requeue->add_option("jobs", requeue_ids, "Job ids");
    requeue->add_flag("--all-dead", all_dead, "Every dead job of --platform");
    requeue->add_option("--platform", platform);

    auto* workers = app.add_subcommand("workers", "Workers heard of, most recent first");

    auto* dead = app.add_subcommand("dead", "Dead jobs: list them, clean old ones away");
    dead->require_subcommand(1);
    auto* dead_list = dead->add_subcommand("list", "Dead jobs with why they died, oldest first");
    dead_list->add_option("--platform", platform, "Default: every platform with dead jobs");
    dead_list->add_option("--limit", limit, "Per platform")->check(CLI::Range(1, 100000));
    auto* dead_requeue =
        dead->add_subcommand("requeue", "Put dead jobs back into their queue (as requeue)");
    dead_requeue->add_option("jobs", requeue_ids, "Job ids");
    dead_requeue->add_flag("--all-dead", all_dead, "Every dead job of --platform");
    dead_requeue->add_option("--platform", platform);
    auto* dead_clean = dead->add_subcommand(
        "clean", "Delete dead jobs (hash, failures, results) that died before --older-than");
    std::string older_than;
    dead_clean->add_option("--older-than", older_than, "Age: 7d, 12h, 30m, 45s")->required();
    dead_clean->add_option("--platform", platform, "Default: every platform with dead jobs");

    auto* config = app.add_subcommand("config", "Platform configs");
    config->require_subcommand(1);
    auto* config_check =
        config->add_subcommand("check", "Load every platform file; every problem, exit 1 on any");
    auto* probe = app.add_subcommand(
        "probe", "One item through a platform's scan and validate, locally (no Redis, no save)");
    std::string probe_item;
    probe->add_option("--platform", platform)->required();
    probe->add_option("item", probe_item, "An item id, or a URL on the platform's hosts")
        ->required();

    try {
        app.parse(argc, argv);
    } catch (const CLI::Success& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e); // prints the message naming the option
        return 2;
    }
    rotor::app::configure_logging(log_format, log_level);
    if (*failures && job_id.empty() == failures_group.empty()) {
        std::cerr << "rotorctl failures: give exactly one of --job and --group\n";
        return 2;
    }
    rotor::app::printer out(std::cout, rotor::app::printer::pick(json, STDOUT_FILENO));
    // The config commands and enqueue write JSON lines; printed through `out` in its mode.
    auto through_printer = [&out](auto&& command) {
        std::ostringstream buffer;
        const int rc = command(buffer);
        out.lines_of(buffer.str());
        return rc;
    };
    // These need no Redis.
    if (*config_check) {
        return through_printer([&](std::ostream& o) {
            return rotor::app::run_config_check(config_dir, o, std::cerr);
        });
    }
    if (*probe) {
        return through_printer([&](std::ostream& o) {
            return rotor::app::run_probe(config_dir, platform, probe_item, o, std::cerr);
        });
    }
    try {
        if (!redis_url.empty()) rotor::queue::apply_redis_url(redis, redis_url);
        redis.retry_for = std::chrono::milliseconds(redis_wait_ms);
        rotor::queue::job_queue q(redis, queue);
        rotor::queue::job_admin admin(redis, queue);
        const auto platforms = [&] {
            return platform.empty() ? admin.platforms_with_dead()
                                    : std::vector<std::string>{platform};
        };
        if (*enqueue) {
            if (request.workflow_id.empty()) request.workflow_id = request.platform + "-update-v2";
            request.prio = prio == "high"  ? rotor::queue::priority::high
                           : prio == "low" ? rotor::queue::priority::low
                                           : rotor::queue::priority::normal;
            return through_printer([&](std::ostream& o) {
                return rotor::app::run_enqueue(q, request, source, o, std::cerr);
            });
        } else if (*status) {
            status_opts.config_dir = config_dir;
            status_opts.interval = std::chrono::seconds(interval_s);
            return rotor::app::run_status(q, admin, queue, status_opts, out);
        } else if (*pause) {
            char host[256] = {0};
            ::gethostname(host, sizeof host - 1);
            admin.pause(platform, std::string("rotorctl@") + host, pause_reason);
            out.line({{"platform", platform}, {"paused", true}, {"reason", pause_reason}});
        } else if (*resume) {
            const bool was = admin.resume(platform);
            out.line({{"platform", platform}, {"paused", false}, {"was_paused", was}});
        } else if (*retry_failed) {
            return rotor::app::run_retry_failed(q, admin.key_names(), retry_group, retry_key, out,
                                                std::cerr);
        } else if (*group) {
            const auto g = q.progress(group_id);
            std::int64_t ok = 0;
            std::int64_t gone = 0;
            std::int64_t cached = 0;
            std::int64_t failed = 0;
            nlohmann::json examples = nlohmann::json::array();
            for (std::int64_t i = g.first; i < g.first + g.total; ++i) {
                const std::string id = group_id + "-" + std::to_string(i);
                // A result is ok, gone (404/410: stored with "gone": true) or cached (answered
                // from the freshness cache: "cached": true).
                auto flagged = [](const nlohmann::json& r, const char* name) {
                    const auto flag = r.is_object() ? r.find(name) : r.end();
                    return flag != r.end() && flag->is_boolean() && flag->get<bool>();
                };
                for (const auto& v :
                     q.command({"HVALS", queue.prefix + "results:" + id}).elements) {
                    const auto r = nlohmann::json::parse(v.as_string(), nullptr, false);
                    if (flagged(r, "gone"))
                        ++gone;
                    else if (flagged(r, "cached"))
                        ++cached;
                    else
                        ++ok;
                }
                for (const auto& f : q.failures(id)) {
                    ++failed;
                    if (examples.size() < 5)
                        examples.push_back({{"item", f.item}, {"error", f.error}});
                }
            }
            out.line(nlohmann::json{{"group", group_id},
                                    {"jobs", g.total},
                                    {"jobs_completed", g.completed},
                                    {"jobs_failed", g.failed},
                                    {"progress", g.progress},
                                    {"enqueuing", g.enqueuing},
                                    {"items_ok", ok},
                                    {"items_gone", gone},
                                    {"items_cached", cached},
                                    {"items_failed", failed},
                                    {"failed_examples", examples}});
        } else if (*jobs) {
            for (const auto& j :
                 admin.list(platform, *rotor::queue::parse_job_state(state_name), limit)) {
                nlohmann::json line = {{"id", j.id}, {"state", state_name}, {"at_ms", j.at_ms}};
                for (const char* field :
                     {"worker", "attempts", "stalled", "group", "last_error", "updated_at"}) {
                    const auto it = j.fields.find(field);
                    if (it != j.fields.end()) line[field] = it->second;
                }
                out.line(line);
            }
        } else if (*requeue || *dead_requeue) {
            if (all_dead) {
                if (platform.empty()) throw std::invalid_argument("--all-dead needs --platform");
                for (const auto& j : admin.list(platform, rotor::queue::job_state::dead, 100000))
                    requeue_ids.push_back(j.id);
            }
            if (requeue_ids.empty()) throw std::invalid_argument("requeue: no job ids given");
            int failed = 0;
            for (const auto& id : requeue_ids) {
                try {
                    admin.requeue(id);
                    out.line({{"requeued", id}});
                } catch (const rotor::queue::error& e) {
                    std::cerr << "rotorctl: " << e.what() << "\n";
                    ++failed;
                }
            }
            if (failed > 0) return 1;
        } else if (*workers) {
            const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count();
            for (const auto& w : q.workers()) {
                out.line(
                    {{"id", w.id}, {"seen_ms_ago", now_ms - w.last_seen_ms}, {"status", w.status}});
            }
        } else if (*dead_list) {
            for (const auto& p : platforms()) {
                for (const auto& j : admin.list(p, rotor::queue::job_state::dead, limit)) {
                    nlohmann::json line = {{"id", j.id}, {"platform", p}, {"died_at_ms", j.at_ms}};
                    for (const char* field :
                         {"last_error", "attempts", "stalled", "group", "worker"}) {
                        const auto it = j.fields.find(field);
                        if (it != j.fields.end()) line[field] = it->second;
                    }
                    out.line(line); // invalid UTF-8 in a reason is replaced, not thrown
                }
            }
        } else if (*dead_clean) {
            const auto age = rotor::queue::parse_age(older_than);
            for (const auto& p : platforms()) {
                out.line({{"platform", p}, {"removed", admin.clean_dead(p, age)}});
            }
        } else if (*failures) {
            return rotor::app::run_failures(q, admin.key_names(), job_id, failures_group, out);
        }
    } catch (const std::exception& e) {
        std::cerr << "rotorctl: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
