#pragma once
// The C++ half of "can this job be run": what a claim's params must be for job_lease::items() to
// give the items the job was enqueued with. The Lua half (lua/includes/job_problem.lua) checks
// the same rule with cjson, which accepts what nlohmann does not (NaN, 0x10, invalid UTF-8).

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace rotor::queue::detail {

/// Parses a job's params into `params`. Returns why the job cannot be run (the text is not JSON
/// nlohmann reads, not an object, or its product_ids is missing, empty, or holds anything but
/// strings and numbers), or nullopt when it can. Never throws; the reason is plain ASCII (it
/// never quotes the params, which may not be valid UTF-8).
std::optional<std::string> read_job_params(const std::string& text, nlohmann::json& params);

} // namespace rotor::queue::detail
