#include "queue/checkpoint.hpp"
#include "queue/keys.hpp"

#include <gtest/gtest.h>

namespace rotor::queue {
namespace {

TEST(Checkpoint, AdvancesOverContiguousItemsOnly) {
    checkpoint_state c;
    c.total = 10;
    c.mark_done(1);
    c.mark_done(2);
    EXPECT_EQ(c.processed_index, 0u);
    EXPECT_EQ(c.done_beyond, (std::set<std::size_t>{1, 2}));
    c.mark_done(0);
    EXPECT_EQ(c.processed_index, 3u);
    EXPECT_TRUE(c.done_beyond.empty());
    c.mark_done(5);
    c.mark_done(1); // already done: no effect
    EXPECT_EQ(c.processed_index, 3u);
    EXPECT_EQ(c.pending(), (std::vector<std::size_t>{3, 4, 6, 7, 8, 9}));
    EXPECT_TRUE(c.is_done(5));
    EXPECT_FALSE(c.is_done(4));
    EXPECT_EQ(c.done_count(), 4u);
}

// A job's pending items are its own, whatever total its checkpoint was written with.
TEST(Checkpoint, PendingItemsAreBoundedByTheJobNotByTheCheckpoint) {
    checkpoint_state c;
    c.total = 4;
    c.mark_done(0);
    c.mark_done(2);
    EXPECT_EQ(c.pending(6), (std::vector<std::size_t>{1, 3, 4, 5})) << "the job was cut short";
    EXPECT_EQ(c.pending(2), (std::vector<std::size_t>{1})) << "read past the job's items";
    EXPECT_EQ(c.pending(), (std::vector<std::size_t>{1, 3}));
}

TEST(Keys, KeepTheUsersNames) {
    keys k;
    EXPECT_EQ(k.queue("oliveyoung"), "workflow:queue:platform:oliveyoung");
    EXPECT_EQ(k.job("j1"), "workflow:job:j1");
    EXPECT_EQ(k.lock("hwahae"), "workflow:lock:platform:hwahae");
    EXPECT_EQ(k.running("hwahae"), "workflow:running:platform:hwahae");
    EXPECT_EQ(k.checkpoint("j1", "scan"), "workflow:checkpoint:j1:scan");
    EXPECT_EQ(k.failures("j1"), "workflow:failures:j1");
    EXPECT_EQ(k.batch_group("g"), "workflow:batch-group:g");
    EXPECT_EQ(keys("t1:").queue("p"), "t1:queue:platform:p");
}

} // namespace
} // namespace rotor::queue
