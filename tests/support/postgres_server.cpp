#include "postgres_server.hpp"

#include "redis_server.hpp" // free_tcp_port

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace rotor::test {
namespace {

std::string find_bin() {
    // Debian installs the server under /usr/lib/postgresql/<major>/bin; the newest wins.
    std::string best;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
        const auto bin = e.path() / "bin";
        if (std::filesystem::exists(bin / "initdb") && bin.string() > best) best = bin.string();
    }
    if (best.empty()) {
        throw std::runtime_error("no PostgreSQL server under /usr/lib/postgresql (install the "
                                 "postgresql package: scripts/install-deps.sh)");
    }
    return best;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

bool port_open(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    const bool up = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return up;
}

} // namespace

postgres_server::postgres_server() : bin_(find_bin()) {
    uid_ = ::getuid();
    gid_ = ::getgid();
    if (uid_ == 0) {
        const passwd* pw = ::getpwnam("postgres");
        if (pw == nullptr) pw = ::getpwnam("nobody");
        if (pw == nullptr) throw std::runtime_error("running as root, and no postgres user");
        uid_ = pw->pw_uid;
        gid_ = pw->pw_gid;
        ::chmod(dir_.path().c_str(), 0755);
    }
    data_ = (dir_.path() / "data").string();
    std::filesystem::create_directories(data_);
    if (::chown(data_.c_str(), uid_, gid_) != 0 && ::getuid() == 0) {
        throw std::runtime_error("cannot chown " + data_);
    }
    ::chmod(data_.c_str(), 0700);
    const std::string log = (dir_.path() / "initdb.log").string();
    const pid_t init = spawn({bin_ + "/initdb", "-D", data_, "-U", "rotor", "--auth=trust", "-E",
                              "UTF8", "--no-locale", "--no-sync"},
                             log);
    int status = 0;
    ::waitpid(init, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        throw std::runtime_error("initdb failed: " + read_file(log));
    }
    port_ = free_tcp_port();
    start();
}

postgres_server::~postgres_server() {
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        ::kill(-pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
}

std::string postgres_server::url() const {
    return "postgresql://rotor@127.0.0.1:" + std::to_string(port_) + "/postgres";
}

pid_t postgres_server::spawn(const std::vector<std::string>& args, const std::string& log) const {
    std::vector<std::string> a = args;
    std::vector<char*> argv;
    for (auto& s : a) argv.push_back(s.data());
    argv.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        ::setpgid(0, 0);
        const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0666);
        if (fd >= 0) {
            ::dup2(fd, 1);
            ::dup2(fd, 2);
        }
        if (::getuid() == 0) {
            if (::setgid(gid_) != 0 || ::setuid(uid_) != 0) ::_exit(126);
        }
        ::chdir(data_.c_str());
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    return pid;
}

void postgres_server::start() {
    if (pid_ > 0) return;
    const std::string log = (dir_.path() / "postgres.log").string();
    ::chmod(dir_.path().c_str(), 0777); // the log file is written by the server's user
    pid_ = spawn({bin_ + "/postgres", "-D", data_, "-p", std::to_string(port_), "-k", data_, "-c",
                  "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
                  "-c", "full_page_writes=off", "-c", "shared_buffers=16MB", "-c",
                  "max_connections=50"},
                 log);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            throw std::runtime_error("postgres exited at start: " + read_file(log));
        }
        if (port_open(port_)) {
            // Listening comes just before it accepts logins; a query proves it does.
            try {
                psql("SELECT 1");
                return;
            } catch (const std::exception&) {
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error("postgres did not start on " + std::to_string(port_) + ": " +
                             read_file(log));
}

void postgres_server::stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGINT); // fast shutdown: sessions are terminated
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
}

std::string postgres_server::psql(const std::string& sql) const {
    const std::string cmd =
        bin_ + "/psql -X -q -A -t -v ON_ERROR_STOP=1 -d '" + url() + "' -c \"" + sql + "\" 2>&1";
    FILE* p = ::popen(cmd.c_str(), "r");
    if (p == nullptr) throw std::runtime_error("psql: cannot run");
    std::string out;
    std::array<char, 4096> buf{};
    while (std::fgets(buf.data(), static_cast<int>(buf.size()), p) != nullptr) out += buf.data();
    const int rc = ::pclose(p);
    if (rc != 0) throw std::runtime_error("psql " + sql + ": " + out);
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
}

} // namespace rotor::test
