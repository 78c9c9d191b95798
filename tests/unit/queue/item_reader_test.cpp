// Reading items to enqueue from CSV and JSON lines: what is an item, what is a bad line, and
// which line it was.
#include "queue/item_id.hpp"
#include "queue/item_reader.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace rotor::queue {
namespace {

std::vector<read_item> read(const std::string& text, item_format format) {
    std::istringstream in(text);
    item_reader reader(in, format);
    std::vector<read_item> out;
    read_item r;
    while (reader.next(r)) out.push_back(r);
    return out;
}

TEST(ItemReader, CsvWithoutHeaderIsOneIdPerRow) {
    const auto items = read("\xEF\xBB\xBF"
                            "A1\r\n\r\n  A2 \n\"A,3\"\nB1,B2\n",
                            item_format::csv);
    ASSERT_EQ(items.size(), 4u);
    EXPECT_EQ(items[0].item.id, "A1") << "the BOM and CR are gone";
    EXPECT_EQ(items[0].line, 1u);
    EXPECT_EQ(items[1].item.id, "A2") << "trimmed";
    EXPECT_EQ(items[1].line, 3u) << "empty lines are skipped but counted";
    EXPECT_EQ(items[2].item.id, "A,3");
    EXPECT_TRUE(items[2].problem.empty());
    EXPECT_EQ(items[3].line, 5u);
    EXPECT_NE(items[3].problem.find("no header naming the id column"), std::string::npos)
        << items[3].problem;
}

TEST(ItemReader, CsvHeaderNamesTheIdAndTheValues) {
    const auto items = read("name,Product_ID,price\n\"Cream, 50ml\",A1,\"12,000\"\n"
                            "\"Two\nlines \"\"quoted\"\"\",A2,3\nshort,A3\n,A4,5\n",
                            item_format::csv);
    ASSERT_EQ(items.size(), 4u);
    EXPECT_EQ(items[0].item.id, "A1");
    EXPECT_EQ(items[0].line, 2u);
    EXPECT_EQ(items[0].item.data, (nlohmann::json{{"name", "Cream, 50ml"}, {"price", "12,000"}}));
    EXPECT_EQ(items[1].item.id, "A2");
    EXPECT_EQ(items[1].line, 3u);
    EXPECT_EQ(items[1].item.data["name"], "Two\nlines \"quoted\"");
    EXPECT_EQ(items[2].line, 5u) << "the quoted line break counts as a line";
    EXPECT_NE(items[2].problem.find("2 columns, the header 3"), std::string::npos)
        << items[2].problem;
    EXPECT_EQ(items[3].item.id, "A4");
    EXPECT_EQ(items[3].item.data["name"], "");
}

TEST(ItemReader, CsvBadRecordsAreReportedAndReadingGoesOn) {
    const auto items = read("\"A1\"x\n\xff\xfe\n \n\"open\nA3\n", item_format::csv);
    ASSERT_EQ(items.size(), 3u);
    EXPECT_NE(items[0].problem.find("after a closing quote"), std::string::npos);
    EXPECT_EQ(items[1].line, 2u);
    EXPECT_NE(items[1].problem.find("not valid UTF-8"), std::string::npos) << items[1].problem;
    EXPECT_EQ(items[2].line, 4u);
    EXPECT_NE(items[2].problem.find("ends inside a quoted field"), std::string::npos);
}

TEST(ItemReader, JsonLinesAreIdsOrObjects) {
    const auto items = read("\"A1\"\n42\n{\"id\":\"A3\",\"name\":\"x\"}\n{\"product_id\":7}\n"
                            "1.5\n{\"name\":\"no id\"}\n{\"id\":true}\nnot json\n[1]\n\"  \"\n",
                            item_format::jsonl);
    ASSERT_EQ(items.size(), 10u);
    EXPECT_EQ(items[0].item.id, "A1");
    EXPECT_EQ(items[1].item.id, "42");
    EXPECT_EQ(items[2].item.id, "A3");
    EXPECT_EQ(items[2].item.data, (nlohmann::json{{"name", "x"}}));
    EXPECT_EQ(items[3].item.id, "7");
    EXPECT_TRUE(items[3].item.data.is_null()) << "nothing but the id: no values";
    for (std::size_t i = 0; i < 4; ++i) EXPECT_TRUE(items[i].problem.empty()) << i;
    EXPECT_NE(items[4].problem.find("an id (a string or an integer)"), std::string::npos);
    EXPECT_NE(items[5].problem.find("no \"id\""), std::string::npos);
    EXPECT_NE(items[6].problem.find("not a string or an integer"), std::string::npos);
    EXPECT_NE(items[7].problem.find("not JSON"), std::string::npos);
    EXPECT_EQ(items[7].line, 8u);
    EXPECT_FALSE(items[8].problem.empty());
    EXPECT_EQ(items[9].problem, "the id is empty");
}

TEST(ItemReader, DetectsTheFormatFromTheFirstLine) {
    auto items = read("\n{\"id\":\"A1\"}\n\"A2\"\n", item_format::detect);
    ASSERT_EQ(items.size(), 2u);
    EXPECT_EQ(items[0].item.id, "A1");
    EXPECT_EQ(items[0].line, 2u);
    EXPECT_EQ(items[1].item.id, "A2");
    items = read("id,name\nA1,x\n", item_format::detect);
    ASSERT_EQ(items.size(), 1u);
    EXPECT_EQ(items[0].item.data["name"], "x");
    EXPECT_EQ(format_of_path("x/PRODUCTS.JSONL"), item_format::jsonl);
    EXPECT_EQ(format_of_path("a.csv"), item_format::csv);
    EXPECT_EQ(format_of_path("-"), std::nullopt);
}

TEST(ItemReader, ALineOverOneMebibyteIsABadLineNotAnOutOfMemory) {
    std::string text = "A1\n" + std::string((1 << 20) + 10, 'x') + "\nA3\n";
    const auto items = read(text, item_format::csv);
    ASSERT_EQ(items.size(), 3u);
    EXPECT_NE(items[1].problem.find("longer than 1 MiB"), std::string::npos);
    EXPECT_EQ(items[2].item.id, "A3");
    EXPECT_EQ(items[2].line, 3u);
}

TEST(ItemId, TrimsAndRefusesWhatCannotBeAnId) {
    std::string id = " \tA-1 \r\n";
    EXPECT_EQ(normalize_item_id(id), std::nullopt);
    EXPECT_EQ(id, "A-1");
    for (std::string bad :
         {std::string(""), std::string(" "), std::string("a\x7f"), std::string("a\nb"),
          std::string(513, 'x'), std::string("\xc0\xaf"), std::string("\xed\xa0\x80"),
          std::string("\xf4\x90\x80\x80"), std::string("\xe2\x82")}) {
        EXPECT_NE(normalize_item_id(bad), std::nullopt) << bad;
    }
    std::string korean = "상품-1";
    EXPECT_EQ(normalize_item_id(korean), std::nullopt);
    EXPECT_TRUE(valid_utf8("\xf0\x9f\x98\x80"));
}

TEST(ItemReader, DeeplyNestedValuesAreABadLine) {
    std::string deep =
        "{\"id\":\"A1\",\"v\":" + std::string(400000, '[') + std::string(400000, ']') + "}";
    std::string ok = "{\"id\":\"A2\",\"v\":" + std::string(20, '[') + std::string(20, ']') + "}";
    const auto items = read(deep + "\n" + ok + "\n", item_format::jsonl);
    ASSERT_EQ(items.size(), 2u);
    EXPECT_NE(items[0].problem.find("nested more than"), std::string::npos) << items[0].problem;
    EXPECT_TRUE(items[1].problem.empty()) << items[1].problem;
}

TEST(ItemReader, AQuotedCsvRowIsNotTakenForJson) {
    auto items = read("\"id\",\"name\"\n\"A1\",\"Cream\"\n", item_format::detect);
    ASSERT_EQ(items.size(), 1u);
    EXPECT_EQ(items[0].item.id, "A1");
    EXPECT_EQ(items[0].item.data["name"], "Cream");
    items = read("id,\"na\xffme\"\nA1,x\n", item_format::csv);
    ASSERT_EQ(items.size(), 2u);
    EXPECT_NE(items[0].problem.find("header is not valid UTF-8"), std::string::npos);
    EXPECT_NE(items[1].problem.find("no row can be read"), std::string::npos);
}

} // namespace
} // namespace rotor::queue
