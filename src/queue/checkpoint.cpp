#include "queue/checkpoint.hpp"

namespace rotor::queue {

void checkpoint_state::mark_done(std::size_t index) {
    if (index < processed_index) return;
    done_beyond.insert(index);
    while (done_beyond.count(processed_index) != 0) {
        done_beyond.erase(processed_index);
        ++processed_index;
    }
}

std::vector<std::size_t> checkpoint_state::pending(std::size_t items) const {
    std::vector<std::size_t> out;
    for (std::size_t i = processed_index; i < items; ++i) {
        if (done_beyond.count(i) == 0) out.push_back(i);
    }
    return out;
}

} // namespace rotor::queue
