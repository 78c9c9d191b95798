#pragma once
// Which items of a job are done: a contiguous prefix plus the items finished out of order beyond
// it (items complete out of order under concurrency). The Lua checkpoint script keeps the same
// state in Redis; this is its pure mirror, for resuming and for tests.

#include <cstddef>
#include <set>
#include <string>
#include <vector>

namespace rotor::queue {

struct checkpoint_state {
    std::size_t processed_index = 0; // items [0, processed_index) are done
    std::size_t total = 0;
    std::set<std::size_t> done_beyond; // done items >= processed_index

    bool is_done(std::size_t index) const {
        return index < processed_index || done_beyond.count(index) != 0;
    }
    /// Marks one item done and advances the prefix over everything contiguous.
    void mark_done(std::size_t index);
    /// The items still to do, in order.
    std::vector<std::size_t> pending() const { return pending(total); }
    /// The items of a job of `items` items still to do, in order: every index below `items`
    /// not marked done, whatever `total` the checkpoint was written with (a job whose items
    /// changed since is neither cut short nor read past its end).
    std::vector<std::size_t> pending(std::size_t items) const;
    std::size_t done_count() const { return processed_index + done_beyond.size(); }
};

} // namespace rotor::queue
