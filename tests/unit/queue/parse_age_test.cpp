#include "queue/errors.hpp"
#include "queue/job_admin.hpp"

#include <gtest/gtest.h>

namespace rotor::queue {
namespace {

TEST(ParseAge, TakesSecondsMinutesHoursAndDays) {
    EXPECT_EQ(parse_age("7d"), std::chrono::hours(7 * 24));
    EXPECT_EQ(parse_age("12h"), std::chrono::hours(12));
    EXPECT_EQ(parse_age("30m"), std::chrono::minutes(30));
    EXPECT_EQ(parse_age("45s"), std::chrono::seconds(45));
    EXPECT_EQ(parse_age("3600"), std::chrono::seconds(3600));
    EXPECT_EQ(parse_age("0"), std::chrono::seconds(0));
}

TEST(ParseAge, RefusesAnythingElseNamingIt) {
    for (const char* bad :
         {"", "d", "7w", "-1d", "7 d", "1.5h", "99999999999999999999d", "200000000000d"}) {
        try {
            parse_age(bad);
            ADD_FAILURE() << "'" << bad << "' was taken";
        } catch (const error& e) {
            EXPECT_EQ(e.kind(), errc::invalid_argument);
            EXPECT_NE(std::string(e.what()).find(std::string("'") + bad + "'"), std::string::npos);
        }
    }
}

} // namespace
} // namespace rotor::queue
