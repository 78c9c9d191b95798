#pragma once
// An isolated browser context (its own cookies, storage and cache): Target.createBrowserContext.

#include "cdp/client.hpp"
#include "cdp/page.hpp"

#include <boost/asio/awaitable.hpp>

#include <memory>
#include <string>

namespace rotor::cdp {

class browser_context {
  public:
    /// Creates a context on `c`. Throws cdp::error.
    static boost::asio::awaitable<std::shared_ptr<browser_context>>
    create(std::shared_ptr<client> c, milliseconds command_timeout);

    /// An empty id stands for the browser's default context.
    const std::string& id() const noexcept { return id_; }

    /// Opens about:blank in this context and attaches to it.
    boost::asio::awaitable<std::shared_ptr<page>> new_page();
    /// Closes the context and every page in it. Idempotent.
    boost::asio::awaitable<void> dispose();

    browser_context(std::shared_ptr<client> c, std::string id, milliseconds command_timeout)
        : client_(std::move(c)), id_(std::move(id)), command_timeout_(command_timeout) {}

  private:
    std::shared_ptr<client> client_;
    std::string id_;
    milliseconds command_timeout_;
    bool disposed_ = false;
};

} // namespace rotor::cdp
