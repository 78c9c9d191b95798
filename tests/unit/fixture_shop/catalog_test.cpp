#include "catalog.hpp"
#include "pages.hpp"

#include <gtest/gtest.h>

namespace rotor::fixture {
namespace {

TEST(Catalog, IdClassesFollowTheThousands) {
    EXPECT_EQ(kind_of(1), product_kind::normal);
    EXPECT_EQ(kind_of(403999), product_kind::normal);
    EXPECT_EQ(kind_of(404000), product_kind::not_found);
    EXPECT_EQ(kind_of(404999), product_kind::not_found);
    EXPECT_EQ(kind_of(410123), product_kind::gone);
    EXPECT_EQ(kind_of(500001), product_kind::server_error);
    EXPECT_EQ(kind_of(700002), product_kind::slow);
    EXPECT_EQ(kind_of(701000), product_kind::never_loads);
    EXPECT_EQ(kind_of(702003), product_kind::memory_heavy);
    EXPECT_EQ(kind_of(703000), product_kind::infinite_loop);
    EXPECT_EQ(kind_of(704010), product_kind::redirect_chain);
    EXPECT_EQ(kind_of(705000), product_kind::price_never);
    EXPECT_EQ(kind_of(706000), product_kind::heap_hog);
    EXPECT_EQ(kind_of(707000), product_kind::normal);
    for (auto kind : {product_kind::not_found, product_kind::slow, product_kind::price_never,
                      product_kind::heap_hog}) {
        EXPECT_EQ(kind_of(first_id(kind)), kind);
    }
}

TEST(Catalog, ProductsAreDeterministicAndDistinct) {
    const product a = product_for(12345);
    const product b = product_for(12345);
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.price, b.price);
    EXPECT_EQ(a.stock, b.stock);
    EXPECT_NE(product_for(12345).name, product_for(12346).name);
    EXPECT_NE(a.name.find("#12345"), std::string::npos);
    EXPECT_GE(a.price, 5000);
    EXPECT_EQ(a.price % 500, 0);
    EXPECT_EQ(product_for(14).stock, stock_status::out_of_stock);
    EXPECT_EQ(product_for(22).stock, stock_status::low_stock);
    EXPECT_EQ(product_for(23).stock, stock_status::in_stock);
}

TEST(Catalog, FormatsPricesWithThousandsSeparators) {
    EXPECT_EQ(format_price(500), "500원");
    EXPECT_EQ(format_price(5000), "5,000원");
    EXPECT_EQ(format_price(12300), "12,300원");
    EXPECT_EQ(format_price(1234567), "1,234,567원");
}

TEST(Catalog, StockNamesRoundTrip) {
    for (auto s : {stock_status::in_stock, stock_status::low_stock, stock_status::out_of_stock}) {
        EXPECT_EQ(stock_from_string(to_string(s)), s);
    }
    EXPECT_FALSE(stock_from_string("sold").has_value());
}

TEST(Catalog, DelaysStayInTheirDocumentedRanges) {
    for (std::uint64_t id = 0; id < 1000; ++id) {
        EXPECT_GE(price_delay_ms(id), 100);
        EXPECT_LT(price_delay_ms(id), 300);
        EXPECT_GE(slow_delay_ms(id), 1000);
        EXPECT_LE(slow_delay_ms(id), 3000);
        EXPECT_GE(memory_heavy_mb(id), 64);
        EXPECT_LE(memory_heavy_mb(id), 160);
    }
}

TEST(Pages, ProductPageCarriesWhatAScraperReads) {
    const product p = product_for(4242);
    const std::string html = product_page_html(p);
    EXPECT_GT(html.size(), 20u * 1024);
    EXPECT_NE(html.find("<h1 class=\"product-name\">" + p.name + "</h1>"), std::string::npos);
    EXPECT_NE(html.find("\"price\":" + std::to_string(p.price)), std::string::npos);
    EXPECT_NE(html.find("el.textContent = '" + format_price(p.price) + "'"), std::string::npos);
    EXPECT_NE(html.find("/static/shop.css"), std::string::npos);
    EXPECT_NE(html.find("/img/4242/6.svg"), std::string::npos);
    EXPECT_EQ(html.find("/hang/"), std::string::npos);
}

TEST(Pages, SpecialKindsChangeThePage) {
    EXPECT_NE(product_page_html(product_for(701001)).find("/hang/701001"), std::string::npos);
    EXPECT_NE(product_page_html(product_for(703001)).find("for (;;) {}"), std::string::npos);
    EXPECT_EQ(product_page_html(product_for(705001)).find("el.textContent"), std::string::npos);
    EXPECT_NE(product_page_html(product_for(702001)).find("Float64Array"), std::string::npos);
}

} // namespace
} // namespace rotor::fixture
