#pragma once
// Where items' data goes. A sink's write() returns once the record is safe from a crash of the
// worker process (written to the kernel at least): the item is checkpointed only after it, so a
// crash can repeat a save but never lose one. Repeats after a resume share (platform, item,
// run); a sink is idempotent on that key or lets its readers deduplicate by it.

#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>

namespace rotor::nodes {

struct item_record {
    std::string platform;
    std::string run;   // the job id: the same for a repeat after a resume
    std::string lease; // the lease token the item ran under (tells repeats apart)
    std::string item;  // the item id
    std::size_t index = 0;
    std::string outcome; // ok, gone, failed, cached
    std::string reason;  // for gone and failed
    nlohmann::json fields = nlohmann::json::object();
    int status = 0;
    std::string url;
    nlohmann::json timings = nlohmann::json::object();
    nlohmann::json data;    // the values the item was enqueued with (null: none)
    std::int64_t at_ms = 0; // wall clock, ms since the epoch

    nlohmann::json to_json() const;
};

/// A sink that cannot take records (disk full, server away): the worker's fault, not the
/// item's. The job is given back (no attempt counted) and the worker backs off.
class sink_error : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

/// A record a sink refuses for what it holds (a value the table's column cannot take, a broken
/// constraint): the item's fault, not the worker's. The item is recorded as failed with it.
class record_refused : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

class sink {
  public:
    virtual ~sink() = default;
    virtual const std::string& name() const noexcept = 0;
    /// Whether records of this outcome go to this sink (the sink's `outcomes:`).
    virtual bool takes(const std::string& outcome) const { return !outcome.empty(); }
    /// Whether write() may throw record_refused (such sinks are written first).
    virtual bool may_refuse() const { return false; }
    /// Thread-safe; blocking (call it off the executor's threads). Throws sink_error, or
    /// record_refused for this record alone.
    virtual void write(const item_record& record) = 0;
    /// Makes what was written durable (fsync); at the end of each job, before it completes.
    /// Throws sink_error.
    virtual void flush() {}
};

} // namespace rotor::nodes
