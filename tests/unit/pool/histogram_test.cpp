#include "pool/histogram.hpp"

#include <gtest/gtest.h>

namespace rotor::pool {
namespace {

using namespace std::chrono_literals;

TEST(Histogram, CountsIntoLeBucketsWithSumAndQuantiles) {
    histogram h;
    h.observe(3ms);  // <= 0.005
    h.observe(5ms);  // <= 0.005 (le is inclusive)
    h.observe(70ms); // <= 0.1
    h.observe(2s);   // <= 2.5
    h.observe(5min); // +Inf
    const auto s = h.snapshot();
    ASSERT_EQ(s.counts.size(), s.bounds.size() + 1);
    EXPECT_EQ(s.count, 5u);
    EXPECT_EQ(s.counts[0], 2u);
    EXPECT_EQ(s.counts[4], 1u);
    EXPECT_EQ(s.counts[8], 1u);
    EXPECT_EQ(s.counts.back(), 1u);
    EXPECT_NEAR(s.sum_seconds, 0.003 + 0.005 + 0.07 + 2 + 300, 1e-6);
    EXPECT_DOUBLE_EQ(s.quantile(0.4), 0.005);
    EXPECT_DOUBLE_EQ(s.quantile(0.6), 0.1);
    EXPECT_DOUBLE_EQ(s.quantile(1.0), 120);
    EXPECT_DOUBLE_EQ(histogram{}.snapshot().quantile(0.5), 0);
}

} // namespace
} // namespace rotor::pool
