#include "nodes/jsonl_sink.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <stdexcept>

namespace rotor::nodes {

nlohmann::json item_record::to_json() const {
    nlohmann::json j = {{"platform", platform}, {"run", run},       {"lease", lease},
                        {"item", item},         {"index", index},   {"outcome", outcome},
                        {"fields", fields},     {"status", status}, {"url", url},
                        {"timings", timings},   {"at_ms", at_ms}};
    if (!reason.empty()) j["reason"] = reason;
    if (!data.is_null()) j["data"] = data;
    return j;
}

jsonl_sink::jsonl_sink(std::filesystem::path dir, std::string platform, outcome_set outcomes)
    : dir_(std::move(dir)), platform_(std::move(platform)), outcomes_(std::move(outcomes)) {
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    if (ec) {
        throw sink_error("jsonl sink: cannot create " + dir_.string() + ": " + ec.message());
    }
}

jsonl_sink::~jsonl_sink() {
    if (fd_ >= 0) ::close(fd_);
}

std::filesystem::path jsonl_sink::path_for(std::int64_t at_ms) const {
    const std::time_t t = static_cast<std::time_t>(at_ms / 1000);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char day[16];
    std::strftime(day, sizeof day, "%Y-%m-%d", &tm);
    return dir_ / (platform_ + "-" + day + ".jsonl");
}

void jsonl_sink::open_for(const std::filesystem::path& file) {
    if (file == current_ && fd_ >= 0) return;
    if (fd_ >= 0) {
        ::fdatasync(fd_);
        ::close(fd_);
        fd_ = -1;
    }
    fd_ = ::open(file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) {
        throw sink_error("jsonl sink: cannot open " + file.string() + ": " + std::strerror(errno));
    }
    current_ = file;
}

void jsonl_sink::write(const item_record& record) {
    std::string line =
        record.to_json().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    std::lock_guard lock(mutex_);
    open_for(path_for(record.at_ms));
    const char* p = line.data();
    std::size_t left = line.size();
    bool partial = false;
    while (left > 0) {
        const auto n = ::write(fd_, p, left);
        if (n < 0) {
            if (errno == EINTR) continue;
            const std::string why = std::strerror(errno);
            // A line cut short must not glue the next one (a retry, another worker's) onto its
            // fragment: end it, if the disk still takes one byte. Readers skip lines that are not
            // JSON; the item's full line comes with its retry.
            if (partial) (void)!::write(fd_, "\n", 1);
            throw sink_error("jsonl sink: writing " + current_.string() + ": " + why);
        }
        partial = true;
        p += n;
        left -= static_cast<std::size_t>(n);
    }
}

void jsonl_sink::flush() {
    std::lock_guard lock(mutex_);
    if (fd_ >= 0 && ::fdatasync(fd_) != 0) {
        throw sink_error("jsonl sink: syncing " + current_.string() + ": " + std::strerror(errno));
    }
}

} // namespace rotor::nodes
