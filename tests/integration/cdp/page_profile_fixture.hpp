#pragma once
// The fixture of the page-profile tests: a browser whose non-loopback traffic goes to a dead
// proxy, the shop on 127.0.0.1 and a second shop on 127.0.0.2 (a host off the list).
#include "browser_fixture.hpp"
#include "cdp/page_profile.hpp"

#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <cctype>
#include <string>
#include <string_view>

namespace rotor::test {

using page_ptr = std::shared_ptr<cdp::page>;

inline std::string encode(std::string_view text) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : text) {
        if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
            out.push_back(static_cast<char>(c));
        } else {
            out += {'%', digits[c >> 4], digits[c & 15]};
        }
    }
    return out;
}

inline fixture::shop_options other_host() {
    fixture::shop_options options;
    options.address = "127.0.0.2";
    return options;
}

class ProfileTest : public BrowserTest {
  protected:
    void SetUp() override {
        auto options = test_browser_options(profiles_.path());
        // A safety net whatever the code under test does: every host that is not loopback goes
        // to a dead proxy on 127.0.0.1, so no test sends anything beyond this machine.
        options.launch.flags = {"--proxy-server=http://127.0.0.1:1"};
        browser_ = cdp::browser::launch(options);
        pgid_ = browser_->pid();
        run_dir_ = browser_->run_dir();
    }

    std::string other(const std::string& path) const { return other_.base_url() + path; }
    std::uint64_t other_requests() const { return other_.stats()["total_requests"]; }

    cdp::page_profile shop_profile(std::string name = "shop") const {
        cdp::page_profile p;
        p.name = std::move(name);
        p.allowed_hosts = {"127.0.0.1"};
        return p;
    }

    fixture::shop_server other_{other_host()};
};

inline boost::asio::awaitable<page_ptr> profiled_page(std::shared_ptr<cdp::browser_context> context,
                                                      cdp::page_profile profile) {
    auto p = co_await context->new_page();
    co_await cdp::apply_profile(p, std::move(profile));
    co_return p;
}

// The text a probe page put into #result (it starts as "pending").
inline boost::asio::awaitable<std::string> probe_result(page_ptr p) {
    std::string expression = "(() => { const e = document.getElementById('result'); "
                             "return e && e.textContent !== 'pending' ? e.textContent : ''; })()";
    cdp::json text =
        co_await p->wait_for_function(std::move(expression), std::chrono::milliseconds(10000));
    co_return text.get<std::string>();
}

inline boost::asio::awaitable<cdp::json> echoed_headers(page_ptr p, std::string url) {
    co_await p->navigate(std::move(url));
    cdp::json text = co_await p->evaluate("document.body.innerText");
    co_return cdp::json::parse(text.get<std::string>());
}

} // namespace rotor::test
