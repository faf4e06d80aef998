#pragma once
/// Error codes of sf-actors, registered with CAF so they cross actor boundaries.

#include <caf/make_message.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <cstdint>
#include <string>

namespace sf {

/// Every failure category; the CLI maps some of them to documented exit codes.
enum class ec : uint8_t {
  none = 0,          ///< Not an error.
  invalid_input,     ///< A user file (plan, preferences, status) is malformed.
  not_enabled,       ///< `parallel.enabled` is false.
  nothing_eligible,  ///< No milestone can start.
  merge_conflict,    ///< A merge stopped on a code conflict.
  budget_reached,    ///< The budget ceiling is reached.
  io_error,          ///< A filesystem call failed.
  unsafe_path,       ///< A path is a symbolic link or escapes its folder.
  git_error,         ///< libgit2 reported a failure.
  process_error,     ///< Spawning or signalling a process failed.
  not_found,         ///< A named thing (milestone, file) does not exist.
  already_running,   ///< Another coordinator or worker holds the lock.
  unavailable,       ///< The command is not available yet.
  usage,             ///< The command line is wrong.
  locked,            ///< A lock file of git's (index.lock, a ref's .lock) is held by another process.
};

/// Short name of an error code, for logs.
const char* to_string(ec code);

/// Builds an error whose context is one human-readable line (what, where, fix).
caf::error make_error(ec code, std::string text);

/// The human-readable line of an error made by `make_error`, or CAF's rendering.
std::string describe(const caf::error& err);

/// The sf code of an error, or `ec::none` if it is not one of ours.
ec code_of(const caf::error& err);

} // namespace sf

CAF_ERROR_CODE_ENUM(sf::ec, "sf")
