#pragma once
/// Shell completion scripts for bash and zsh, written from the command line's outline.

#include "cli/cli_outline.hpp"

#include <string>

namespace sf::cli {

/// A bash script defining `_sf_actors` and `complete -F _sf_actors sf-actors`: verbs, each
/// verb's options, milestone ids (from `.sf/milestones/` of the project) where a verb takes
/// them, `-C` folders and the values of options with a fixed set.
std::string bash_completion(const cli_outline& cli);

/// A zsh completion function file (`_sf-actors`, for a folder of `$fpath`) completing the same.
std::string zsh_completion(const cli_outline& cli);

} // namespace sf::cli
