#pragma once
// The scrape every pool test and benchmark runs per item: lease a page, open the product, wait
// for the price, read name/price/stock, release. A retryable failure (the browser or page died
// under the item) is retried on a new lease, as the worker does.

#include "pool/browser_pool.hpp"

#include <boost/asio/awaitable.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <string>

namespace rotor::fixture {

struct scrape_result {
    std::uint64_t id = 0;
    int status = 0;
    std::string name;
    std::int64_t price = 0;
    std::string stock;
    std::string error;     // set when the item failed for good
    int retries = 0;       // retryable failures before it completed
    std::string target_id; // the page that served the final attempt
    std::string context_id;
    std::uint64_t browser_id = 0;
};

/// on_lease, when set, is called with the browser's id each time the item holds a lease, before
/// it navigates (a test can then kill that browser with the item certainly in it).
boost::asio::awaitable<scrape_result>
scrape_product(pool::browser_pool& pool, std::string base_url, std::uint64_t id,
               int max_retries = 5, cdp::page_profile profile = pool::browser_pool::open_profile(),
               std::function<void(std::uint64_t browser_id)> on_lease = {});

} // namespace rotor::fixture
