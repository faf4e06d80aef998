#pragma once
/// The command line as data, read from the CLI11 app: what the shell completions and the man
/// page are generated from, so they always list what the program accepts.

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace sf::cli {

/// One option or positional argument.
struct option_outline {
  std::vector<std::string> names; ///< "-f", "--follow"; empty for a positional.
  std::string value;              ///< Its value's name ("N", "MID"), empty for a flag.
  std::vector<std::string> choices; ///< The only values allowed (`--format`), if limited.
  std::string help;               ///< Its description.
  bool required = false;          ///< A positional that must be given.
  bool repeated = false;          ///< A positional that takes several values.
};

/// One visible verb.
struct verb_outline {
  std::string name;                       ///< "start".
  std::string help;                       ///< Its one-line description.
  std::vector<option_outline> options;    ///< Its own options (help included), not the global ones.
  std::vector<option_outline> positionals; ///< Its positional arguments, in order.
};

/// The whole program.
struct cli_outline {
  std::string name;                    ///< "sf-actors".
  std::string description;             ///< The program's description.
  std::vector<option_outline> global;  ///< Options accepted before or after any verb.
  std::vector<verb_outline> verbs;     ///< Visible verbs, in help order.
};

/// Everything `app` shows in its help: hidden verbs and options are left out.
cli_outline outline_of(const CLI::App& app);

} // namespace sf::cli
