// `sf-actors worker`: the built-in reference worker (started by the coordinator).
#include "cli/command.hpp"
#include "messages/error.hpp"
#include "worker/reference_worker.hpp"

#include <iostream>

namespace sf::cli {

std::function<int()> setup_worker(CLI::App&, global_options&) {
  // Everything comes from the environment the coordinator sets; `-C` does not apply, since
  // the working directory must be the worktree itself.
  return [] {
    auto opts = worker::options_from_env();
    if (!opts) {
      std::cerr << "sf-actors worker: " << describe(opts.error()) << '\n';
      return static_cast<int>(worker::worker_exit_usage);
    }
    return worker::run_reference_worker(*opts);
  };
}

} // namespace sf::cli
