#pragma once
/// What the bash and zsh completion scripts share: option names, verb names, and how each
/// kind of argument is completed.

#include "cli/cli_outline.hpp"

#include <string>
#include <vector>

namespace sf::cli::completion {

/// Every option name of `options`, joined by `sep`.
std::string names_of(const std::vector<option_outline>& options, const char* sep);

/// `words` joined by `sep`.
std::string joined(const std::vector<std::string>& words, const char* sep);

/// The global options that mean something after a verb: not the program's help and version.
std::vector<option_outline> after_verb(const std::vector<option_outline>& global);

/// The visible verbs' names, in help order.
std::vector<std::string> verb_names(const cli_outline& cli);

/// True for an option whose value is a path (CLI11 names strings TEXT unless told otherwise).
bool takes_file(const option_outline& o);

/// How a verb's positional arguments are completed, by the name of their value.
enum class word_kind { milestone, verb, file };

/// The kind of the first positional (`file` when there is none).
word_kind kind_of(const std::vector<option_outline>& positionals);

} // namespace sf::cli::completion
