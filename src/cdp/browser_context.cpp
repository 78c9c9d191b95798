#include "cdp/browser_context.hpp"

#include <boost/asio/use_awaitable.hpp>

namespace rotor::cdp {

namespace asio = boost::asio;
using asio::use_awaitable;

asio::awaitable<std::shared_ptr<browser_context>>
browser_context::create(std::shared_ptr<client> c, milliseconds command_timeout) {
    json params = {{"disposeOnDetach", true}};
    json reply = co_await c->async_call("Target.createBrowserContext", std::move(params), "",
                                        command_timeout, use_awaitable);
    if (!reply.contains("browserContextId") || !reply["browserContextId"].is_string()) {
        throw error(errc::malformed_response,
                    "Target.createBrowserContext: reply has no browserContextId: " + reply.dump());
    }
    co_return std::make_shared<browser_context>(
        std::move(c), reply["browserContextId"].get<std::string>(), command_timeout);
}

asio::awaitable<std::shared_ptr<page>> browser_context::new_page() {
    json params = {{"url", "about:blank"}};
    if (!id_.empty()) params["browserContextId"] = id_;
    json reply = co_await client_->async_call("Target.createTarget", std::move(params), "",
                                              command_timeout_, use_awaitable);
    if (!reply.contains("targetId") || !reply["targetId"].is_string()) {
        throw error(errc::malformed_response,
                    "Target.createTarget: reply has no targetId: " + reply.dump());
    }
    co_return co_await page::attach(client_, reply["targetId"].get<std::string>(), id_,
                                    command_timeout_);
}

asio::awaitable<void> browser_context::dispose() {
    if (disposed_ || id_.empty()) co_return;
    disposed_ = true;
    json params = {{"browserContextId", id_}};
    co_await client_->async_call("Target.disposeBrowserContext", std::move(params), "",
                                 command_timeout_, use_awaitable);
}

} // namespace rotor::cdp
