#pragma once
/// A command a test needs to succeed: it fails the test otherwise.

#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <string>

namespace sf::test {

/// Runs `cmd` in `cwd`, fails the test if it fails, and returns stdout without a trailing newline.
inline std::string run_ok(const std::string& cmd, const std::string& cwd) {
  auto r = run(cmd, cwd);
  INFO(cmd << " in " << cwd << ": " << r.err);
  REQUIRE(r.exit_code == 0);
  while (!r.out.empty() && r.out.back() == '\n')
    r.out.pop_back();
  return r.out;
}

} // namespace sf::test
