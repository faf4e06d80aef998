// `sf-actors <verb> --help` and README.md's command table must describe the same commands
// and long options.
#include "config/preferences.hpp"
#include "support/help_verbs.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <regex>
#include <set>
#include <sstream>

using namespace sf::test;

namespace {

// Long options of one verb's help, e.g. {"--json", "--watch", "--help"}.
std::set<std::string> help_options(const std::string& verb) {
  auto help = run_cli(verb + " --help");
  REQUIRE(help.exit_code == 0);
  std::set<std::string> out;
  std::istringstream in(help.out);
  std::string line;
  static const std::regex option(R"((--[a-z][a-z-]*))");
  while (std::getline(in, line)) {
    // Option rows start with whitespace and a dash; descriptions may mention other flags.
    static const std::regex row(R"(^\s+-)");
    if (!std::regex_search(line, row))
      continue;
    auto head = line.substr(0, line.find("  ", line.find_first_not_of(' ')));
    for (std::sregex_iterator it(head.begin(), head.end(), option), end; it != end; ++it)
      out.insert((*it)[1]);
  }
  return out;
}

struct readme_row {
  std::string verb;
  std::set<std::string> options;
};

// Rows of the README's command table: the first cell is `sf-actors <verb> [args]`.
std::vector<readme_row> readme_rows(const std::string& readme) {
  std::vector<readme_row> rows;
  std::istringstream in(readme);
  std::string line;
  static const std::regex cell(R"(^\| `sf-actors ([a-z][a-z-]*)([^`]*)` \|)");
  static const std::regex option(R"((--[a-z][a-z-]*))");
  while (std::getline(in, line)) {
    std::smatch m;
    if (!std::regex_search(line, m, cell))
      continue;
    readme_row r{m[1], {}};
    std::string rest = m[2];
    for (std::sregex_iterator it(rest.begin(), rest.end(), option), end; it != end; ++it)
      r.options.insert((*it)[1]);
    rows.push_back(r);
  }
  return rows;
}

} // namespace

TEST_CASE("every verb and long option of --help is in the README", "[cli][help]") {
  auto readme = read_file(std::string(SF_SOURCE_DIR) + "/README.md");
  auto verbs = help_verbs();
  REQUIRE(verbs.size() >= 10);
  for (const auto& verb : verbs) {
    INFO("verb " << verb);
    CHECK(readme.find("`sf-actors " + verb) != std::string::npos);
    for (const auto& opt : help_options(verb)) {
      INFO("option " << opt);
      CHECK(readme.find(opt) != std::string::npos);
    }
  }
}

TEST_CASE("every command and option in the README's table exists in --help", "[cli][help]") {
  auto readme = read_file(std::string(SF_SOURCE_DIR) + "/README.md");
  auto rows = readme_rows(readme);
  REQUIRE(rows.size() >= 10);
  auto verbs = help_verbs();
  for (const auto& row : rows) {
    INFO("README row for " << row.verb);
    REQUIRE(verbs.count(row.verb) == 1);
    auto opts = help_options(row.verb);
    for (const auto& opt : row.options) {
      INFO("option " << opt);
      CHECK(opts.count(opt) == 1);
    }
  }
}

TEST_CASE("every preference key is a row of the README's preferences table and no other",
          "[cli][help]") {
  auto readme = read_file(SF_SOURCE_DIR "/README.md");
  auto start = readme.find("## Preferences");
  REQUIRE(start != std::string::npos);
  auto end = readme.find("\n## ", start + 1);
  std::istringstream in(readme.substr(start, end - start));
  std::set<std::string> rows;
  static const std::regex row(R"(^\| `([a-z_.<>]+)` \|)");
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_search(line, m, row))
      rows.insert(m[1]);
  }
  std::set<std::string> keys;
  for (const auto& k : sf::preference_keys())
    keys.insert(k.name);
  CHECK(rows == keys);
}
