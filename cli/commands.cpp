// The static table of verbs: name, help line, and the factory that adds options.
#include "cli/command.hpp"

namespace sf::cli {

namespace {

// Kept for verbs that are listed before they are implemented.
[[maybe_unused]] command unavailable(const char* name, const char* help) {
  return {name, help, [name](CLI::App& app, global_options& g) {
            return setup_unavailable(app, g, name);
          }};
}

} // namespace

const std::vector<command>& commands() {
  static const std::vector<command> table = {
    {"start", "Check eligibility, confirm, and run workers for the eligible milestones",
     setup_start},
    {"status", "Show every worker's state, progress and cost, and the budget", setup_status},
    {"logs", "Print a milestone's worker log, or follow it with -f", setup_logs},
    {"budget", "Show what the budget period spent, or start a new period (`budget reset`)",
     setup_budget},
    {"stop", "Stop all workers, or the worker of one milestone", setup_stop},
    {"pause", "Pause all workers, or one (the current unit finishes first)", setup_pause},
    {"resume", "Resume paused workers, or one", setup_resume},
    {"merge", "Merge completed milestones back to main (all, or one)", setup_merge},
    {"doctor", "Find (and with --fix, clean up) what crashed workers and coordinators left",
     setup_doctor},
    {"eligibility", "Print which milestones can run now, and why the others cannot",
     setup_eligibility},
    {"graph", "Print the milestone dependency graph (mermaid or dot)", setup_graph},
    {"init", "Create .sf/PREFERENCES.md and an example milestone (never overwrites)", setup_init},
    {"worker", "Run one milestone's units (the built-in reference worker; started by the "
               "coordinator)",
     setup_worker},
    {"check-worker", "Check that a worker program speaks the file protocol, in a throwaway "
                     "project",
     setup_check_worker},
    {"chaos", "Run fault-injection scenarios and check the invariants after each",
     setup_chaos},
    {"help", "Print the help of sf-actors, or of one command", setup_help},
    {"version", "Print the version (as --version does)", setup_version},
    {"generate-docs", "Print the shell completion or the man page (run by the build)",
     setup_generate, true},
    {"chaos-worker", "The chaos harness's fault worker", setup_chaos_worker, true},
    {"merge-driver", "git's merge driver for the .sf/ state files (registered by start and init)",
     setup_merge_driver, true},
    {"chaos-bystander", "A process outside the run that records signals", setup_chaos_bystander,
     true},
  };
  return table;
}

namespace {

std::vector<std::string> names_of(bool with_hidden) {
  std::vector<std::string> out;
  for (const auto& cmd : commands())
    if (with_hidden || !cmd.hidden)
      out.emplace_back(cmd.name);
  return out;
}

} // namespace

const std::vector<std::string>& all_verb_names() {
  static const auto names = names_of(true);
  return names;
}

const std::vector<std::string>& visible_verb_names() {
  static const auto names = names_of(false);
  return names;
}

void add_global_options(CLI::App& app, global_options& g) {
  app.add_option("-C", g.directory, "Act on the project at <dir> instead of the working directory")
    ->type_name("<dir>");
  app.add_flag("-v,--verbose", g.verbose,
               "A more detailed coordinator log: -v adds debug lines, -vv trace lines");
  app.add_flag("-q,--quiet", g.quiet,
               "A sparser coordinator log: -q only warnings and errors, -qq only errors");
}

} // namespace sf::cli
