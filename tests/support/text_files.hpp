#pragma once
/// Small text helpers of the tests: a file's text (empty when it is absent) and counts.

#include <cstddef>
#include <fstream>
#include <sstream>
#include <string>

namespace sf::test {

/// The text of `path`, or empty when it cannot be read (not there yet).
inline std::string text_of(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// How often `needle` stands in `text` (overlapping matches count).
inline std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
    ++n;
  return n;
}

} // namespace sf::test
