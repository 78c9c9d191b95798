#include "child_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

extern char** environ;

namespace rotor::test {

pid_t spawn_child(const std::string& exe, const std::vector<std::string>& args,
                  const child_options& options) {
    std::vector<std::string> a = {exe};
    a.insert(a.end(), args.begin(), args.end());
    std::vector<std::string> env = options.env;
    for (char** e = environ; *e != nullptr; ++e) {
        const std::string v = *e;
        bool dropped = false;
        for (const auto& prefix : options.drop_env) dropped = dropped || v.rfind(prefix, 0) == 0;
        if (!dropped) env.push_back(v);
    }
    std::vector<char*> argv, envp;
    for (auto& x : a) argv.push_back(x.data());
    argv.push_back(nullptr);
    for (auto& x : env) envp.push_back(x.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (!options.stderr_file.empty()) {
        posix_spawn_file_actions_addopen(&fa, 2, options.stderr_file.c_str(),
                                         O_WRONLY | O_CREAT | O_TRUNC, 0644);
    }
    if (options.quiet_stdout) posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, exe.c_str(), &fa, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    return rc == 0 ? pid : -1;
}

child_exit wait_child(pid_t pid, std::chrono::milliseconds timeout) {
    child_exit out;
    const auto start = std::chrono::steady_clock::now();
    int status = 0;
    for (;;) {
        const pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) break;
        if (r < 0) return out;
        if (std::chrono::steady_clock::now() - start >= timeout) {
            out.timed_out = true;
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    out.took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    if (WIFEXITED(status)) {
        out.exited = true;
        out.code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        out.signal = WTERMSIG(status);
    }
    return out;
}

std::vector<pid_t> processes_mentioning(const std::string& needle) {
    std::vector<pid_t> out;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
        const auto name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::ifstream in(entry.path() / "cmdline");
        const std::string cmd((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
        if (cmd.find(needle) == std::string::npos) continue;
        std::ifstream stat(entry.path() / "stat");
        std::string line;
        std::getline(stat, line);
        const auto close = line.rfind(')');
        if (close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z')
            continue; // a zombie holds nothing; its parent reaps it
        out.push_back(static_cast<pid_t>(std::stol(name)));
    }
    return out;
}

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

} // namespace rotor::test
