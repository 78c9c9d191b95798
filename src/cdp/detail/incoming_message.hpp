#pragma once
// Assembling one DevTools message from websocket reads, without I/O: a message over the size
// limit is not kept (only its first bytes, to learn whose reply it is) and the rest of it is
// discarded as it arrives, so one oversized reply costs its own command, not the connection;
// after a big message the buffer is given back instead of keeping its peak capacity.

#include <boost/beast/core/flat_buffer.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rotor::cdp::detail {

class incoming_message {
  public:
    static constexpr std::size_t kept_prefix = 4096;      // bytes kept of an oversized message
    static constexpr std::size_t shrink_above = 1u << 20; // capacity given back after a message
    static constexpr std::size_t read_chunk = 256u << 10; // bytes asked of one read at most

    enum class step {
        more,      // the message goes on: read again
        complete,  // text() is the whole message
        oversized, // the message was larger than the limit: prefix() and size() tell of it
    };

    /// The buffer the next read appends to.
    boost::beast::flat_buffer& buffer() noexcept { return buffer_; }

    /// After a read appended to buffer(): `message_done` is the websocket's is_message_done(),
    /// `limit` the largest message kept whole (0: no limit).
    step on_read(bool message_done, std::size_t limit);

    /// The whole message (after step::complete), valid until next().
    std::string_view text() const noexcept;
    /// The first bytes of an oversized message (after step::oversized).
    const std::string& prefix() const noexcept { return prefix_; }
    /// The size of the message so far (all of it once done).
    std::size_t size() const noexcept { return size_; }

    /// Drops the finished message and gives back a buffer grown past shrink_above.
    void next();
    std::size_t capacity() const noexcept { return buffer_.capacity(); }

  private:
    void shrink();

    boost::beast::flat_buffer buffer_;
    std::string prefix_;
    std::size_t size_ = 0;
    bool oversized_ = false;
};

/// The id of a reply from the first bytes of its text, as Chromium writes replies
/// (`{"id":N,...`); nullopt for an event or anything else.
std::optional<std::uint64_t> leading_id(std::string_view prefix);

} // namespace rotor::cdp::detail
