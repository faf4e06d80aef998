// `sf-actors worker`: the built-in reference worker (started by the coordinator).
#include "cli/command.hpp"

namespace sf::cli {

std::function<int()> setup_worker(CLI::App& app, global_options& g) {
  return setup_unavailable(app, g, "worker");
}

} // namespace sf::cli
