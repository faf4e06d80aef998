#pragma once
/// The sf-actors(1) manual page in roff, written from the command line's outline.

#include "cli/cli_outline.hpp"

#include <string>

namespace sf::cli {

/// A man page (`man -l` renders it): synopsis, global options, every visible verb with its
/// options, the coordinator's log levels and the exit codes.
std::string man_page(const cli_outline& cli, const std::string& version);

} // namespace sf::cli
