#include "queue/redis_connection.hpp"

#include "queue/errors.hpp"

#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

namespace rotor::queue {
namespace {

timeval to_timeval(milliseconds ms) {
    timeval tv{};
    tv.tv_sec = static_cast<decltype(tv.tv_sec)>(ms.count() / 1000);
    tv.tv_usec = static_cast<decltype(tv.tv_usec)>((ms.count() % 1000) * 1000);
    return tv;
}

// The one place hiredis replies become ours.
redis_reply convert(const redisReply* r) {
    redis_reply out;
    if (r == nullptr) return out;
    switch (r->type) {
    case REDIS_REPLY_NIL:
        out.type = redis_reply::kind::nil;
        break;
    case REDIS_REPLY_INTEGER:
        out.type = redis_reply::kind::integer;
        out.integer = r->integer;
        break;
    case REDIS_REPLY_STRING:
        out.type = redis_reply::kind::string;
        out.str.assign(r->str, r->len);
        break;
    case REDIS_REPLY_STATUS:
        out.type = redis_reply::kind::status;
        out.str.assign(r->str, r->len);
        break;
    case REDIS_REPLY_ERROR:
        out.type = redis_reply::kind::error;
        out.str.assign(r->str, r->len);
        break;
    case REDIS_REPLY_ARRAY: // bookworm's hiredis 0.14 speaks RESP2 only
        out.type = redis_reply::kind::array;
        for (std::size_t i = 0; i < r->elements; ++i)
            out.elements.push_back(convert(r->element[i]));
        break;
    default:
        break;
    }
    return out;
}

// Error replies that mean "not now", not "no": retried like a lost connection. LOADING: a
// restarted Redis reading its AOF/RDB; BUSY: a script runs; TRYAGAIN, MASTERDOWN: a cluster or a
// replica between masters; READONLY: this node is a replica now (a failover demoted it, or a
// proxy or DNS name still points at it). A script refused with READONLY wrote nothing (its first
// write failed; a replica accepts none), so the retry is safe.
bool is_transient(std::string_view text) {
    for (std::string_view code : {"LOADING", "BUSY", "TRYAGAIN", "MASTERDOWN", "READONLY"}) {
        if (text.rfind(code, 0) == 0) return true;
    }
    // Redis 6.2 and older wrap a script's failed write: "ERR Error running script (call to
    // f_...): @user_script:9: ... -READONLY You can't write against a read only replica."
    return text.find("Error running script") != std::string_view::npos &&
           text.find("-READONLY") != std::string_view::npos;
}

} // namespace

std::string redis_reply::as_string() const {
    if (type == kind::string || type == kind::status) return str;
    if (type == kind::integer) return std::to_string(integer);
    throw error(errc::redis_error, "expected a string reply, got " +
                                       std::string(type == kind::nil ? "nil" : "another type"));
}

std::int64_t redis_reply::as_integer() const {
    if (type == kind::integer) return integer;
    if (type == kind::string) {
        try {
            return std::stoll(str);
        } catch (const std::exception&) {
        }
    }
    throw error(errc::redis_error, "expected an integer reply, got '" + str + "'");
}

struct redis_connection::impl {
    redisContext* ctx = nullptr;
    ~impl() { reset(); }
    void reset() {
        if (ctx != nullptr) redisFree(ctx);
        ctx = nullptr;
    }
};

redis_connection::redis_connection(redis_options options)
    : options_(std::move(options)), impl_(std::make_unique<impl>()) {}

redis_connection::~redis_connection() = default;

bool redis_connection::connected() const noexcept {
    return impl_->ctx != nullptr;
}

void redis_connection::connect() {
    impl_->reset();
    const timeval tv = to_timeval(options_.connect_timeout);
    redisContext* c = redisConnectWithTimeout(options_.host.c_str(), options_.port, tv);
    if (c == nullptr || c->err != 0) {
        const std::string why = c != nullptr ? c->errstr : "cannot allocate a hiredis context";
        if (c != nullptr) redisFree(c);
        throw error(errc::redis_unavailable, "connect redis " + options_.host + ":" +
                                                 std::to_string(options_.port) + ": " + why);
    }
    const timeval cmd = to_timeval(options_.command_timeout);
    redisSetTimeout(c, cmd);
    redisEnableKeepAlive(c);
    impl_->ctx = c;
    const std::string where = options_.host + ":" + std::to_string(options_.port);
    // AUTH and SELECT on every (re)connect. A refused password or database is a setup error:
    // it is thrown as it is, not retried.
    auto setup = [&](std::vector<const char*> argv, const std::string& what) {
        std::vector<std::size_t> lens;
        for (const char* a : argv) lens.push_back(std::strlen(a));
        auto* raw = static_cast<redisReply*>(
            redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()));
        if (raw == nullptr) {
            const std::string why = c->errstr;
            impl_->reset();
            throw error(errc::redis_unavailable, what + " on redis " + where + ": " + why);
        }
        const bool refused = raw->type == REDIS_REPLY_ERROR;
        const std::string text = refused ? std::string(raw->str, raw->len) : "";
        freeReplyObject(raw);
        if (refused) {
            impl_->reset();
            // A Redis still loading its data after a restart is down for now, not refusing.
            const bool transient = is_transient(text);
            throw error(transient ? errc::redis_unavailable : errc::redis_error,
                        what + " on redis " + where + (transient ? ": " : " refused: ") + text);
        }
    };
    if (!options_.password.empty()) {
        if (options_.username.empty()) {
            setup({"AUTH", options_.password.c_str()}, "AUTH");
        } else {
            setup({"AUTH", options_.username.c_str(), options_.password.c_str()},
                  "AUTH as " + options_.username);
        }
    }
    if (options_.db != 0) {
        const std::string db = std::to_string(options_.db);
        setup({"SELECT", db.c_str()}, "SELECT " + db);
    }
}

void apply_redis_url(redis_options& options, const std::string& url) {
    const redis_options parsed = parse_redis_url(url);
    options.host = parsed.host;
    options.port = parsed.port;
    options.username = parsed.username;
    options.password = parsed.password;
    options.db = parsed.db;
}

std::int64_t steady_now_ms() noexcept {
    return std::chrono::duration_cast<milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

redis_options parse_redis_url(const std::string& url) {
    const auto bad = [&](const std::string& why) {
        // The URL may carry a password: it is not repeated in the message.
        std::string shown = url;
        const auto at = shown.rfind('@');
        if (at != std::string::npos && at > 8) shown = "redis://***" + shown.substr(at);
        return error(errc::invalid_argument,
                     "redis URL '" + shown + "': " + why +
                         " (expected redis://[[user]:password@]host[:port][/db])");
    };
    const std::string scheme = "redis://";
    if (url.rfind(scheme, 0) != 0) throw bad("it does not start with redis://");
    redis_options o;
    std::string rest = url.substr(scheme.size());
    if (const auto slash = rest.find('/'); slash != std::string::npos) {
        const std::string db = rest.substr(slash + 1);
        rest.resize(slash);
        if (!db.empty()) {
            if (db.find_first_not_of("0123456789") != std::string::npos || db.size() > 5)
                throw bad("the database '" + db + "' is not a number");
            o.db = std::stoi(db);
        }
    }
    if (const auto at = rest.rfind('@'); at != std::string::npos) {
        const std::string auth = rest.substr(0, at);
        rest = rest.substr(at + 1);
        const auto colon = auth.find(':');
        if (colon == std::string::npos) {
            o.password = auth; // redis://password@host, as some tools write it
        } else {
            o.username = auth.substr(0, colon);
            o.password = auth.substr(colon + 1);
        }
    }
    // An IPv6 address is written in brackets: redis://[::1]:6379.
    std::string bracketed;
    if (!rest.empty() && rest.front() == '[') {
        const auto close = rest.find(']');
        if (close == std::string::npos) throw bad("an IPv6 address without its closing ']'");
        bracketed = rest.substr(1, close - 1);
        rest = "[]" + rest.substr(close + 1);
    }
    if (const auto colon = rest.rfind(':'); colon != std::string::npos) {
        const std::string port = rest.substr(colon + 1);
        rest.resize(colon);
        if (port.empty() || port.find_first_not_of("0123456789") != std::string::npos ||
            port.size() > 5 || std::stoi(port) < 1 || std::stoi(port) > 65535)
            throw bad("the port '" + port + "' is not a port number");
        o.port = std::stoi(port);
    }
    if (rest == "[]") rest = bracketed;
    if (rest.empty()) throw bad("no host");
    o.host = rest;
    return o;
}

redis_reply redis_connection::command(const std::vector<std::string>& argv) {
    return command(argv, nullptr);
}

redis_reply
redis_connection::command(std::vector<std::string> argv,
                          const std::function<void(std::vector<std::string>&)>& on_retry) {
    std::vector<const char*> args;
    std::vector<std::size_t> lens;
    auto point_at_argv = [&] {
        args.clear();
        lens.clear();
        for (const auto& a : argv) {
            args.push_back(a.data());
            lens.push_back(a.size());
        }
    };
    point_at_argv();
    const auto give_up_at = std::chrono::steady_clock::now() + options_.retry_for;
    milliseconds backoff = options_.retry_backoff;
    std::string last_error;
    bool had_failure = false;
    for (;;) {
        try {
            if (impl_->ctx == nullptr) {
                connect();
                if (had_failure) {
                    ++reconnects_;
                    spdlog::info("redis {}:{}: connected again", options_.host, options_.port);
                }
            }
            auto* raw = static_cast<redisReply*>(redisCommandArgv(
                impl_->ctx, static_cast<int>(args.size()), args.data(), lens.data()));
            if (raw == nullptr) {
                // I/O error, EOF or timeout: the context is unusable. The command may have run
                // (a timeout, or a reply lost on the way): the retry can be a replay.
                const bool timed_out =
                    impl_->ctx->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK);
                last_error = timed_out
                                 ? "no reply within the command timeout (" +
                                       std::to_string(options_.command_timeout.count()) + " ms)"
                                 : std::string(impl_->ctx->errstr);
                impl_->reset();
                throw error(errc::redis_unavailable, last_error);
            }
            redis_reply reply = convert(raw);
            freeReplyObject(raw);
            if (reply.type == redis_reply::kind::error) {
                const std::string_view text(reply.str);
                if (is_transient(text)) {
                    // A replica stays one: reconnect, so a name that now points at the new
                    // primary (DNS, a proxy, a sentinel-aware load balancer) is looked up again.
                    if (text.rfind("READONLY", 0) == 0) impl_->reset();
                    throw error(errc::redis_unavailable, reply.str);
                }
                if (text.rfind("NOAUTH", 0) == 0) {
                    throw error(errc::redis_error,
                                "redis " + options_.host + ":" + std::to_string(options_.port) +
                                    " requires a password (give it in the Redis URL: "
                                    "redis://[user]:PASSWORD@host:port): " +
                                    reply.str);
                }
                throw error(errc::redis_error, "redis " + argv.front() + ": " + reply.str);
            }
            return reply;
        } catch (const error& e) {
            if (e.kind() != errc::redis_unavailable) throw;
            last_error = e.what();
        }
        if (!had_failure) {
            spdlog::warn("redis {}:{}: {}; retrying for up to {} ms", options_.host, options_.port,
                         last_error, options_.retry_for.count());
        }
        had_failure = true;
        // The last wait is cut to what is left, so the whole retry_for is tried (a worker that
        // cannot reach Redis at start waits exactly as long as it says).
        auto until = give_up_at;
        bool stopping = false;
        if (options_.cutoff) {
            const auto cut = options_.cutoff->load();
            const auto cut_at = std::chrono::steady_clock::time_point(milliseconds(cut));
            if (cut > 0 && cut_at < until) {
                until = cut_at;
                stopping = true;
            }
        }
        const auto now = std::chrono::steady_clock::now();
        if (now >= until) {
            throw error(errc::redis_unavailable,
                        "redis " + argv.front() + " on " + options_.host + ":" +
                            std::to_string(options_.port) +
                            (stopping ? ": no more retries (stopping): "
                                      : ": unavailable for " +
                                            std::to_string(options_.retry_for.count()) + " ms: ") +
                            last_error);
        }
        std::this_thread::sleep_for(
            std::min<std::chrono::steady_clock::duration>(backoff, until - now));
        backoff = std::min(options_.retry_backoff_max, backoff * 2);
        if (on_retry) {
            on_retry(argv);
            point_at_argv();
        }
    }
}

redis_reply redis_connection::eval(lua_script& script, const std::vector<std::string>& keys,
                                   const std::vector<std::string>& args,
                                   std::optional<std::size_t> replay_flag) {
    // Once a send failed, every later send of this call (a retry, or EVAL after NOSCRIPT) may
    // be a replay: the flag stays set.
    bool replay = false;
    const std::size_t flag_at = 3 + keys.size() + replay_flag.value_or(0);
    auto argv_for = [&](const std::string& verb, const std::string& what) {
        std::vector<std::string> argv{verb, what, std::to_string(keys.size())};
        argv.insert(argv.end(), keys.begin(), keys.end());
        argv.insert(argv.end(), args.begin(), args.end());
        if (replay && replay_flag) argv.at(flag_at) = "1";
        return argv;
    };
    auto on_retry = [&](std::vector<std::string>& argv) {
        replay = true;
        if (replay_flag) argv.at(flag_at) = "1";
    };
    if (script.sha.empty()) script.sha = command({"SCRIPT", "LOAD", script.body}).as_string();
    try {
        return command(argv_for("EVALSHA", script.sha), on_retry);
    } catch (const error& e) {
        if (e.kind() != errc::redis_error ||
            std::string_view(e.what()).find("NOSCRIPT") == std::string_view::npos) {
            throw error(e.kind(), "script " + script.name + ": " + e.what());
        }
    }
    // The script cache was emptied (restart, SCRIPT FLUSH): EVAL runs and caches it again.
    try {
        return command(argv_for("EVAL", script.body), on_retry);
    } catch (const error& e) {
        throw error(e.kind(), "script " + script.name + ": " + e.what());
    }
}

} // namespace rotor::queue
