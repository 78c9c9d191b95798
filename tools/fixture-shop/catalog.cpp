#include "catalog.hpp"

#include <array>

namespace rotor::fixture {
namespace {

constexpr std::array<std::string_view, 8> brands = {"라운드랩", "Torriden", "아누아",     "Dr.G",
                                                    "마녀공장", "Mediheal", "이니스프리", "COSRX"};
constexpr std::array<std::string_view, 8> lines = {"1025 독도",   "DIVE-IN",     "어성초",
                                                   "Red Blemish", "퓨어 클렌징", "Teatree",
                                                   "그린티 씨드", "Snail 96"};
constexpr std::array<std::string_view, 8> items = {"토너 200ml",    "세럼 50ml",   "크림 80ml",
                                                   "선크림 SPF50+", "클렌징 오일", "패드 70매",
                                                   "앰플 30ml",     "에센스 100ml"};

} // namespace

product_kind kind_of(std::uint64_t id) {
    switch (id / 1000) {
    case 404:
        return product_kind::not_found;
    case 410:
        return product_kind::gone;
    case 500:
        return product_kind::server_error;
    case 700:
        return product_kind::slow;
    case 701:
        return product_kind::never_loads;
    case 702:
        return product_kind::memory_heavy;
    case 703:
        return product_kind::infinite_loop;
    case 704:
        return product_kind::redirect_chain;
    case 705:
        return product_kind::price_never;
    case 706:
        return product_kind::heap_hog;
    default:
        return product_kind::normal;
    }
}

std::uint64_t first_id(product_kind kind) {
    switch (kind) {
    case product_kind::normal:
        return 1;
    case product_kind::not_found:
        return 404000;
    case product_kind::gone:
        return 410000;
    case product_kind::server_error:
        return 500000;
    case product_kind::slow:
        return 700000;
    case product_kind::never_loads:
        return 701000;
    case product_kind::memory_heavy:
        return 702000;
    case product_kind::infinite_loop:
        return 703000;
    case product_kind::redirect_chain:
        return 704000;
    case product_kind::price_never:
        return 705000;
    case product_kind::heap_hog:
        return 706000;
    }
    return 1;
}

product product_for(std::uint64_t id) {
    product p;
    p.id = id;
    p.kind = kind_of(id);
    p.name = std::string(brands[id % 8]) + " " + std::string(lines[(id / 8) % 8]) + " " +
             std::string(items[(id / 64) % 8]) + " #" + std::to_string(id);
    p.price = 5000 + static_cast<std::int64_t>((id * 7919) % 95) * 500;
    if (id % 7 == 0) {
        p.stock = stock_status::out_of_stock;
    } else if (id % 11 == 0) {
        p.stock = stock_status::low_stock;
    } else {
        p.stock = stock_status::in_stock;
    }
    return p;
}

std::string_view to_string(product_kind kind) {
    switch (kind) {
    case product_kind::normal:
        return "normal";
    case product_kind::not_found:
        return "not_found";
    case product_kind::gone:
        return "gone";
    case product_kind::server_error:
        return "server_error";
    case product_kind::slow:
        return "slow";
    case product_kind::never_loads:
        return "never_loads";
    case product_kind::memory_heavy:
        return "memory_heavy";
    case product_kind::infinite_loop:
        return "infinite_loop";
    case product_kind::redirect_chain:
        return "redirect_chain";
    case product_kind::price_never:
        return "price_never";
    case product_kind::heap_hog:
        return "heap_hog";
    }
    return "unknown";
}

std::string_view to_string(stock_status stock) {
    switch (stock) {
    case stock_status::in_stock:
        return "in_stock";
    case stock_status::low_stock:
        return "low_stock";
    case stock_status::out_of_stock:
        return "out_of_stock";
    }
    return "unknown";
}

std::optional<stock_status> stock_from_string(std::string_view text) {
    if (text == "in_stock") return stock_status::in_stock;
    if (text == "low_stock") return stock_status::low_stock;
    if (text == "out_of_stock") return stock_status::out_of_stock;
    return std::nullopt;
}

std::string format_price(std::int64_t price) {
    std::string digits = std::to_string(price);
    std::string out;
    const auto n = digits.size();
    for (std::size_t i = 0; i < n; ++i) {
        if (i > 0 && (n - i) % 3 == 0) out.push_back(',');
        out.push_back(digits[i]);
    }
    return out + "원";
}

int price_delay_ms(std::uint64_t id) {
    return 100 + static_cast<int>(id % 200);
}
int slow_delay_ms(std::uint64_t id) {
    return 1000 * (1 + static_cast<int>(id % 3));
}
int memory_heavy_mb(std::uint64_t id) {
    return 64 + 32 * static_cast<int>(id % 4);
}

} // namespace rotor::fixture
