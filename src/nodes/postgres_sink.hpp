#pragma once
// An upsert into a PostgreSQL table (libpqxx): each record becomes a row of the configured
// columns, written with INSERT ... ON CONFLICT (key) DO UPDATE, so a repeat after a resume
// replaces the row it wrote before. Writes are group-committed: a write waits until its row is
// committed (the item is checkpointed only after), and the rows of every lane waiting at once
// go in one statement, one round trip. The connection is made on first use and again after it
// broke (a server restart); while the server is away a write throws sink_error (the job is
// given back and redone later, nothing is lost).

#include "nodes/platform_config.hpp"
#include "nodes/sink.hpp"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace rotor::nodes {

struct postgres_sink_stats {
    std::uint64_t statements = 0; // INSERTs the server took
    std::uint64_t rows = 0;
    std::uint64_t connects = 0;
};

class postgres_sink final : public sink {
  public:
    postgres_sink(postgres_sink_spec spec, std::string platform);
    ~postgres_sink() override;
    postgres_sink(const postgres_sink&) = delete;
    postgres_sink& operator=(const postgres_sink&) = delete;

    const std::string& name() const noexcept override { return name_; }
    bool takes(const std::string& outcome) const override {
        return spec_.outcomes.count(outcome) > 0;
    }
    bool may_refuse() const override { return true; }
    /// Returns once the row is committed. Thread-safe; throws sink_error, or record_refused for
    /// a row the table does not take (or whose key has a NULL).
    void write(const item_record& record) override;
    postgres_sink_stats stats() const;
    /// Checks the table against the mapping before any item runs: the upsert is planned with no
    /// row written (EXPLAIN: the table, its columns, a unique index on the key, the role's
    /// privileges, column grants included). A table that does not take the mapping is a
    /// config problem: std::invalid_argument with the server's words (the worker exits 3,
    /// instead of giving every job back for ever). A server that cannot be reached now is not:
    /// its reason is returned (writes try again), nullopt when the check passed. Call it
    /// before the first write.
    std::optional<std::string> probe();

    /// The row a record becomes, column by column (nullopt: NULL). Pure.
    static std::vector<std::optional<std::string>> row_of(const postgres_sink_spec& spec,
                                                          const item_record& record);

  private:
    struct pending {
        std::vector<std::optional<std::string>> row;
        bool done = false;
        bool refused = false; // error is this row's own (record_refused)
        std::string error;
    };
    void write_batch(std::vector<std::shared_ptr<pending>>& batch);
    std::string statement(const std::vector<std::shared_ptr<pending>>& batch);
    std::string table_name() const; // [schema.]table, each part quoted (needs a connection)
    void connect();
    /// Writes `batch`; one that fails on a row's values is written again row by row, so only
    /// the rows at fault are refused. Sets each row's outcome.
    void write_rows(std::vector<std::shared_ptr<pending>>& batch);

    std::string name_ = "postgres";
    postgres_sink_spec spec_;
    std::string platform_;
    std::vector<std::size_t> key_columns_;
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<std::shared_ptr<pending>> queue_;
    bool writing_ = false; // a lane is the writer: it takes what waits, batch after batch
    struct connection;     // a pqxx::connection (libpqxx stays out of this header)
    std::unique_ptr<connection> conn_; // the writer's alone
    postgres_sink_stats stats_;
    std::atomic<std::uint64_t> connects_{0};
    std::atomic<std::uint64_t> statements_{0};
};

} // namespace rotor::nodes
