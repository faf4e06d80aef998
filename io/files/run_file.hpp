#pragma once
/// `.sf/parallel/run.json`: the coordinator's view of the run, for `status` from any terminal.

#include "messages/types.hpp"

#include <caf/expected.hpp>

#include <cstdint>
#include <string>

namespace sf::io {

/// A run file's content.
struct run_file {
  run_status status;           ///< Workers and budget as the coordinator saw them.
  int64_t coordinator_pid = 0; ///< Pid of the coordinator that wrote it.
  int64_t updated_at = 0;      ///< ms since the Unix epoch.
};

/// Path of the run file of `root`.
std::string run_file_path(const std::string& root);

/// Writes the run file atomically (rename, no fsync: it is a view, not a record).
caf::error write_run_file(const std::string& root, const run_status& status, int64_t pid);

/// Reads the run file; `ec::not_found` when there is none.
caf::expected<run_file> read_run_file(const std::string& root);

} // namespace sf::io
