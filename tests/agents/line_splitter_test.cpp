// Cutting agent output into bounded lines (agents/line_splitter.hpp).
#include "agents/line_splitter.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using sf::agents::line_splitter;

namespace {

struct collected {
  std::vector<std::string> lines;
  sf::agents::line_handler handler() {
    return [this](std::string_view l) { lines.emplace_back(l); };
  }
};

} // namespace

TEST_CASE("lines split across chunks, one trailing CR dropped, last line on finish",
          "[agents][lines]") {
  line_splitter s(100);
  collected c;
  s.feed("one\r", c.handler());
  s.feed("\ntw", c.handler());
  s.feed("o\r\r\n\nin\rside\nlast", c.handler());
  CHECK(c.lines == std::vector<std::string>{"one", "two\r", "", "in\rside"});
  s.finish(c.handler());
  CHECK(c.lines.back() == "last");
  s.finish(c.handler());
  CHECK(c.lines.size() == 5);
}

TEST_CASE("an overlong line is skipped whole and never held in memory", "[agents][lines]") {
  line_splitter s(1000);
  collected c;
  s.feed("short\n" + std::string(600, 'a'), c.handler());
  CHECK(s.buffered() >= 600);
  // Fed in pieces: once past the limit nothing of it is kept, however long it grows.
  for (int i = 0; i < 100; ++i) {
    s.feed(std::string(600, 'b'), c.handler());
    REQUIRE(s.buffered() == 0);
  }
  s.feed("bbb\nnext\n" + std::string(1000, 'c') + "\n", c.handler());
  CHECK(c.lines == std::vector<std::string>{"short", "next", std::string(1000, 'c')});
  CHECK(s.skipped() == 1);
  // An overlong last line without a newline is skipped too.
  s.feed(std::string(1001, 'd'), c.handler());
  s.finish(c.handler());
  CHECK(s.skipped() == 2);
  CHECK(c.lines.size() == 3);
}
