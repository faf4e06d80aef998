// `sf-actors eligibility [--json] [MID...]`
#include "cli/command.hpp"
#include "cli/terminal_style.hpp"
#include "cli/eligibility_text.hpp"
#include "config/agent_units_check.hpp"
#include "config/prose_milestone.hpp"
#include "core/milestone_id.hpp"
#include "io/git/committed_plan.hpp"
#include "io/git/git.hpp"
#include "messages/error.hpp"

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
    // The plan a run would use: the one committed on the integration branch. Before the
    // repository has a commit there is nothing else to report on than the working copy.
    plan p;
    auto committed = io::read_committed_plan(root, prefs.integration_branch);
    if (committed) {
      // An edit not committed yet is still checked: its mistake is better found now.
      plan working;
      if (!committed->differences.empty() && !load_plan_or_report(root, working, code))
        return code;
      for (const auto& line : io::describe_differences(*committed))
        std::cerr << "sf-actors: warning: " << line << '\n';
      if (!committed->differences.empty())
        std::cerr << "sf-actors: warning: this report is on the plan committed on "
                  << committed->branch << "; commit the files above (git add .sf && git commit "
                  << "-m \"plan\") to include them\n";
      p = std::move(committed->milestones);
    } else if (code_of(committed.error()) == ec::invalid_input && !io::open_repo(root)) {
      std::cerr << "sf-actors: warning: " << root << " is not a git repository; this report is "
                << "on the working copy, and `start` needs a repository with the plan committed\n";
      if (!load_plan_or_report(root, p, code))
        return code;
    } else if (auto repo = io::open_repo(root);
               repo && git_repository_head_unborn(repo->get()) == 1) {
      std::cerr << "sf-actors: warning: the repository has no commit yet; this report is on the "
                << "working copy, and `start` runs only what is committed\n";
      if (!load_plan_or_report(root, p, code))
        return code;
    } else {
      return fail(committed.error());
    }
    // `start` refuses such a plan up front; the report must not call it fine.
    add_prose_units(p, prefs.agents);
    for (const auto& m : p.milestones)
      if (auto why = nothing_to_run(m); !why.empty())
        std::cerr << "sf-actors: warning: " << why << '\n';
    if (auto err = check_agent_units(p, prefs))
      return fail(err);
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
      std::cout << for_stdout(render_eligibility_markdown(report));
    return exit_ok;
  };
}

} // namespace sf::cli
