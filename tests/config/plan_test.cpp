#include "config/escape.hpp"
#include "config/plan.hpp"
#include "core/milestone_id.hpp"
#include "messages/error.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <string>

using sf::test::temp_dir;
using sf::test::write_file;

namespace {

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

/// Writes `.sf/milestones/<id>/MILESTONE.md` with `front` as its front matter.
void add_milestone(const temp_dir& root, const std::string& id, const std::string& front,
                   const std::string& body = "Notes.\n") {
  write_file(root / (".sf/milestones/" + id + "/MILESTONE.md"), "---\n" + front + "---\n" + body);
}

/// A milestone with one slice and one unit per file in `files`.
std::string simple(const std::string& title, const std::string& status, const std::string& deps,
                   const std::vector<std::string>& files = {}) {
  std::string out = "title: " + title + "\nstatus: " + status + "\ndependsOn: " + deps +
                    "\nslices:\n  - id: S01\n    title: Only slice\n    units:\n";
  int n = 0;
  for (const auto& f : files)
    out += "      - id: U0" + std::to_string(++n) + "\n        title: Touch " + f +
           "\n        run: touch " + f + "\n        files: [" + f + "]\n";
  return out;
}

std::string load_error(const temp_dir& root, const sf::input_limits& limits = {}) {
  auto p = sf::load_plan(root.path(), limits);
  if (p)
    return {};
  return sf::describe(p.error());
}

sf::milestone bare(const std::string& id, std::vector<std::string> deps = {}) {
  sf::milestone m;
  m.id = id;
  m.title = id;
  m.depends_on = std::move(deps);
  m.path = "/r/.sf/milestones/" + id + "/MILESTONE.md";
  return m;
}

} // namespace

TEST_CASE("status names round-trip", "[config][plan]") {
  for (auto s : {sf::milestone_status::pending, sf::milestone_status::active,
                 sf::milestone_status::complete, sf::milestone_status::parked})
    CHECK(sf::parse_milestone_status(sf::to_string(s)) == s);
  CHECK_FALSE(sf::parse_milestone_status("done"));
  CHECK_FALSE(sf::parse_milestone_status("Pending"));
}

TEST_CASE("escape_text keeps messages on one printable line", "[config][plan]") {
  CHECK(sf::escape_text("a\nb") == "a\\nb");
  CHECK(sf::escape_text(std::string("a\x01", 2)) == "a\\x01");
  CHECK(sf::escape_text(std::string(300, 'x')) == std::string(80, 'x') + "...");
}

TEST_CASE("parse_milestone reads every field", "[config][plan]") {
  auto text = R"(---
id: M002
title: Auth System
status: active
dependsOn: [M001]
slices:
  - id: S01
    title: Tokens
    units:
      - id: U01
        title: Token type
        run: |
          echo one
          echo two
        files: [src/types.ts, src/auth.ts]
        cost: 0.25
      - id: U02
        title: Middleware
        run: echo mw
        files:
          - src/middleware.ts
          - src/types.ts
  - id: S02
    title: Empty slice
---
# Auth

Free text for the agent.
)";
  auto m = sf::parse_milestone(text, "M002", "/r/M002.md");
  REQUIRE(m);
  CHECK(m->id == "M002");
  CHECK(m->title == "Auth System");
  CHECK(m->status == sf::milestone_status::active);
  CHECK(m->depends_on == std::vector<std::string>{"M001"});
  REQUIRE(m->slices.size() == 2);
  CHECK(m->slices[0].title == "Tokens");
  REQUIRE(m->slices[0].units.size() == 2);
  const auto& u = m->slices[0].units[0];
  CHECK(u.id == "U01");
  CHECK(u.run == "echo one\necho two\n");
  REQUIRE(u.cost);
  CHECK(*u.cost == 0.25);
  CHECK_FALSE(m->slices[0].units[1].cost);
  CHECK(m->slices[1].units.empty());
  CHECK(m->unit_count() == 2);
  CHECK(m->files() == std::vector<std::string>{"src/auth.ts", "src/middleware.ts", "src/types.ts"});
  CHECK(m->body == "# Auth\n\nFree text for the agent.\n");
  CHECK(m->path == "/r/M002.md");
}

TEST_CASE("parse_milestone defaults and field errors", "[config][plan]") {
  auto minimal = sf::parse_milestone("---\ntitle: T\n---\n", "M1", "p");
  REQUIRE(minimal);
  CHECK(minimal->status == sf::milestone_status::pending);
  CHECK(minimal->depends_on.empty());
  CHECK(minimal->slices.empty());
  CHECK(minimal->body.empty());

  auto err = [](const std::string& front, const std::string& id = "M001") {
    auto m = sf::parse_milestone("---\n" + front + "---\n", id, "/r/M.md");
    return m ? std::string{} : sf::describe(m.error());
  };
  CHECK(contains(err("status: pending\n"), "has no title"));
  CHECK(contains(err("title: \"\"\n"), "title is empty"));
  CHECK(contains(err("title: [a]\n"), "title is a list"));
  auto status = err("title: T\nstatus: done\n");
  CHECK(contains(status, "/r/M.md:3: milestone M001: status done is not allowed"));
  CHECK(contains(status, "\"pending\", \"active\", \"complete\", \"parked\""));
  CHECK(contains(err("title: T\nid: M002\n"), "id \"M002\" differs from its folder name"));
  CHECK(err("title: T\nid: M001\n").empty());
  CHECK(contains(err("title: T\ndependsOn: M002\n"), "dependsOn is M002; it must be a list"));
  CHECK(contains(err("title: T\nslices: {a: 1}\n"), "slices is a map"));
  CHECK(contains(err("title: T\nslices: [x]\n"), "a slice is x"));
  CHECK(contains(err("title: T\nslices:\n  - title: no id\n"), "a slice has no id"));
  CHECK(contains(err("title: T\nslices:\n  - id: S1\n    units: [{id: U1, run: a, cost: -1}]\n"),
                 "cost -1 is not allowed"));
  CHECK(contains(err("title: T\nslices:\n  - id: S1\n    units: [{id: U1, run: a, cost: \"1\"}]\n"),
                 "cost \"1\" is not allowed"));
  CHECK(contains(err("title: T\nslices:\n  - id: S1\n    units: [{id: U1, run: a, cost: 1.7e308}]\n"),
                 "cost 1.7e308 is not allowed; allowed: a number of USD from 0 to 1000000"));
  CHECK(err("title: T\nslices:\n  - id: S1\n    units: [{id: U1, run: a, cost: 1000000}]\n")
          .empty());
  CHECK(contains(err("title: T\ntitle: U\n"), "key \"title\" appears twice"));
  CHECK(contains(err("title: T\n", "../x"), "\"../x\" is not a valid milestone id"));
  CHECK(contains(err("- a\n"), "must be a map"));
  CHECK(contains(err(""), "front matter is empty"));
}

TEST_CASE("a unit without run names milestone, slice and unit", "[config][plan]") {
  for (auto run : {"", "    run: \"\"\n", "    run:\n", "    run: \"  \"\n"}) {
    auto m = sf::parse_milestone(std::string("---\ntitle: T\nslices:\n- id: S07\n  units:\n  - id: "
                                             "U03\n") +
                                     run + "---\n",
                                 "M005", "/r/M.md");
    REQUIRE_FALSE(m);
    auto msg = sf::describe(m.error());
    CAPTURE(msg);
    CHECK(contains(msg, "milestone M005"));
    CHECK(contains(msg, "slice S07"));
    CHECK(contains(msg, "unit U03"));
    CHECK((contains(msg, "has neither run: nor agent:") || contains(msg, ".run is empty")));
  }
}

TEST_CASE("duplicate slice and unit ids are refused", "[config][plan]") {
  auto slices = sf::parse_milestone("---\ntitle: T\nslices:\n- id: S1\n- id: S1\n---\n", "M1", "p");
  REQUIRE_FALSE(slices);
  CHECK(contains(sf::describe(slices.error()), "slice id \"S1\" is used twice"));
  auto units = sf::parse_milestone("---\ntitle: T\nslices:\n- id: S1\n  units: [{id: U1, run: a}]\n"
                                   "- id: S2\n  units: [{id: U1, run: b}]\n---\n",
                                   "M1", "p");
  REQUIRE_FALSE(units);
  CHECK(contains(sf::describe(units.error()), "unit id \"U1\" is used twice"));
}

TEST_CASE("hostile ids in dependsOn are refused and shown escaped", "[config][plan]") {
  for (std::string dep : {std::string("\"../x\""), std::string("\"-rf\""), std::string("\"M\\nX\""),
                          std::string(300, 'M')}) {
    auto m =
        sf::parse_milestone("---\ntitle: T\ndependsOn:\n  - " + dep + "\n---\n", "M001", "/r/M.md");
    REQUIRE_FALSE(m);
    auto msg = sf::describe(m.error());
    CAPTURE(msg);
    CHECK(contains(msg, "/r/M.md:4: milestone M001: dependsOn entry"));
    CHECK(contains(msg, "is not a valid milestone id"));
    CHECK(msg.find('\n') == std::string::npos);
    CHECK(msg.size() < 400);
  }
}

TEST_CASE("the specification's example plan loads", "[config][plan]") {
  temp_dir root;
  add_milestone(root, "M001", simple("Core Types", "complete", "[]", {"src/types.ts"}));
  add_milestone(root, "M002",
                simple("Auth System", "pending", "[M001]",
                       {"src/types.ts", "src/middleware.ts", "src/auth.ts"}));
  add_milestone(root, "M003",
                simple("Dashboard UI", "pending", "[M001]",
                       {"src/middleware.ts", "src/dashboard.tsx", "src/types.ts"}));
  add_milestone(root, "M004", simple("API Integration", "pending", "[M002]", {"src/api.ts"}));
  write_file(root / ".sf/milestones/README.md", "not a milestone\n");
  auto p = sf::load_plan(root.path());
  REQUIRE(p);
  REQUIRE(p->milestones.size() == 4);
  CHECK(p->milestones[0].id == "M001");
  CHECK(p->milestones[3].id == "M004");
  CHECK(p->milestones[0].status == sf::milestone_status::complete);
  CHECK(p->milestones[0].title == "Core Types");
  CHECK(p->milestones[1].title == "Auth System");
  const auto* m4 = p->find("M004");
  REQUIRE(m4);
  CHECK(m4->title == "API Integration");
  CHECK(m4->depends_on == std::vector<std::string>{"M002"});
  CHECK(m4->path == root / ".sf/milestones/M004/MILESTONE.md");
  CHECK(m4->body == "Notes.\n");
  CHECK(p->find("M005") == nullptr);
  CHECK(p->find("m004") == nullptr);
  auto a = p->find("M002")->files();
  auto b = p->find("M003")->files();
  std::vector<std::string> shared;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(shared));
  CHECK(shared == std::vector<std::string>{"src/middleware.ts", "src/types.ts"});
  CHECK(p->find("M002")->unit_count() == 3);
}

TEST_CASE("no milestones folder is an empty plan", "[config][plan]") {
  temp_dir root;
  auto p = sf::load_plan(root.path());
  REQUIRE(p);
  CHECK(p->milestones.empty());
}

TEST_CASE("unknown dependency names both milestones", "[config][plan]") {
  temp_dir root;
  add_milestone(root, "M004", simple("API", "pending", "[M009]"));
  auto msg = load_error(root);
  CHECK(contains(msg, "M004 depends on M009, which is not in the plan"));
}

TEST_CASE("cycles are printed from the smallest id", "[config][plan]") {
  temp_dir root;
  add_milestone(root, "M001", simple("A", "pending", "[]"));
  add_milestone(root, "M002", simple("B", "pending", "[M004]"));
  add_milestone(root, "M004", simple("D", "pending", "[M002]"));
  CHECK(contains(load_error(root), "dependency cycle: M002 -> M004 -> M002;"));

  sf::plan three;
  three.milestones = {bare("A1", {"C3"}), bare("B2", {"A1"}), bare("C3", {"B2"})};
  CHECK(contains(sf::describe(sf::validate_plan(three)), "A1 -> C3 -> B2 -> A1;"));
  sf::plan rotated;
  rotated.milestones = {bare("A0"), bare("M5", {"M7"}), bare("M6", {"M5"}), bare("M7", {"M6"}),
                        bare("X", {"M6"})};
  CHECK(contains(sf::describe(sf::validate_plan(rotated)), "M5 -> M7 -> M6 -> M5;"));
  sf::plan self;
  self.milestones = {bare("M1", {"M1"})};
  CHECK(contains(sf::describe(sf::validate_plan(self)), "M1 -> M1;"));
  sf::plan ok;
  ok.milestones = {bare("M1"), bare("M2", {"M1"}), bare("M3", {"M1", "M2"})};
  CHECK_FALSE(sf::validate_plan(ok));
}

TEST_CASE("ten thousand chained milestones validate", "[config][plan]") {
  sf::plan p;
  char buf[16];
  for (int i = 0; i < 10000; ++i) {
    std::snprintf(buf, sizeof buf, "M%05d", i);
    std::vector<std::string> deps;
    if (i > 0) {
      char prev[16];
      std::snprintf(prev, sizeof prev, "M%05d", i - 1);
      deps.push_back(prev);
    }
    p.milestones.push_back(bare(buf, std::move(deps)));
  }
  CHECK_FALSE(sf::validate_plan(p));
  // Closing the chain makes one 10,000-long cycle: found without deep recursion.
  p.milestones.front().depends_on.push_back("M09999");
  auto msg = sf::describe(sf::validate_plan(p));
  CHECK(contains(msg, "dependency cycle: M00000 -> M09999 -> M09998"));
}

TEST_CASE("ids that differ only by case are duplicates", "[config][plan]") {
  temp_dir root;
  add_milestone(root, "M001", simple("A", "pending", "[]"));
  add_milestone(root, "m001", simple("B", "pending", "[]"));
  auto msg = load_error(root);
  CHECK(contains(msg, "\"M001\" and \"m001\""));
  sf::plan p;
  p.milestones = {bare("M001"), bare("m001")};
  CHECK(contains(sf::describe(sf::validate_plan(p)), "M001 and m001"));
}

TEST_CASE("unknown status in a plan file", "[config][plan]") {
  temp_dir root;
  add_milestone(root, "M001", "title: A\nstatus: finished\n");
  auto msg = load_error(root);
  CHECK(contains(msg, root / ".sf/milestones/M001/MILESTONE.md:3:"));
  CHECK(contains(msg, "status finished is not allowed"));
}

TEST_CASE("hostile folder names are refused, escaped, never followed", "[config][plan]") {
  SECTION("-rf") {
    temp_dir root;
    add_milestone(root, "-rf", "title: x\n");
    auto msg = load_error(root);
    CHECK(contains(msg, "folder \"-rf\" is not a valid milestone id"));
  }
  SECTION("a 255-character name is cut in the message") {
    temp_dir root;
    std::string name(255, 'n');
    name[0] = '_';
    REQUIRE(::mkdir((root / ".sf").c_str(), 0755) == 0);
    REQUIRE(::mkdir((root / ".sf/milestones").c_str(), 0755) == 0);
    REQUIRE(::mkdir((root / (".sf/milestones/" + name)).c_str(), 0755) == 0);
    auto msg = load_error(root);
    CHECK(contains(msg, "folder \"_" + std::string(79, 'n') + "...\""));
    CHECK_FALSE(contains(msg, std::string(100, 'n')));
  }
  SECTION("an embedded newline") {
    temp_dir root;
    add_milestone(root, "bad\nname", "title: x\n");
    auto msg = load_error(root);
    CHECK(contains(msg, "folder \"bad\\nname\""));
    CHECK(msg.find('\n') == std::string::npos);
  }
  SECTION("a symlinked milestone folder") {
    temp_dir root;
    temp_dir elsewhere;
    write_file(elsewhere / "MILESTONE.md", "---\ntitle: x\n---\n");
    write_file(root / ".sf/milestones/README.md", "x");
    REQUIRE(::symlink(elsewhere.path().c_str(), (root / ".sf/milestones/M001").c_str()) == 0);
    auto p = sf::load_plan(root.path());
    REQUIRE_FALSE(p);
    CHECK(sf::code_of(p.error()) == sf::ec::unsafe_path);
  }
}

TEST_CASE("a symlinked MILESTONE.md is refused", "[config][plan]") {
  temp_dir root;
  write_file(root / "real.md", "---\ntitle: x\n---\n");
  write_file(root / ".sf/milestones/M001/notes.txt", "");
  REQUIRE(::symlink((root / "real.md").c_str(),
                    (root / ".sf/milestones/M001/MILESTONE.md").c_str()) == 0);
  auto p = sf::load_plan(root.path());
  REQUIRE_FALSE(p);
  CHECK(sf::code_of(p.error()) == sf::ec::unsafe_path);
  CHECK(contains(sf::describe(p.error()), "M001/MILESTONE.md: is a symbolic link"));
}

TEST_CASE("a folder without MILESTONE.md is an error", "[config][plan]") {
  temp_dir root;
  write_file(root / ".sf/milestones/M001/other.md", "x");
  CHECK(contains(load_error(root), "M001: has no MILESTONE.md"));
}

TEST_CASE("front matter errors in a plan file", "[config][plan]") {
  temp_dir root;
  write_file(root / ".sf/milestones/M001/MILESTONE.md", "");
  CHECK(contains(load_error(root), "MILESTONE.md: the file is empty"));
  write_file(root / ".sf/milestones/M001/MILESTONE.md", "# M001\ntitle: x\n");
  CHECK(contains(load_error(root), "MILESTONE.md:1: no front matter"));
  write_file(root / ".sf/milestones/M001/MILESTONE.md", "---\ntitle: x\n");
  CHECK(contains(load_error(root), "never closed"));
  write_file(root / ".sf/milestones/M001/MILESTONE.md", "---\ntitle: x\nslices: [\n---\n");
  CHECK(contains(load_error(root), "not valid YAML"));
}

TEST_CASE("input limits protect the plan loader", "[config][plan]") {
  SECTION("file over the size cap") {
    temp_dir root;
    sf::input_limits limits;
    limits.max_file_bytes = 1000;
    add_milestone(root, "M001", "title: x\n", std::string(2000, 'b'));
    auto msg = load_error(root, limits);
    CHECK(contains(msg, "MILESTONE.md: the file has 2017 bytes, more than the limit of 1000"));
    auto direct = sf::parse_milestone(std::string(2000, 'b'), "M001", "p", limits);
    REQUIRE_FALSE(direct);
  }
  SECTION("100000 nested brackets") {
    auto m = sf::parse_milestone("---\ntitle: x\nslices: " + std::string(100000, '[') + "\n---\n",
                                 "M001", "/r/M.md");
    REQUIRE_FALSE(m);
    CHECK(contains(sf::describe(m.error()), "/r/M.md:3: the YAML nests deeper than 32"));
  }
  SECTION("deep block nesting") {
    std::string yaml = "title: x\n";
    for (int i = 0; i < 40; ++i)
      yaml += std::string(static_cast<std::size_t>(i) * 2, ' ') + "k" + std::to_string(i) + ":\n";
    auto m = sf::parse_milestone("---\n" + yaml + "---\n", "M001", "/r/M.md");
    REQUIRE_FALSE(m);
    CHECK(contains(sf::describe(m.error()), "nests deeper than 32"));
  }
  SECTION("brackets inside quotes and block scalars do not count") {
    std::string many(200, '[');
    auto m = sf::parse_milestone("---\ntitle: \"" + many +
                                     "\"\nslices:\n- id: S\n  units:\n"
                                     "  - id: U\n    run: |\n      echo " +
                                     many + "\n    files: ['" + many + "']\n---\n",
                                 "M001", "/r/M.md");
    REQUIRE(m);
    CHECK(m->title == many);
    CHECK(m->slices[0].units[0].files[0] == many);
  }
  SECTION("an alias bomb") {
    std::string bomb = "title: x\na: &a [x, x, x, x, x, x, x, x, x, x]\n";
    for (char c = 'b'; c <= 'j'; ++c) {
      std::string prev(1, static_cast<char>(c - 1));
      bomb += std::string(1, c) + ": &" + std::string(1, c) + " [";
      for (int i = 0; i < 10; ++i)
        bomb += (i ? ", *" : "*") + prev;
      bomb += "]\n";
    }
    auto m = sf::parse_milestone("---\n" + bomb + "---\n", "M001", "/r/M.md");
    REQUIRE_FALSE(m);
    CHECK(contains(sf::describe(m.error()), "more than 100000 YAML nodes"));
  }
}
