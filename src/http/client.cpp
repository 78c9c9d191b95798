#include "http/client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <curl/curl.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <unordered_set>

namespace rotor::http {

namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;

namespace {

void global_init() {
    static std::once_flag once;
    static CURLcode code = CURLE_OK;
    std::call_once(once, [] { code = curl_global_init(CURL_GLOBAL_DEFAULT); });
    if (code != CURLE_OK) {
        throw std::runtime_error(std::string("libcurl cannot start: ") + curl_easy_strerror(code));
    }
}

std::string address_text(const struct sockaddr* sa) {
    char text[INET6_ADDRSTRLEN] = {0};
    if (sa->sa_family == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
        if (::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text) != nullptr) return text;
    } else if (sa->sa_family == AF_INET6) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
        if (::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text) != nullptr) return text;
    }
    return "";
}

// One socket curl asked us to watch. Waits are one-shot; `reading`/`writing` say one is pending.
struct watched {
    explicit watched(asio::posix::stream_descriptor d, bool own) : sd(std::move(d)), owned(own) {}
    asio::posix::stream_descriptor sd;
    int wanted = 0; // CURL_POLL_IN | CURL_POLL_OUT
    bool reading = false;
    bool writing = false;
    bool closed = false;
    bool owned = true; // opened by opensocket (we close it); else curl's own (released)
};

} // namespace

struct client::impl {
    struct transfer {
        impl* owner = nullptr;
        request req;
        response res;
        CURL* easy = nullptr;
        curl_slist* headers = nullptr;
        CURLcode code = CURLE_OK;
        std::string refused; // the guard's reason, when it refused an address
        int opened = 0;      // addresses the guard let through (happy eyeballs tries several)
        bool too_large = false;
        bool finished = false;
        char errbuf[CURL_ERROR_SIZE] = {0};
        std::optional<asio::steady_timer> done; // cancelled when the transfer ends
        clock_type::time_point started;

        ~transfer() {
            if (headers != nullptr) curl_slist_free_all(headers);
        }
    };

    explicit impl(client_options o) : options(std::move(o)), timer(io) {}
    ~impl();

    asio::awaitable<response> perform(std::shared_ptr<transfer> t);
    void start(transfer& t);
    void finish(CURLcode code, CURL* easy);
    void check_done();
    void action(curl_socket_t s, int mask);
    void arm(const std::shared_ptr<watched>& w, curl_socket_t s);

    static int on_socket(CURL* easy, curl_socket_t s, int what, void* self, void* socketp);
    static int on_timer(CURLM* multi, long timeout_ms, void* self);
    static curl_socket_t on_open(void* t, curlsocktype purpose, struct curl_sockaddr* address);
    static int on_close(void* self, curl_socket_t s);
    static size_t on_body(char* data, size_t size, size_t n, void* t);

    client_options options;
    // Declared first, destroyed last: the sockets and timers below belong to it.
    asio::io_context io;
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
    std::thread thread;
    CURLM* multi = nullptr;
    CURLSH* share = nullptr;
    curl_slist* resolve = nullptr;
    asio::steady_timer timer;
    std::unordered_map<curl_socket_t, std::shared_ptr<watched>> sockets;
    std::unordered_set<transfer*> active;
    std::vector<CURL*> idle; // easy handles kept for reuse
    client_stats stats;
};

client::impl::~impl() {
    // The thread is stopped: nothing else touches curl now. Transfers in flight are removed
    // first, then the multi handle closes its cached connections (on_close), then what is left.
    for (auto* t : active) {
        curl_multi_remove_handle(multi, t->easy);
        curl_easy_cleanup(t->easy);
        t->easy = nullptr;
    }
    active.clear();
    for (auto* e : idle) curl_easy_cleanup(e);
    idle.clear();
    if (multi != nullptr) curl_multi_cleanup(multi);
    if (share != nullptr) curl_share_cleanup(share);
    if (resolve != nullptr) curl_slist_free_all(resolve);
    for (auto& [fd, w] : sockets) {
        boost::system::error_code ec;
        w->closed = true;
        if (w->owned) {
            w->sd.close(ec);
        } else {
            w->sd.cancel(ec);
            (void)w->sd.release();
        }
    }
    sockets.clear();
}

int client::impl::on_socket(CURL*, curl_socket_t s, int what, void* self_p, void*) {
    auto* self = static_cast<impl*>(self_p);
    auto it = self->sockets.find(s);
    if (what == CURL_POLL_REMOVE) {
        if (it == self->sockets.end()) return 0;
        it->second->wanted = 0;
        if (!it->second->owned) {
            // A socket curl opened itself (a resolver's wake-up pipe): stop watching it, and
            // leave closing it to curl.
            boost::system::error_code ec;
            it->second->closed = true;
            it->second->sd.cancel(ec);
            (void)it->second->sd.release();
            self->sockets.erase(it);
        }
        return 0;
    }
    if (it == self->sockets.end()) {
        auto w = std::make_shared<watched>(asio::posix::stream_descriptor(self->io, s), false);
        it = self->sockets.emplace(s, std::move(w)).first;
    }
    it->second->wanted = what;
    self->arm(it->second, s);
    return 0;
}

// A wait that fires always reaches curl, even if curl since asked for the other direction: the
// reactor is edge-triggered, so an event not passed on now may never come again (curl ignores
// what it does not need).
void client::impl::arm(const std::shared_ptr<watched>& w, curl_socket_t s) {
    if (w->closed) return;
    if ((w->wanted & CURL_POLL_IN) != 0 && !w->reading) {
        w->reading = true;
        w->sd.async_wait(asio::posix::descriptor_base::wait_read,
                         [this, w, s](const boost::system::error_code& ec) {
                             w->reading = false;
                             if (w->closed || ec == asio::error::operation_aborted) return;
                             action(s, ec ? CURL_CSELECT_ERR : CURL_CSELECT_IN);
                             arm(w, s);
                         });
    }
    if ((w->wanted & CURL_POLL_OUT) != 0 && !w->writing) {
        w->writing = true;
        w->sd.async_wait(asio::posix::descriptor_base::wait_write,
                         [this, w, s](const boost::system::error_code& ec) {
                             w->writing = false;
                             if (w->closed || ec == asio::error::operation_aborted) return;
                             action(s, ec ? CURL_CSELECT_ERR : CURL_CSELECT_OUT);
                             arm(w, s);
                         });
    }
}

int client::impl::on_timer(CURLM*, long timeout_ms, void* self_p) {
    auto* self = static_cast<impl*>(self_p);
    if (timeout_ms < 0) {
        self->timer.cancel();
        return 0;
    }
    // curl asks to be called back; never from inside this callback (hence a timer even for 0).
    self->timer.expires_after(milliseconds(timeout_ms));
    self->timer.async_wait([self](const boost::system::error_code& ec) {
        if (!ec) self->action(CURL_SOCKET_TIMEOUT, 0);
    });
    return 0;
}

curl_socket_t client::impl::on_open(void* t_p, curlsocktype purpose,
                                    struct curl_sockaddr* address) {
    auto* t = static_cast<transfer*>(t_p);
    auto* self = t->owner;
    if (purpose != CURLSOCKTYPE_IPCXN) return CURL_SOCKET_BAD;
    if (self->options.guard) {
        const std::string ip = address_text(&address->addr);
        std::string why =
            ip.empty() ? "an address of an unknown family" : self->options.guard(t->req.url, ip);
        if (!why.empty()) {
            if (t->refused.empty()) t->refused = std::move(why);
            ++self->stats.refused;
            return CURL_SOCKET_BAD;
        }
    }
    const int fd = ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
    if (fd < 0) return CURL_SOCKET_BAD;
    try {
        auto w = std::make_shared<watched>(asio::posix::stream_descriptor(self->io, fd), true);
        self->sockets[fd] = std::move(w);
    } catch (const std::exception&) {
        ::close(fd);
        return CURL_SOCKET_BAD;
    }
    ++self->stats.connections_opened;
    ++t->opened;
    return fd;
}

int client::impl::on_close(void* self_p, curl_socket_t s) {
    auto* self = static_cast<impl*>(self_p);
    const auto it = self->sockets.find(s);
    if (it == self->sockets.end()) return ::close(s);
    auto w = it->second;
    self->sockets.erase(it);
    boost::system::error_code ec;
    w->closed = true;
    w->sd.close(ec); // pending waits end with operation_aborted and see `closed`
    return 0;
}

size_t client::impl::on_body(char* data, size_t size, size_t n, void* t_p) {
    auto* t = static_cast<transfer*>(t_p);
    const size_t len = size * n;
    if (t->res.body.size() + len > t->req.max_body) {
        t->too_large = true;
        return 0; // curl fails the transfer with CURLE_WRITE_ERROR
    }
    t->res.body.append(data, len);
    return len;
}

void client::impl::action(curl_socket_t s, int mask) {
    int running = 0;
    curl_multi_socket_action(multi, s, mask, &running);
    check_done();
}

void client::impl::check_done() {
    int left = 0;
    while (CURLMsg* m = curl_multi_info_read(multi, &left)) {
        if (m->msg == CURLMSG_DONE) finish(m->data.result, m->easy_handle);
    }
}

void client::impl::finish(CURLcode code, CURL* easy) {
    transfer* t = nullptr;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &t);
    curl_multi_remove_handle(multi, easy);
    if (t == nullptr) return;
    t->code = code;
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    t->res.status = static_cast<int>(status);
    const char* text = nullptr;
    if (curl_easy_getinfo(easy, CURLINFO_CONTENT_TYPE, &text) == CURLE_OK && text != nullptr) {
        t->res.content_type = text;
    }
    text = nullptr;
    if (curl_easy_getinfo(easy, CURLINFO_REDIRECT_URL, &text) == CURLE_OK && text != nullptr) {
        t->res.redirect_url = text;
    }
    text = nullptr;
    if (curl_easy_getinfo(easy, CURLINFO_PRIMARY_IP, &text) == CURLE_OK && text != nullptr) {
        t->res.address = text;
    }
    long version = 0;
    curl_easy_getinfo(easy, CURLINFO_HTTP_VERSION, &version);
    t->res.http_version = version == CURL_HTTP_VERSION_2_0    ? 2
                          : version == CURL_HTTP_VERSION_3    ? 3
                          : version == CURL_HTTP_VERSION_NONE ? 0
                                                              : 1;
    long connects = 0;
    curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &connects);
    t->res.reused_connection = code == CURLE_OK && connects == 0;
    if (t->res.reused_connection) ++stats.reused;
    t->res.elapsed = std::chrono::duration_cast<milliseconds>(clock_type::now() - t->started);
    t->finished = true;
    active.erase(t);
    if (t->done) t->done->cancel();
}

void client::impl::start(transfer& t) {
    CURL* e = nullptr;
    if (!idle.empty()) {
        e = idle.back();
        idle.pop_back();
        curl_easy_reset(e);
    } else {
        e = curl_easy_init();
        if (e == nullptr) throw error(errc::transfer_failed, "libcurl: cannot create a handle");
    }
    t.easy = e;
    const auto& r = t.req;
    curl_easy_setopt(e, CURLOPT_URL, r.url.c_str());
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L); // the caller checks where a redirect goes
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROXY, options.proxy.c_str());
    curl_easy_setopt(e, CURLOPT_SHARE, share);
    if (resolve != nullptr) curl_easy_setopt(e, CURLOPT_RESOLVE, resolve);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
    curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, ""); // every encoding this libcurl decodes
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, options.user_agent.c_str());
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
                     static_cast<long>(std::max<long long>(1, r.timeout.count())));
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(std::max<long long>(1, r.connect_timeout.count())));
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t.errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, &t);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &impl::on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, &impl::on_open);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, &t);
    // A connection outlives its first transfer (the cache closes it later): its close callback
    // gets the client, which outlives every connection.
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, &impl::on_close);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, this);
    for (const auto& [name, value] : r.headers) {
        const std::string line = value.empty() ? name + ";" : name + ": " + value;
        t.headers = curl_slist_append(t.headers, line.c_str());
    }
    if (t.headers != nullptr) curl_easy_setopt(e, CURLOPT_HTTPHEADER, t.headers);
    if (r.method == "GET") {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else if (r.method == "HEAD") {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else {
        if (r.method == "POST" || r.method == "PUT" || r.method == "PATCH") {
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                             static_cast<curl_off_t>(r.body.size()));
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, r.body.data()); // t outlives the transfer
        }
        if (r.method != "POST") curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r.method.c_str());
    }
    t.started = clock_type::now();
    active.insert(&t);
    if (const CURLMcode m = curl_multi_add_handle(multi, e); m != CURLM_OK) {
        active.erase(&t);
        curl_easy_cleanup(e);
        t.easy = nullptr;
        throw error(errc::transfer_failed,
                    r.method + " " + r.url + ": libcurl: " + curl_multi_strerror(m));
    }
    ++stats.requests;
}

asio::awaitable<response> client::impl::perform(std::shared_ptr<transfer> t) {
    t->owner = this;
    t->done.emplace(io, asio::steady_timer::time_point::max());
    start(*t);
    // The transfer ends in a handler on this thread (finish() cancels `done`), never before this
    // coroutine suspends: start() only arms curl's timer.
    while (!t->finished) {
        boost::system::error_code ec;
        co_await t->done->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    if (t->easy != nullptr) {
        curl_easy_reset(t->easy);
        if (idle.size() < 256) {
            idle.push_back(t->easy);
        } else {
            curl_easy_cleanup(t->easy);
        }
        t->easy = nullptr;
    }
    const auto& r = t->req;
    const std::string what = r.method + " " + r.url + ": ";
    switch (t->code) {
    case CURLE_OK:
        co_return std::move(t->res);
    case CURLE_OPERATION_TIMEDOUT:
        throw error(errc::timeout, what + "timeout after " + std::to_string(r.timeout.count()) +
                                       " ms (" + t->errbuf + ")");
    case CURLE_UNSUPPORTED_PROTOCOL:
        throw error(errc::refused, what + "refused: only http and https are fetched");
    case CURLE_COULDNT_RESOLVE_HOST:
        throw error(errc::resolve_failed,
                    what + "the host name did not resolve (" + std::string(t->errbuf) + ")");
    case CURLE_WRITE_ERROR:
        if (t->too_large) {
            throw error(errc::too_large,
                        what + "the response is over " + std::to_string(r.max_body) + " bytes");
        }
        break;
    case CURLE_COULDNT_CONNECT:
        // Refused only when no address was let through: a refused IPv6 address next to an IPv4
        // one that timed out is a connection failure (retried), not a refusal.
        if (!t->refused.empty() && t->opened == 0) {
            throw error(errc::refused, what + "refused: " + t->refused);
        }
        throw error(errc::connect_failed, what + "cannot connect (" + std::string(t->errbuf) + ")");
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
        throw error(errc::connect_failed,
                    what + "TLS: " + curl_easy_strerror(t->code) + " (" + t->errbuf + ")");
    default:
        break;
    }
    const std::string detail = t->errbuf[0] != '\0' ? std::string(" (") + t->errbuf + ")" : "";
    throw error(errc::transfer_failed, what + curl_easy_strerror(t->code) + detail);
}

client::client(client_options options) : impl_(std::make_unique<impl>(std::move(options))) {
    global_init();
    auto& i = *impl_;
    if (i.options.guard && !i.options.proxy.empty()) {
        // Through a proxy the guard would see the proxy's address, never the target's.
        throw std::invalid_argument("http client: an address guard cannot work through a proxy");
    }
    i.multi = curl_multi_init();
    i.share = curl_share_init();
    if (i.multi == nullptr || i.share == nullptr) {
        throw std::runtime_error("libcurl: cannot create a multi or share handle");
    }
    // One thread uses these handles: the share needs no locks.
    curl_share_setopt(i.share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(i.share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    for (const auto& pin : i.options.resolve) i.resolve = curl_slist_append(i.resolve, pin.c_str());
    curl_multi_setopt(i.multi, CURLMOPT_SOCKETFUNCTION, &impl::on_socket);
    curl_multi_setopt(i.multi, CURLMOPT_SOCKETDATA, impl_.get());
    curl_multi_setopt(i.multi, CURLMOPT_TIMERFUNCTION, &impl::on_timer);
    curl_multi_setopt(i.multi, CURLMOPT_TIMERDATA, impl_.get());
    curl_multi_setopt(i.multi, CURLMOPT_PIPELINING, static_cast<long>(CURLPIPE_MULTIPLEX));
    if (i.options.max_host_connections > 0) {
        curl_multi_setopt(i.multi, CURLMOPT_MAX_HOST_CONNECTIONS, i.options.max_host_connections);
    }
    if (i.options.max_total_connections > 0) {
        curl_multi_setopt(i.multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, i.options.max_total_connections);
    }
    i.work.emplace(i.io.get_executor());
    i.thread = std::thread([&i] { i.io.run(); });
}

client::~client() {
    impl_->work.reset();
    impl_->io.stop();
    if (impl_->thread.joinable()) impl_->thread.join();
}

asio::awaitable<response> client::fetch(request r) {
    auto t = std::make_shared<impl::transfer>();
    t->req = std::move(r);
    impl* self = impl_.get();
    // A named callable, not a temporary in the co_await expression (GCC 12).
    auto run = [self, t]() -> asio::awaitable<response> { return self->perform(t); };
    co_return co_await asio::co_spawn(self->io, std::move(run), asio::use_awaitable);
}

const client_stats& client::stats() const noexcept {
    return impl_->stats;
}

} // namespace rotor::http
