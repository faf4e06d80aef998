// sf-actors: one static table of verbs, dispatched through CLI11.
#include "cli/command.hpp"
#include "cli/verb_suggestion.hpp"

#include <algorithm>
#include <iostream>

int main(int argc, char** argv) {
  using namespace sf::cli;
  CLI::App app{"sf-actors: run the milestones of one repository in parallel, each in its own git "
               "worktree, branch and worker process, and merge them back to main.",
               "sf-actors"};
  app.set_version_flag("--version", version_text);
  app.require_subcommand(1);
  // Set before the verbs are added, which inherit it: `-C`, `-v` and `-q` work after the verb
  // too (`sf-actors status -C dir`).
  app.fallthrough();
  global_options g;
  add_global_options(app, g);
  std::function<int()> runner;
  for (const auto& cmd : commands()) {
    auto* sub = app.add_subcommand(cmd.name, cmd.help);
    if (cmd.hidden)
      sub->group("");
    auto run = cmd.setup(*sub, g);
    sub->callback([&runner, run] { runner = run; });
  }
  // CLI11 would only say that a subcommand is required: name the word and the likely verb.
  auto typed = typed_verb(argc, argv);
  const auto& names = all_verb_names();
  if (!typed.empty() && std::find(names.begin(), names.end(), typed) == names.end())
    return fail(unknown_verb_message(typed, visible_verb_names()), exit_usage);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 prints help/version to stdout with code 0, usage errors to stderr.
    int code = app.exit(e);
    return code == 0 ? exit_ok : exit_usage;
  }
  int code = exit_ok;
  if (!check_directory_option(g, code))
    return code;
  return runner ? runner() : exit_usage;
}
