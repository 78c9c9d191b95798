#pragma once
// PLACEHOLDER until the page-profile branch lands: the shape the pool is written against.
#include "cdp/page.hpp"

#include <boost/asio/awaitable.hpp>

#include <memory>
#include <string>

namespace rotor::cdp {

struct page_profile {
    std::string name;
    std::string key() const { return name; }
};

inline boost::asio::awaitable<void> apply_profile(std::shared_ptr<page>, page_profile) {
    co_return;
}

} // namespace rotor::cdp
