// `sf-actors help [VERB]` and `sf-actors version`: git's spellings of --help and --version.
#include "cli/command.hpp"
#include "cli/verb_suggestion.hpp"

#include <algorithm>
#include <iostream>

namespace sf::cli {

std::function<int()> setup_help(CLI::App& app, global_options&) {
  auto verb = std::make_shared<std::string>();
  app.add_option("verb", *verb, "The command to describe (default: every command)")
    ->type_name("VERB");
  const CLI::App* top = app.get_parent();
  return [top, verb]() -> int {
    if (verb->empty()) {
      // Not top->help(), which would describe the verb parsed last: `help` itself.
      std::cout << top->get_formatter()->make_help(top, top->get_name(),
                                                   CLI::AppFormatMode::Normal);
      return exit_ok;
    }
    const auto& names = visible_verb_names();
    if (std::find(names.begin(), names.end(), *verb) == names.end())
      return fail(unknown_verb_message(*verb, names), exit_usage);
    // The same text as `sf-actors <verb> --help`, which CLI11 heads with the program's name.
    std::cout << top->get_subcommand(*verb)->help(top->get_name());
    return exit_ok;
  };
}

std::function<int()> setup_version(CLI::App&, global_options&) {
  return [] {
    std::cout << version_text << '\n';
    return static_cast<int>(exit_ok);
  };
}

} // namespace sf::cli
