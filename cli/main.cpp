// sf-actors: one static table of verbs, dispatched through CLI11.
#include "cli/command.hpp"

#include <iostream>

int main(int argc, char** argv) {
  using namespace sf::cli;
  CLI::App app{"sf-actors: run the milestones of one repository in parallel, each in its own git "
               "worktree, branch and worker process, and merge them back to main.",
               "sf-actors"};
  app.set_version_flag("--version", "sf-actors " SF_VERSION);
  app.require_subcommand(1);
  global_options g;
  app.add_option("-C", g.directory, "Act on the project at <dir> instead of the working directory")
    ->type_name("<dir>");
  std::function<int()> runner;
  for (const auto& cmd : commands()) {
    auto* sub = app.add_subcommand(cmd.name, cmd.help);
    if (cmd.hidden)
      sub->group("");
    auto run = cmd.setup(*sub, g);
    sub->callback([&runner, run] { runner = run; });
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 prints help/version to stdout with code 0, usage errors to stderr.
    int code = app.exit(e);
    return code == 0 ? exit_ok : exit_usage;
  }
  return runner ? runner() : exit_usage;
}
