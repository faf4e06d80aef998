#pragma once
/// Printing a worker log of `.sf/parallel` and following it as it grows and rotates, woken by
/// inotify (never by a timer) until SIGINT or SIGTERM.

#include "io/files/parallel_dir.hpp"

#include <caf/error.hpp>

#include <string>

namespace sf::cli {

/// Copies `dir/name` to standard output. An absent file is `ec::not_found`; a link, FIFO,
/// folder or device is refused with the runtime files' one-line error.
caf::error print_log(const io::parallel_dir& dir, const std::string& name);

/// Copies `dir/name` to standard output, then whatever is appended to it, following the name
/// to a new file when the log rotates (and waiting for the file when it does not exist yet),
/// until SIGINT or SIGTERM arrives; those end it without an error.
caf::error follow_log(const io::parallel_dir& dir, const std::string& name);

} // namespace sf::cli
