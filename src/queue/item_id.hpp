#pragma once
// What an item id may be when it is enqueued. Ids come from files and tools others write: a
// stray space, an empty cell or a byte that is not UTF-8 must be refused with the reason, not
// become a job that fails later for a reason nobody can trace back to the file.
// (A platform's own id_pattern is checked by its workflow before an id is used in a URL.)

#include <optional>
#include <string>
#include <string_view>

namespace rotor::queue {

inline constexpr std::size_t max_item_id_bytes = 512;

/// Trims ASCII whitespace around `id` in place, then returns why it cannot be an item id (empty,
/// longer than max_item_id_bytes, a control character, not valid UTF-8), or nullopt.
std::optional<std::string> normalize_item_id(std::string& id);

/// True when `text` is valid UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
bool valid_utf8(std::string_view text) noexcept;

} // namespace rotor::queue
