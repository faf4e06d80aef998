// The README's hooks and worktree_setup example, run as written: its preferences on a real
// project, one milestone that completes and one that fails.
#include "support/project.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

using namespace sf::test;

namespace {

// The first ```yaml block after `heading` in README.md.
std::string readme_yaml(const std::string& heading) {
  auto readme = read_file(std::string(SF_SOURCE_DIR) + "/README.md");
  auto at = readme.find("\n" + heading + "\n");
  REQUIRE(at != std::string::npos);
  auto open = readme.find("```yaml\n", at);
  REQUIRE(open != std::string::npos);
  open += 8;
  auto close = readme.find("```\n", open);
  REQUIRE(close != std::string::npos);
  return readme.substr(open, close - open);
}

} // namespace

TEST_CASE("the README's hooks and worktree_setup example works as written", "[readme][hooks]") {
  auto yaml = readme_yaml("## Hooks and worktree setup");
  REQUIRE(yaml.rfind("parallel:\n", 0) == 0);
  // The unit proves the setup copied .env; the README says to ignore it, so the test does.
  test_project p({ms("M001", {}, {{"U01", "grep -q SECRET .env && echo used > used.txt", {}, -1}}),
                  ms("M002", {}, {{"U01", "exit 3", {}, -1}})},
                 yaml.substr(10));
  write_file(p.path(".gitignore"), ".env\n");
  p.git("add .gitignore");
  p.git("commit -q -m ignore");
  write_file(p.path(".env"), "SECRET=1\n");
  auto r = p.cli("start --yes --max-workers 2");
  INFO(r.out << r.err);
  CHECK(state_of(p.root(), "M001") == "complete");
  CHECK(state_of(p.root(), "M002") == "failed");
  // The CLI runs with HOME at the project root.
  auto notes = read_file(p.path("sf-notes.txt"));
  INFO(notes);
  CHECK(notes.find("M001 complete: 1 units\n") != std::string::npos);
  CHECK(notes.find("M002 failed: ") != std::string::npos);
  auto committed = p.git("log --format= --name-only milestone/M001");
  CHECK(committed.find("used.txt") != std::string::npos);
  CHECK(committed.find(".env") == std::string::npos);
}
