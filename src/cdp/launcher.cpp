#include "cdp/launcher.hpp"

#include "cdp/detail/run_dir.hpp"
#include "cdp/detail/spawn_thread.hpp"
#include "cdp/errors.hpp"

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>

extern char** environ;

namespace rotor::cdp {
namespace {

std::string env_or(const char* name, std::string fallback) {
    const char* value = std::getenv(name);
    return value != nullptr && *value != '\0' ? std::string(value) : std::move(fallback);
}

struct devtools_endpoint {
    unsigned short port = 0;
    std::string path;
};

// DevToolsActivePort holds "<port>\n<path>\n" once Chromium listens.
bool read_active_port(const std::filesystem::path& file, devtools_endpoint& out) {
    std::ifstream in(file);
    std::string port_line;
    std::string path_line;
    if (!std::getline(in, port_line) || !std::getline(in, path_line)) return false;
    char* end = nullptr;
    const long port = std::strtol(port_line.c_str(), &end, 10);
    if (end == port_line.c_str() || port <= 0 || port > 65535 || path_line.empty()) return false;
    out.port = static_cast<unsigned short>(port);
    out.path = path_line;
    return true;
}

// Closes every descriptor from `first` up in the forked child: async-signal-safe (no /proc
// listing, no allocation). close_range (Linux 5.9) in one call, else one close() per possible
// descriptor below `max_fd` (sysconf(_SC_OPEN_MAX), read before fork).
void close_descriptors_from(int first, long max_fd) noexcept {
#ifdef SYS_close_range
    if (::syscall(SYS_close_range, static_cast<unsigned>(first), ~0U, 0U) == 0) return;
#endif
    for (long fd = first; fd < max_fd; ++fd) ::close(static_cast<int>(fd));
}

// Chromium binds its process-singleton socket at $TMPDIR/org.chromium.Chromium.XXXXXX/
// SingletonSocket and exits at start ("Socket path too long") when that path does not fit
// sockaddr_un::sun_path with its terminating NUL.
bool fits_singleton_socket(const std::string& tmpdir) {
    constexpr std::string_view below = "/org.chromium.Chromium.XXXXXX/SingletonSocket";
    return tmpdir.size() + below.size() < sizeof(sockaddr_un::sun_path);
}

[[noreturn]] void fail(const std::string& what, chromium_process* process) {
    std::string message = "launch chromium: " + what;
    if (process != nullptr) {
        const auto tail = process->log_tail(20);
        if (!tail.empty()) message += "\n--- chromium output (last lines) ---\n" + tail;
    }
    throw error(errc::launch_failed, message);
}

} // namespace

std::string default_chromium_path() {
    return env_or("CHROME_PATH", "/usr/bin/chromium");
}

std::string resolve_chromium_executable(const std::string& path) {
    // Debian's /usr/bin/chromium is a shell script that adds its own flags (extensions, GPU
    // rasterization) and reads /etc/chromium.d; start the real binary beside it instead.
    std::error_code ec;
    const auto canonical = std::filesystem::weakly_canonical(path, ec);
    if (!ec && canonical == "/usr/bin/chromium") {
        std::ifstream in(path, std::ios::binary);
        char magic[2] = {0, 0};
        in.read(magic, 2);
        if (magic[0] == '#' && magic[1] == '!' &&
            ::access("/usr/lib/chromium/chromium", X_OK) == 0) {
            return "/usr/lib/chromium/chromium";
        }
    }
    return path;
}

std::filesystem::path default_profile_root() {
    if (const char* root = std::getenv("ROTOR_PROFILE_ROOT"); root != nullptr && *root != '\0') {
        return root;
    }
    return std::filesystem::path(env_or("TMPDIR", "/tmp")) / "rotor-chromium";
}

std::vector<std::string> required_flags() {
    return {"--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0"};
}

launched_browser launch_chromium(const launch_options& options) {
    std::error_code ec;
    std::filesystem::create_directories(options.profile_root, ec);
    if (ec) {
        fail("cannot create profile root " + options.profile_root.string() + ": " + ec.message(),
             nullptr);
    }
    remove_stale_run_dirs(options.profile_root);
    if (::access(options.chromium_path.c_str(), X_OK) != 0) {
        fail(options.chromium_path +
                 " is not an executable file (set CHROME_PATH): " + std::strerror(errno),
             nullptr);
    }
    // Orphaned Chromium processes (the browser's children after it dies) are re-parented to
    // us and reaped in terminate(), instead of lingering as zombies under an init that may
    // not reap (a container's PID 1 is often the worker itself).
    static std::once_flag subreaper;
    std::call_once(subreaper, [] { ::prctl(PR_SET_CHILD_SUBREAPER, 1); });

    const auto run_dir = detail::make_run_dir(options.profile_root);
    const auto profile = run_dir / "profile";
    const auto log = run_dir / "chromium.log";
    const std::string executable = resolve_chromium_executable(options.chromium_path);

    std::vector<std::string> args{executable};
    for (auto& f : required_flags()) args.push_back(std::move(f));
    args.push_back("--user-data-dir=" + profile.string());
    for (const auto& f : options.flags) args.push_back(f);
    args.emplace_back("about:blank");

    // Everything the child touches is prepared before fork: after it, only async-signal-safe
    // calls are allowed in a multithreaded process.
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    // Crashpad's database goes under the run directory (so its setsid'd handlers can be found
    // and ended with the browser), caches too, and temp files (Chromium leaves an
    // org.chromium.Chromium.* directory in $TMPDIR per launch): all removed with the run dir.
    std::vector<std::string> overridden = {"XDG_CONFIG_HOME=" + (run_dir / "config").string(),
                                           "XDG_CACHE_HOME=" + (run_dir / "cache").string()};
    const std::string tmp = (run_dir / "tmp").string();
    if (fits_singleton_socket(tmp)) {
        for (const char* name : {"TMPDIR=", "TMP=", "TEMP="}) overridden.push_back(name + tmp);
    } else {
        static std::once_flag warned;
        std::call_once(warned, [&] {
            spdlog::warn("launch chromium: the run directory {} is too deep for Chromium's "
                         "singleton socket under it; Chromium's temp files go to the worker's "
                         "temp directory (a shorter profile root avoids this)",
                         run_dir.string());
        });
    }
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
        const std::string_view kv(*e);
        const bool replaced = std::any_of(overridden.begin(), overridden.end(), [&](const auto& o) {
            return kv.substr(0, o.find('=') + 1) == std::string_view(o).substr(0, o.find('=') + 1);
        });
        if (!replaced) env.emplace_back(kv);
    }
    env.insert(env.end(), overridden.begin(), overridden.end());
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    const std::string log_path = log.string();

    // Watch the profile dir before the child can write into it.
    const int inotify = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (inotify < 0) fail(std::string("inotify_init1: ") + std::strerror(errno), nullptr);
    if (::inotify_add_watch(inotify, profile.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO) < 0) {
        const int err = errno;
        ::close(inotify);
        fail("inotify_add_watch " + profile.string() + ": " + std::strerror(err), nullptr);
    }

    const pid_t parent = ::getpid();
    const long open_max = ::sysconf(_SC_OPEN_MAX);
    const long max_fd = open_max > 0 ? open_max : 65536;
    const pid_t pid = detail::run_on_spawn_thread([&]() -> pid_t {
        const pid_t child = ::fork();
        if (child != 0) return child < 0 ? -errno : child;
        // Child.
        ::setpgid(0, 0);
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(127); // the launcher died before prctl
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        const int out = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        const int in = ::open("/dev/null", O_RDONLY);
        if (out >= 0) {
            ::dup2(out, 1);
            ::dup2(out, 2);
        }
        if (in >= 0) ::dup2(in, 0);
        // Chromium inherits nothing else of the worker: its sockets (Asio's are not
        // close-on-exec: other browsers' DevTools connections, Redis, listeners) and files
        // would otherwise stay open in every browser, and outlive the worker's own use of them.
        close_descriptors_from(3, max_fd);
        ::execve(argv[0], argv.data(), envp.data());
        ::_exit(127);
    });
    if (pid < 0) {
        ::close(inotify);
        std::filesystem::remove_all(run_dir, ec);
        fail(std::string("fork: ") + std::strerror(-pid), nullptr);
    }
    // Also set the group from the parent side, so it holds even before the child runs.
    ::setpgid(pid, pid);
    auto process = std::make_unique<chromium_process>(pid, run_dir);

    const auto port_file = profile / "DevToolsActivePort";
    const auto deadline = std::chrono::steady_clock::now() + options.start_timeout;
    devtools_endpoint endpoint;
    bool ready = read_active_port(port_file, endpoint);
    while (!ready) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            ::close(inotify);
            fail(options.chromium_path + " did not publish DevToolsActivePort within " +
                     std::to_string(options.start_timeout.count()) + " ms",
                 process.get());
        }
        pollfd fds[2] = {{inotify, POLLIN, 0}, {process->exit_fd(), POLLIN, 0}};
        const int n = ::poll(fds, process->exit_fd() >= 0 ? 2 : 1, static_cast<int>(left.count()));
        if (n < 0 && errno != EINTR) {
            const int err = errno;
            ::close(inotify);
            fail(std::string("poll: ") + std::strerror(err), process.get());
        }
        if ((fds[0].revents & POLLIN) != 0) {
            alignas(inotify_event) char buf[4096];
            while (::read(inotify, buf, sizeof buf) > 0) {
            }
        }
        ready = read_active_port(port_file, endpoint);
        if (!ready && ((fds[1].revents & POLLIN) != 0 || !process->running())) {
            ::close(inotify);
            // Read the output before terminate() removes the run directory with the log.
            const std::string tail = process->log_tail(20);
            process->terminate(std::chrono::milliseconds(0));
            throw error(errc::launch_failed,
                        "launch chromium: " + options.chromium_path +
                            " exited before DevTools was ready\n--- chromium output (last lines) "
                            "---\n" +
                            tail);
        }
    }
    ::close(inotify);
    process->all_pids(); // remember the crashpad handlers while they still name the run dir
    return {std::move(process), endpoint.port, endpoint.path};
}

} // namespace rotor::cdp
