#pragma once
// A Redis reply as a plain value, so nothing above src/queue sees hiredis.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rotor::queue {

struct redis_reply {
    enum class kind { nil, integer, string, status, array, error };
    kind type = kind::nil;
    std::int64_t integer = 0;
    std::string str;                   // string, status or error text
    std::vector<redis_reply> elements; // array

    bool is_nil() const noexcept { return type == kind::nil; }
    /// The string (or the integer as text); throws queue::error(redis_error) for other kinds.
    std::string as_string() const;
    std::int64_t as_integer() const;
};

} // namespace rotor::queue
