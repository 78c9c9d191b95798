#include "scrape.hpp"

#include <boost/asio/use_awaitable.hpp>

namespace rotor::fixture {

namespace asio = boost::asio;

boost::asio::awaitable<scrape_result> scrape_product(pool::browser_pool& pool, std::string base_url,
                                                     std::uint64_t id, int max_retries,
                                                     cdp::page_profile profile,
                                                     std::function<void(std::uint64_t)> on_lease) {
    scrape_result r;
    r.id = id;
    const std::string url = base_url + "/product/" + std::to_string(id);
    for (int attempt = 0;; ++attempt) {
        // Tests start every item at once and wait in line: 120 items on one slot in a sanitizer
        // build take over a minute, all of it queueing, none of it a stuck pool.
        auto lease = co_await pool.acquire(profile, std::chrono::seconds(300));
        r.target_id = lease.page().target_id();
        r.context_id = lease.page().context_id();
        r.browser_id = lease.browser_id();
        if (on_lease) on_lease(r.browser_id);
        try {
            cdp::navigate_options nav;
            nav.timeout = std::chrono::seconds(20);
            auto page = lease.page_ptr();
            const auto nav_started = std::chrono::steady_clock::now();
            auto result = co_await page->navigate(url, nav);
            lease.observe_navigation(std::chrono::steady_clock::now() - nav_started);
            r.status = result.status;
            if (result.status == 200) {
                std::string ready = "document.querySelector('#price') && "
                                    "document.querySelector('#price').dataset.value";
                co_await page->wait_for_function(std::move(ready), std::chrono::seconds(5));
                std::string read = "({name: document.querySelector('.product-name').textContent,"
                                   " price: Number(document.querySelector('#price').dataset.value),"
                                   " stock: document.querySelector('.stock').dataset.stock})";
                const nlohmann::json v = co_await page->evaluate(std::move(read));
                r.name = v.value("name", "");
                r.price = v.value("price", std::int64_t{0});
                r.stock = v.value("stock", "");
            }
            lease.release(pool::item_outcome::ok);
            co_return r;
        } catch (const std::exception& e) {
            if (pool::browser_pool::is_retryable(e) && attempt < max_retries) {
                ++r.retries;
                lease.release(pool::item_outcome::broken);
                continue;
            }
            r.error = e.what();
            lease.release(pool::item_outcome::broken);
            co_return r;
        }
    }
}

} // namespace rotor::fixture
