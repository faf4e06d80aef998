#pragma once
/// The coordinator's log level from `-v` and `-q`, and the same choice for a child process.

#include "cli/command.hpp"

#include <spdlog/common.h>

#include <string>
#include <vector>

namespace sf::cli {

/// info by default; -v debug, -vv trace; -q warn, -qq error (each -q undoes a -v).
spdlog::level::level_enum coordinator_log_level(const global_options& g);

/// The options that give a child `sf-actors` the same level: {"-v"}, {"-q", "-q"} or none.
std::vector<std::string> log_level_args(const global_options& g);

} // namespace sf::cli
