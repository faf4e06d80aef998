#pragma once
/// The verbs `sf-actors --help` lists, read from its output as a user sees it.

#include <set>
#include <string>

namespace sf::test {

/// Subcommand names of the top-level help's "Subcommands:" section.
std::set<std::string> help_verbs();

} // namespace sf::test
