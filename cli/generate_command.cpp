// `sf-actors generate-docs bash|zsh|man [-o FILE]` (hidden): the shell completions and the man
// page, written from the CLI11 app at build time, so they list exactly what the program takes.
#include "cli/cli_outline.hpp"
#include "cli/command.hpp"
#include "cli/man_page.hpp"
#include "cli/shell_completion.hpp"

#include <fstream>
#include <iostream>

namespace sf::cli {

namespace {

struct generate_options {
  std::string kind;
  std::string output;
};

} // namespace

std::function<int()> setup_generate(CLI::App& app, global_options&) {
  auto o = std::make_shared<generate_options>();
  app.add_option("kind", o->kind, "What to print")
    ->required()
    ->check(CLI::IsMember({"bash", "zsh", "man"}));
  app.add_option("-o,--output", o->output, "Write to this file instead of standard output")
    ->type_name("FILE");
  const CLI::App* top = app.get_parent();
  return [top, o]() -> int {
    auto outline = outline_of(*top);
    std::string text = o->kind == "bash"  ? bash_completion(outline)
                       : o->kind == "zsh" ? zsh_completion(outline)
                                          : man_page(outline, version_text);
    if (o->output.empty()) {
      std::cout << text;
      return exit_ok;
    }
    std::ofstream file(o->output, std::ios::binary | std::ios::trunc);
    if (!(file << text) || !file.flush())
      return fail("cannot write " + o->output + "; check that its folder exists and is writable",
                  exit_failure);
    return exit_ok;
  };
}

} // namespace sf::cli
