// Short readable lines from agent text (agents/readable_text.hpp).
#include "agents/readable_text.hpp"

#include <catch2/catch.hpp>

using namespace sf::agents;

TEST_CASE("one_line takes the first non-blank line, trimmed and capped", "[agents][text]") {
  CHECK(one_line("\n  \n\tFirst line  \nsecond") == "First line");
  CHECK(one_line("a\tb\x01"
                 "c") == "a bc");
  CHECK(one_line("") == "");
  auto capped = one_line(std::string(500, 'x'));
  CHECK(capped.size() == max_activity_bytes);
  CHECK(capped.substr(capped.size() - 3) == "...");
}

TEST_CASE("cap_bytes never cuts a UTF-8 character", "[agents][text]") {
  std::string s = "ab\xC3\xA9\xC3\xA9"; // "abéé": 6 bytes
  CHECK(cap_bytes(s, 6) == s);
  CHECK(cap_bytes(s, 5) == "ab...");
  // Room for 2 bytes before "...": the second is half of an é, so only "a" is kept.
  CHECK(cap_bytes("a\xC3\xA9"
                  "bcdef",
                  5) == "a...");
  CHECK(cap_bytes(s, 7) == s);
  CHECK(cap_bytes("abcdef", 6) == "abcdef");
  CHECK(cap_bytes("abcdefg", 6) == "abc...");
}

TEST_CASE("transcript lines: prefix, indented continuation, capped count", "[agents][text]") {
  CHECK(transcript_lines("[assistant]", "Hello\n\n  world") ==
        std::vector<std::string>{"[assistant] Hello", "    world"});
  CHECK(transcript_lines("[todo]", "") == std::vector<std::string>{"[todo]"});
  std::string many;
  for (int i = 0; i < 100; ++i)
    many += "line " + std::to_string(i) + "\n";
  auto lines = transcript_lines("[tool error]", many);
  REQUIRE(lines.size() == max_transcript_lines_per_event + 1);
  CHECK(lines.front() == "[tool error] line 0");
  CHECK(lines.back() == "  ... (60 more lines)");
}

TEST_CASE("unwrap_shell shows the command a shell wrapper runs", "[agents][text]") {
  CHECK(unwrap_shell("bash -lc 'ctest --output-on-failure'") == "ctest --output-on-failure");
  CHECK(unwrap_shell("/usr/bin/bash -lc 'make -j2'") == "make -j2");
  CHECK(unwrap_shell("/bin/sh -c \"ls\"") == "ls");
  CHECK(unwrap_shell("bash -lc 'echo '\\''x'\\'''") == "'echo '\\''x'\\'''");
  CHECK(unwrap_shell("bash -lc make") == "make");
  CHECK(unwrap_shell("python3 -c 'print(1)'") == "python3 -c 'print(1)'");
  CHECK(unwrap_shell("ctest") == "ctest");
}
