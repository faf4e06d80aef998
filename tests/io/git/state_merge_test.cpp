// The `.sf/` files both main and a milestone branch changed merge without losing either side:
// MILESTONE.md key by key, metrics.json entry by entry, other text files keeping both sides'
// lines, binary ones reported as conflicts.
#include "config/plan.hpp"
#include "io/git/state_merge.hpp"
#include "messages/error.hpp"

#include <catch2/catch.hpp>

#include <string>

namespace {

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

const std::string base_md = R"(---
title: Auth system
status: pending
dependsOn: []
slices:
  - id: S01
    title: First slice
    units:
      - id: U01
        title: Login
        run: make login
        files: [src/login.c]
---
# Auth

Notes for the agent.
)";

} // namespace

TEST_CASE("MILESTONE.md: the user's title on main and the branch's status both survive",
          "[state-merge]") {
  auto ours = base_md;
  ours.replace(ours.find("title: Auth system"), 18, "title: Auth, renamed by the user");
  auto theirs = base_md;
  theirs.replace(theirs.find("status: pending"), 15, "status: complete");
  auto r = sf::io::merge_milestone_text(base_md, ours, theirs, ".sf/milestones/M001/MILESTONE.md");
  REQUIRE(r);
  REQUIRE(*r);
  CHECK(has(**r, "title: Auth, renamed by the user"));
  CHECK(has(**r, "status: complete"));
  // The plan still parses, with the merged values.
  auto m = sf::parse_milestone(**r, "M001", "merged");
  REQUIRE(m);
  CHECK(m->title == "Auth, renamed by the user");
  CHECK(m->status == sf::milestone_status::complete);
}

TEST_CASE("MILESTONE.md: on a key both changed, the branch wins progress and main the rest",
          "[state-merge]") {
  auto ours = base_md;
  ours.replace(ours.find("status: pending"), 15, "status: active");
  ours.replace(ours.find("title: Login"), 12, "title: Login (user)");
  auto theirs = base_md;
  theirs.replace(theirs.find("status: pending"), 15, "status: complete");
  theirs.replace(theirs.find("title: Login"), 12, "title: Login (branch)");
  // A unit the user added on main and one the branch added both stay, each once.
  ours.replace(ours.find("---\n# Auth"), 0,
               "      - id: U02\n        title: Logout\n        run: make logout\n");
  theirs.replace(theirs.find("---\n# Auth"), 0,
                 "      - id: U03\n        title: Reset\n        run: make reset\n");
  auto r = sf::io::merge_milestone_text(base_md, ours, theirs, "x.md");
  REQUIRE(r);
  REQUIRE(*r);
  auto m = sf::parse_milestone(**r, "M001", "merged");
  INFO(**r);
  REQUIRE(m);
  CHECK(m->status == sf::milestone_status::complete);
  REQUIRE(m->slices.size() == 1);
  const auto& units = m->slices[0].units;
  REQUIRE(units.size() == 3);
  CHECK(units[0].id == "U01");
  CHECK(units[0].title == "Login (user)");
  CHECK(units[1].id == "U02");
  CHECK(units[2].id == "U03");
}

TEST_CASE("MILESTONE.md: a dependency the user removed on main stays removed", "[state-merge]") {
  auto base = base_md;
  base.replace(base.find("dependsOn: []"), 13, "dependsOn: [M000, M009]");
  auto ours = base;
  ours.replace(ours.find("dependsOn: [M000, M009]"), 23, "dependsOn: [M000]");
  auto theirs = base;
  theirs.replace(theirs.find("dependsOn: [M000, M009]"), 23, "dependsOn: [M000, M009, M010]");
  theirs.replace(theirs.find("status: pending"), 15, "status: complete");
  auto r = sf::io::merge_milestone_text(base, ours, theirs, "x.md");
  REQUIRE(r);
  REQUIRE(*r);
  auto m = sf::parse_milestone(**r, "M001", "merged");
  REQUIRE(m);
  CHECK(m->depends_on == std::vector<std::string>{"M000"});
  CHECK(m->status == sf::milestone_status::complete);
}

TEST_CASE("MILESTONE.md: the body keeps lines both sides added", "[state-merge]") {
  auto ours = base_md + "A note of the user's.\n";
  auto theirs = base_md + "A note of the agent's.\n";
  theirs.replace(theirs.find("status: pending"), 15, "status: complete");
  auto r = sf::io::merge_milestone_text(base_md, ours, theirs, "x.md");
  REQUIRE(r);
  REQUIRE(*r);
  CHECK(has(**r, "A note of the user's."));
  CHECK(has(**r, "A note of the agent's."));
  CHECK(has(**r, "status: complete"));
}

TEST_CASE("other .sf/ files keep both sides' lines and binary ones are conflicts", "[state-merge]") {
  std::string base = "notes\n";
  auto r = sf::io::merge_lines_keeping_both(base, base + "M001 was here\n", base + "M002 too\n",
                                            ".sf/notes.md");
  REQUIRE(r);
  REQUIRE(*r);
  CHECK(**r == "notes\nM001 was here\nM002 too\n");
  // A line both changed differently: both versions stay, the branch's last.
  auto both = sf::io::merge_lines_keeping_both("current: none\n", "current: M001\n",
                                               "current: M002\n", ".sf/STATE.md");
  REQUIRE(both);
  REQUIRE(*both);
  CHECK(**both == "current: M001\ncurrent: M002\n");
  // Nothing to keep apart: one side's version.
  auto one = sf::io::merge_lines_keeping_both(base, base, "x\n", "f");
  REQUIRE(one);
  REQUIRE(*one);
  CHECK(**one == "x\n");
  auto bin = sf::io::merge_lines_keeping_both(std::string("a\0b", 3), std::string("a\0c", 3),
                                              std::string("a\0d", 3), ".sf/blob");
  REQUIRE(bin);
  CHECK_FALSE(*bin);
}

TEST_CASE("is_milestone_file names exactly the plan files", "[state-merge]") {
  CHECK(sf::io::is_milestone_file(".sf/milestones/M001/MILESTONE.md"));
  CHECK_FALSE(sf::io::is_milestone_file(".sf/milestones/M001/NOTES.md"));
  CHECK_FALSE(sf::io::is_milestone_file(".sf/milestones/../MILESTONE.md"));
  CHECK_FALSE(sf::io::is_milestone_file("src/.sf/milestones/M001/MILESTONE.md"));
}
