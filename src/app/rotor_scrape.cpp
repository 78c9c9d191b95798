// rotor-scrape: scrape a few product pages with one Chromium through rotor_cdp and print what
// was read. A hands-on check of the CDP layer (the worker replaces it for real runs).
#include "cdp/browser.hpp"

#include <boost/asio/use_awaitable.hpp>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <iostream>
#include <sstream>

namespace {

using rotor::cdp::json;
using rotor::cdp::milliseconds;

// Reads name, price and stock once the script has filled the price in.
boost::asio::awaitable<json> scrape(rotor::cdp::browser& b, std::string url) {
    auto page = co_await b.new_page();
    json out = json::object();
    out["url"] = url;
    try {
        rotor::cdp::navigate_options nav;
        nav.timeout = milliseconds(15000);
        auto result = co_await page->navigate(std::move(url), nav);
        out["status"] = result.status;
        out["final_url"] = result.url;
        if (result.status == 200) {
            co_await page->wait_for_function("document.querySelector('#price') && "
                                             "document.querySelector('#price').dataset.value",
                                             milliseconds(3000));
            out["product"] = co_await page->evaluate(
                "({name: document.querySelector('.product-name').textContent,"
                " price: Number(document.querySelector('#price').dataset.value),"
                " stock: document.querySelector('.stock').dataset.stock})");
        }
    } catch (const rotor::cdp::error& e) {
        out["error"] = e.what();
    }
    co_await page->close();
    co_return out;
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"Scrape fixture-shop products with Chromium through rotor's CDP client"};
    std::string shop;
    std::string products;
    app.add_option("--shop", shop, "Base URL of the fixture shop")->required();
    app.add_option("--products", products, "Comma-separated product ids")->required();
    CLI11_PARSE(app, argc, argv);

    try {
        auto b = rotor::cdp::browser::launch();
        const json version = b->run(b->version());
        std::cout << "rotor-scrape: " << version.value("product", "?") << " (pid " << b->pid()
                  << ")\n";
        int ok = 0;
        int failed = 0;
        std::stringstream ids(products);
        std::string id;
        while (std::getline(ids, id, ',')) {
            json row = b->run(scrape(*b, shop + "/product/" + id));
            (row.contains("product") ? ok : failed)++;
            std::cout << row.dump() << "\n";
        }
        std::cout << "rotor-scrape: " << ok << " products read, " << failed
                  << " without a product (HTTP error, timeout or no price)\n";
        b->close();
    } catch (const std::exception& e) {
        std::cerr << "rotor-scrape: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
