#pragma once
/// The control channel from the CLI to a running coordinator: request and response files in
/// `.sf/parallel/control/` (mode 0700, so only the project's owner can use it).

#include "messages/types.hpp"

#include <caf/expected.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace sf::io {

/// One request from another terminal.
struct control_request {
  std::string id;        ///< Random id; the response file carries it.
  std::string command;   ///< stop | pause | resume | merge.
  std::string milestone; ///< Empty = all.
  bool dry_run = false;  ///< For `merge`: predict only.
};

/// The coordinator's answer.
struct control_response {
  std::vector<std::string> lines;    ///< What it did, one line per milestone.
  int exit_code = 0;                 ///< For the CLI.
  std::vector<milestone_reply> milestones; ///< The lines about one milestone each, as data.
  std::optional<merge_report> merge; ///< A `merge` request's report, typed (the CLI renders it).
};

/// Creates `.sf/parallel/control` (0700), refusing symbolic links.
caf::error ensure_control_dir(const std::string& root);

/// Reads and removes the request file `name` (only `<id>.request.json` names);
/// `ec::not_found` for other names or when it is gone.
caf::expected<control_request> read_control_request(const std::string& root,
                                                    const std::string& name);

/// Writes the response for request `id` atomically.
caf::error write_control_response(const std::string& root, const std::string& id,
                                  const control_response& response);

/// Sends a request and waits (inotify, no polling) for the response until `timeout`.
caf::expected<control_response> send_control_request(const std::string& root,
                                                     const std::string& command,
                                                     const std::string& milestone,
                                                     std::chrono::milliseconds timeout,
                                                     bool dry_run = false);

} // namespace sf::io
