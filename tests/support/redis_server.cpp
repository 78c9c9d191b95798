#include "redis_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <thread>
#include <vector>

namespace rotor::test {

int free_tcp_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
}

redis_server::redis_server(redis_server_options options) : options_(options) {
    port_ = free_tcp_port();
    start();
}

redis_server::~redis_server() {
    kill();
}

void redis_server::start() {
    // A restart right after SIGKILL can race the old socket's teardown; try a few times.
    for (int attempt = 1;; ++attempt) {
        try {
            start_once();
            return;
        } catch (const std::exception&) {
            kill();
            if (attempt == 3) throw;
            std::this_thread::sleep_for(std::chrono::milliseconds(500));
        }
    }
}

void redis_server::start_once() {
    if (pid_ > 0) return;
    std::vector<std::string> args = {"redis-server",
                                     "--port",
                                     std::to_string(port_),
                                     "--bind",
                                     "127.0.0.1",
                                     "--dir",
                                     dir_.path().string(),
                                     "--save",
                                     "",
                                     "--daemonize",
                                     "no",
                                     "--loglevel",
                                     "warning",
                                     "--logfile",
                                     (dir_.path() / "redis.log").string()};
    if (options_.aof) {
        for (const char* a : {"--appendonly", "yes", "--appendfsync", "always"})
            args.emplace_back(a);
    } else {
        for (const char* a : {"--appendonly", "no"}) args.emplace_back(a);
    }
    if (!options_.password.empty()) {
        args.emplace_back("--requirepass");
        args.push_back(options_.password);
    }
    args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork redis-server failed");
    if (pid_ == 0) {
        ::setpgid(0, 0);
        ::execvp("redis-server", argv.data());
        ::_exit(127);
    }
    wait_ready();
}

void redis_server::wait_ready() {
    // Redis listens within milliseconds; a connect succeeds once it does.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            throw std::runtime_error("redis-server exited at start (port " + std::to_string(port_) +
                                     ")");
        }
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(static_cast<uint16_t>(port_));
        const bool up = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
        ::close(fd);
        if (up) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    throw std::runtime_error("redis-server did not listen on " + std::to_string(port_));
}

void redis_server::kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
}

void redis_server::pause() {
    if (pid_ > 0) ::kill(pid_, SIGSTOP);
}

void redis_server::resume() {
    if (pid_ > 0) ::kill(pid_, SIGCONT);
}

long command_calls(const std::string& commandstats, const std::string& command) {
    const std::string field = "cmdstat_" + command + ":calls=";
    const auto at = commandstats.find(field);
    return at == std::string::npos ? 0L : std::stol(commandstats.substr(at + field.size()));
}

} // namespace rotor::test
