// The README's "Building by hand" commands are the ones the scripts run: the build and the
// suite as command (2) (scripts/test.sh, which CI runs) does them, and the sanitizer runs with
// the kinds and folders scripts/sanitize.sh has. Running the builds themselves is CI's job
// (and a sanitizer build takes longer than the whole suite), so this checks they cannot drift.
#include "docs/readme_blocks.hpp"
#include "support/project.hpp"

#include <catch2/catch.hpp>

#include <sstream>

using namespace sf::test;

namespace {

std::vector<std::string> commands_of(const std::string& block) {
  std::vector<std::string> out;
  std::istringstream in{block};
  std::string line;
  while (std::getline(in, line)) {
    auto hash = line.find("   #");
    auto cmd = line.substr(0, hash);
    while (!cmd.empty() && cmd.back() == ' ')
      cmd.pop_back();
    if (!cmd.empty())
      out.push_back(cmd);
  }
  return out;
}

std::string source(const std::string& rel) {
  return read_file(std::string(SF_SOURCE_DIR) + "/" + rel);
}

} // namespace

TEST_CASE("the README's build-by-hand commands are what the scripts run", "[readme]") {
  auto block = readme_block("## Building by hand and sanitizers");
  auto cmds = commands_of(block);
  REQUIRE(cmds.size() == 4);
  CHECK(cmds[0] == "scripts/setup.sh build");
  CHECK(cmds[2] == "scripts/sanitize.sh address");
  CHECK(cmds[3] == "scripts/sanitize.sh thread");

  // Command (2) builds into build/ with setup.sh, then runs ctest as the README's second line.
  auto test_sh = source("scripts/test.sh");
  CHECK(test_sh.find("\"$here/scripts/setup.sh\" \"$here/build\"\n") != std::string::npos);
  const std::string prefix = "(cd build && ";
  REQUIRE(cmds[1].rfind(prefix, 0) == 0);
  REQUIRE(cmds[1].back() == ')');
  auto ctest = cmds[1].substr(prefix.size(), cmds[1].size() - prefix.size() - 1);
  INFO(ctest);
  CHECK(test_sh.find("\ncd \"$here/build\"\n") != std::string::npos);
  CHECK(test_sh.find("\n" + ctest + " ") != std::string::npos);

  // The sanitizer script takes exactly the kinds shown and builds where the README says.
  CHECK(block.find("(build-address/)") != std::string::npos);
  CHECK(block.find("(build-thread/)") != std::string::npos);
  auto sanitize_sh = source("scripts/sanitize.sh");
  CHECK(sanitize_sh.find("build=\"$here/build-$kind\"") != std::string::npos);
  auto bogus = run("bash scripts/sanitize.sh bogus", SF_SOURCE_DIR);
  CHECK(bogus.exit_code == 2);
  CHECK(bogus.err == "usage: scripts/sanitize.sh address|thread\n");
  auto none = run("bash scripts/sanitize.sh", SF_SOURCE_DIR);
  CHECK(none.exit_code != 0);
  CHECK(none.err.find("usage: scripts/sanitize.sh address|thread") != std::string::npos);
}
