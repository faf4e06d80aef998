// The prompt text every unit receives (SF_PROMPT, SF_PROMPT_FILE), checked exactly.
#include "config/unit_prompt.hpp"

#include <catch2/catch.hpp>

namespace {

sf::milestone example() {
  sf::milestone m;
  m.id = "M007";
  m.title = "Login page";
  m.body = "\n\nThe login page needs:\n\n  - a form\n  - a test\n\n\n";
  m.verify = "make test";
  sf::slice s;
  s.id = "S02";
  s.title = "Form";
  sf::unit u;
  u.id = "U03";
  u.title = "Write the form";
  u.agent = "claude";
  u.prompt = "Use plain HTML.\nNo JavaScript.\n";
  s.units.push_back(u);
  m.slices.push_back(s);
  return m;
}

} // namespace

TEST_CASE("the prompt holds the milestone, slice, unit and the closing rules, in that order",
          "[config]") {
  auto m = example();
  CHECK(sf::build_prompt(m, m.slices[0], m.slices[0].units[0]) ==
        "# M007: Login page\n"
        "\n"
        "The login page needs:\n"
        "\n"
        "  - a form\n"
        "  - a test\n"
        "\n"
        "## Slice S02: Form\n"
        "\n"
        "## Unit U03: Write the form\n"
        "\n"
        "Use plain HTML.\n"
        "No JavaScript.\n"
        "\n"
        "---\n"
        "Work in the current directory: it is a git worktree of the project, on the branch "
        "milestone/M007. Do only this unit's part of the milestone. Do not commit: sf-actors "
        "commits your changes when you finish.\n"
        "When you finish, this command must succeed in the worktree: make test\n");
}

TEST_CASE("the prompt leaves out what is empty; a unit's verify wins over the milestone's",
          "[config]") {
  auto m = example();
  m.title.clear();
  m.body = " \n\t\n";
  auto& s = m.slices[0];
  s.title.clear();
  auto& u = s.units[0];
  u.title.clear();
  u.prompt.clear();
  u.verify = "./check.sh";
  const std::string closing =
      "---\n"
      "Work in the current directory: it is a git worktree of the project, on the branch "
      "milestone/M007. Do only this unit's part of the milestone. Do not commit: sf-actors "
      "commits your changes when you finish.\n";
  CHECK(sf::build_prompt(m, s, u) ==
        "# M007\n\n## Slice S02\n\n## Unit U03\n\n" + closing +
            "When you finish, this command must succeed in the worktree: ./check.sh\n");
  // A shell unit has no verify, whatever the milestone says.
  u.agent.clear();
  u.run = "make";
  u.verify.clear();
  CHECK(sf::build_prompt(m, s, u) == "# M007\n\n## Slice S02\n\n## Unit U03\n\n" + closing);
  // The same input gives the same text.
  CHECK(sf::build_prompt(m, s, u) == sf::build_prompt(m, s, u));
}
