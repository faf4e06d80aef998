// `sf-actors eligibility [--json] [MID...]`
#include "cli/command.hpp"
#include "cli/eligibility_text.hpp"
#include "core/milestone_id.hpp"

#include <iostream>

namespace sf::cli {

std::function<int()> setup_eligibility(CLI::App& app, global_options& g) {
  auto only = std::make_shared<std::vector<std::string>>();
  app.add_option("milestones", *only, "Only consider these milestone ids")->type_name("MID");
  app.add_flag("--json", g.json, "Print the report as JSON");
  return [&g, only]() -> int {
    int code = exit_ok;
    auto root = project_root(g);
    // The same preferences as `start` reads, with the same errors, warnings and exit code: a
    // report that `start` would refuse to act on must not look fine.
    preferences prefs;
    if (!load_preferences_or_report(root, prefs, code))
      return code;
    plan p;
    if (!load_plan_or_report(root, p, code))
      return code;
    for (const auto& id : *only)
      if (p.find(id) == nullptr)
        return fail("unknown milestone `" + id + "`: no .sf/milestones/" +
                      (core::valid_milestone_id(id) ? id : std::string("<invalid id>")) +
                      "/MILESTONE.md in " + root + "; run `sf-actors graph` to list milestones",
                    exit_failure);
    auto report = analyze_eligibility(p, *only);
    if (g.json)
      std::cout << eligibility_to_json(report).dump(2) << '\n';
    else
      std::cout << render_eligibility_markdown(report);
    return exit_ok;
  };
}

} // namespace sf::cli
