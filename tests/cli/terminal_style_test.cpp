// The Markdown of reports becomes bold and colour on a terminal, and stays byte for byte the
// spec's Markdown otherwise.
#include "cli/terminal_style.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>

TEST_CASE("style_markdown turns markup into ANSI styles and keeps the words", "[style]") {
  std::string md = "# Merge Results\n\n- **M002** — merged successfully\n"
                   "- **M003** — CONFLICT (1 file(s)):\n  - `shared.txt`\n";
  auto styled = sf::cli::style_markdown(md);
  CHECK(styled.find("**") == std::string::npos);
  CHECK(styled.find('`') == std::string::npos);
  CHECK(styled.find("# ") == std::string::npos);
  CHECK(styled.find("\x1b[1m") != std::string::npos);
  for (const char* word : {"Merge Results", "M002", "merged successfully", "CONFLICT", "shared.txt"})
    CHECK(styled.find(word) != std::string::npos);
  // Red for the conflict, green for the success, cyan for the file.
  CHECK(styled.find("\x1b[31m") != std::string::npos);
  CHECK(styled.find("\x1b[32m") != std::string::npos);
  CHECK(styled.find("\x1b[36m") != std::string::npos);
  // Every line stays a line.
  CHECK(std::count(styled.begin(), styled.end(), '\n') == std::count(md.begin(), md.end(), '\n'));
}

TEST_CASE("output that is not a terminal, or NO_COLOR, keeps the Markdown unchanged", "[style]") {
  std::string md = "# Parallel Status\n\n- **M001** — x: running\n";
  // The test's standard output is a pipe or a file under ctest.
  if (!sf::cli::styled_output(1))
    CHECK(sf::cli::for_stdout(md) == md);
  ::setenv("NO_COLOR", "1", 1);
  CHECK_FALSE(sf::cli::styled_output(1));
  CHECK(sf::cli::for_stdout(md) == md);
  ::unsetenv("NO_COLOR");
}
