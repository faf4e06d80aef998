// A milestone written as prose only becomes one agent unit of the default profile, and only
// then; a milestone nothing will work on is named with the fix.
#include "config/agent_units_check.hpp"
#include "config/prose_milestone.hpp"
#include "messages/error.hpp"

#include <catch2/catch.hpp>

#include <string>

namespace {

sf::milestone parse(const std::string& front, const std::string& body) {
  auto m = sf::parse_milestone("---\n" + front + "---\n" + body, "M007", "/r/M007.md");
  REQUIRE(m);
  return *m;
}

sf::agent_settings agents_with(const std::string& yaml) {
  sf::preferences p;
  REQUIRE_FALSE(sf::apply_preferences(p, "---\nagents:\n" + yaml + "---\n", "/r/P.md"));
  return p.agents;
}

const std::string one_profile = "  profiles:\n    claude: {adapter: claude}\n";

} // namespace

TEST_CASE("a prose-only milestone is one agent unit of the default profile", "[config][plan]") {
  auto m = parse("title: Parser fixes\n", "\nFix the counter in src/parse.cc.\n");
  CHECK(sf::is_prose_only(m));
  REQUIRE(sf::add_prose_unit(m, agents_with(one_profile)));
  CHECK(m.prose_unit);
  REQUIRE(m.slices.size() == 1);
  CHECK(m.slices[0].id == "S01");
  CHECK(m.slices[0].title == "Parser fixes");
  REQUIRE(m.slices[0].units.size() == 1);
  const auto& u = m.slices[0].units[0];
  CHECK(u.id == "U01");
  CHECK(u.title == "Parser fixes");
  CHECK(u.agent == "default");
  CHECK(u.is_agent());
  CHECK(u.run.empty());
  CHECK(sf::nothing_to_run(m).empty());
  // Done once: the milestone has a unit now.
  CHECK_FALSE(sf::add_prose_unit(m, agents_with(one_profile)));
  CHECK(m.unit_count() == 1);
  // An empty `slices: []` holds nothing either.
  auto empty = parse("title: Changelog\nslices: []\n", "Write the changelog.\n");
  REQUIRE(sf::add_prose_unit(empty, agents_with(one_profile)));
  CHECK(empty.slices.at(0).units.at(0).title == "Changelog");
  // A milestone an embedding host built without a title is named by its id.
  sf::milestone built;
  built.id = "M009";
  built.body = "Tidy the docs.";
  REQUIRE(sf::add_prose_unit(built, agents_with(one_profile)));
  CHECK(built.slices.at(0).title == "M009");
}

TEST_CASE("a prose-only milestone gets no unit without a default profile, and says so",
          "[config][plan]") {
  auto m = parse("title: Parser fixes\n", "Fix the counter.\n");
  CHECK_FALSE(sf::add_prose_unit(m, sf::agent_settings{}));
  // Several profiles and no agents.default: there is no default to give it.
  CHECK_FALSE(sf::add_prose_unit(
      m, agents_with("  profiles:\n    claude: {adapter: claude}\n    codex: {adapter: codex}\n")));
  CHECK(m.unit_count() == 0);
  CHECK_FALSE(m.prose_unit);
  CHECK(sf::nothing_to_run(m) ==
        "M007 has no units and no agent profile to work on its text, so the reference worker "
        "does nothing and its dependents will wait; add units to /r/M007.md, or an agent "
        "profile (agents.default) to .sf/PREFERENCES.md (docs/agents.md)");
  // A named default among several is one.
  CHECK(sf::add_prose_unit(m, agents_with("  default: codex\n  profiles:\n    claude: {adapter: "
                                          "claude}\n    codex: {adapter: codex}\n")));
}

TEST_CASE("units, a blank body or a complete status keep a milestone as written",
          "[config][plan]") {
  auto with_units = parse("title: T\nslices:\n  - id: S01\n    units:\n      - id: U01\n"
                          "        run: make\n",
                          "Prose too.\n");
  CHECK_FALSE(sf::is_prose_only(with_units));
  CHECK_FALSE(sf::add_prose_unit(with_units, agents_with(one_profile)));
  CHECK(with_units.slices.at(0).units.at(0).run == "make");
  CHECK(sf::nothing_to_run(with_units).empty());

  auto blank = parse("title: T\n", " \n\t\n");
  CHECK_FALSE(sf::is_prose_only(blank));
  CHECK_FALSE(sf::add_prose_unit(blank, agents_with(one_profile)));
  // Neither units nor text: a milestone that gathers its dependencies, nothing to warn about.
  CHECK(sf::nothing_to_run(blank).empty());

  auto done = parse("title: T\nstatus: complete\n", "");
  CHECK(sf::nothing_to_run(done).empty());
}

TEST_CASE("check_agent_units names a prose-only milestone's profile problem as such",
          "[config][plan]") {
  sf::plan p;
  p.milestones.push_back(parse("title: T\n", "Do it.\n"));
  sf::preferences prefs;
  REQUIRE_FALSE(
      sf::apply_preferences(prefs, "---\nagents:\n  profiles:\n    mine: {}\n---\n", "/r/P.md"));
  sf::add_prose_units(p, prefs.agents);
  CHECK(sf::describe(sf::check_agent_units(p, prefs)) ==
        "/r/M007.md: milestone M007 has no units, so its text is work for the default agent "
        "profile: profile \"mine\" uses the generic adapter, which needs a command; add "
        "agents.profiles.mine.command (e.g. [my-agent]) or set its adapter");
}
