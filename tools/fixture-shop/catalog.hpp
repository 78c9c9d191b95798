#pragma once
// The fixture shop's catalogue: every product and every page behaviour is a pure function of the
// product id, so tests, demos and benchmarks compute what they expect instead of storing it.
// The id classes are documented in tools/fixture-shop/README.md.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rotor::fixture {

/// How the shop treats a product id (the id class is `id / 1000`).
enum class product_kind {
    normal,         // any id outside the classes below
    not_found,      // 404xxx: 404 with a "not found" page
    gone,           // 410xxx: 410, product discontinued
    server_error,   // 500xxx: 500
    slow,           // 700xxx: the response starts after slow_delay_ms(id)
    never_loads,    // 701xxx: an image on the page never answers, so `load` never fires
    memory_heavy,   // 702xxx: page script keeps memory_heavy_mb(id) MB alive
    infinite_loop,  // 703xxx: an inline script spins forever
    redirect_chain, // 704xxx: three 302 hops before the product page
    price_never,    // 705xxx: the price element is never filled in
    heap_hog,       // 706xxx: no price; a script grows the JS heap by ~600 MB after the page
                    // loads (a renderer given a small --max-old-space-size crashes on it)
};

enum class stock_status { in_stock, low_stock, out_of_stock };

/// What a scraper should read from /product/{id} (and the API routes) for a normal product.
struct product {
    std::uint64_t id = 0;
    std::string name;       // UTF-8, in <h1 class="product-name">
    std::int64_t price = 0; // KRW, set by script into #price after price_delay_ms
    stock_status stock = stock_status::in_stock;
    product_kind kind = product_kind::normal;
};

product_kind kind_of(std::uint64_t id);
product product_for(std::uint64_t id);

/// First id of a class, e.g. first_id(product_kind::not_found) == 404000.
std::uint64_t first_id(product_kind kind);

std::string_view to_string(product_kind kind);
std::string_view to_string(stock_status stock);
std::optional<stock_status> stock_from_string(std::string_view text);

/// "12,300원" as rendered in #price.
std::string format_price(std::int64_t price);

/// Milliseconds after DOMContentLoaded before the page script fills in the price.
int price_delay_ms(std::uint64_t id);
/// Milliseconds a slow product waits before its response starts (1000..3000).
int slow_delay_ms(std::uint64_t id);
/// Megabytes a memory-heavy product page keeps alive (64..160).
int memory_heavy_mb(std::uint64_t id);
/// Number of images on a product page.
inline constexpr int images_per_page = 6;
/// Number of 302 hops for a redirect-chain product.
inline constexpr int redirect_hops = 3;

} // namespace rotor::fixture
