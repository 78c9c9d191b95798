#pragma once
// JSON lines: one file per platform and (UTC) day under a directory, one line per item. Each line
// is one write() to a file opened O_APPEND, so workers on one host may share the file without
// interleaving lines; flush() fdatasyncs (once per job).

#include "nodes/platform_config.hpp"
#include "nodes/sink.hpp"

#include <filesystem>
#include <mutex>
#include <string>

namespace rotor::nodes {

class jsonl_sink final : public sink {
  public:
    /// Creates `dir` if needed; throws std::runtime_error naming it when it cannot.
    jsonl_sink(std::filesystem::path dir, std::string platform,
               outcome_set outcomes = {"ok", "gone", "failed", "cached"});
    ~jsonl_sink() override;
    jsonl_sink(const jsonl_sink&) = delete;
    jsonl_sink& operator=(const jsonl_sink&) = delete;

    const std::string& name() const noexcept override { return name_; }
    bool takes(const std::string& outcome) const override { return outcomes_.count(outcome) > 0; }
    void write(const item_record& record) override;
    void flush() override;
    /// The file today's records go to.
    std::filesystem::path path_for(std::int64_t at_ms) const;

  private:
    void open_for(const std::filesystem::path& file);

    std::string name_ = "jsonl";
    std::filesystem::path dir_;
    std::string platform_;
    outcome_set outcomes_;
    std::mutex mutex_;
    std::filesystem::path current_;
    int fd_ = -1;
};

} // namespace rotor::nodes
