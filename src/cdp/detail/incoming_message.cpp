#include "cdp/detail/incoming_message.hpp"

#include <algorithm>
#include <charconv>

namespace rotor::cdp::detail {

incoming_message::step incoming_message::on_read(bool message_done, std::size_t limit) {
    if (oversized_) {
        size_ += buffer_.size();
        buffer_.consume(buffer_.size());
    } else {
        size_ = buffer_.size();
        if (limit != 0 && size_ > limit) {
            oversized_ = true;
            const auto data = buffer_.cdata();
            prefix_.assign(static_cast<const char*>(data.data()),
                           std::min(data.size(), kept_prefix));
            buffer_.consume(buffer_.size());
            shrink();
        }
    }
    if (!message_done) return step::more;
    return oversized_ ? step::oversized : step::complete;
}

std::string_view incoming_message::text() const noexcept {
    const auto data = buffer_.cdata();
    return {static_cast<const char*>(data.data()), data.size()};
}

void incoming_message::next() {
    buffer_.consume(buffer_.size());
    prefix_.clear();
    size_ = 0;
    oversized_ = false;
    shrink();
}

void incoming_message::shrink() {
    // Empty by now: shrink_to_fit frees the storage, the next read allocates what it needs.
    if (buffer_.capacity() > shrink_above) buffer_.shrink_to_fit();
}

std::optional<std::uint64_t> leading_id(std::string_view prefix) {
    auto skip_space = [&] {
        while (!prefix.empty() && (prefix.front() == ' ' || prefix.front() == '\t' ||
                                   prefix.front() == '\n' || prefix.front() == '\r')) {
            prefix.remove_prefix(1);
        }
    };
    auto eat = [&](std::string_view token) {
        skip_space();
        if (prefix.substr(0, token.size()) != token) return false;
        prefix.remove_prefix(token.size());
        return true;
    };
    if (!eat("{") || !eat("\"id\"") || !eat(":")) return std::nullopt;
    skip_space();
    std::uint64_t id = 0;
    const auto [end, ec] = std::from_chars(prefix.data(), prefix.data() + prefix.size(), id);
    if (ec != std::errc() || end == prefix.data()) return std::nullopt;
    prefix.remove_prefix(static_cast<std::size_t>(end - prefix.data()));
    if (!eat(",") && !eat("}")) return std::nullopt; // cut off inside the number
    return id;
}

} // namespace rotor::cdp::detail
