// `sf-worker`: the reference worker as its own program, for hosts that install the runtime
// without the sf-actors CLI. It behaves exactly like `sf-actors worker`.
#include "messages/error.hpp"
#include "worker/reference_worker.hpp"

#include <iostream>

int main() {
  auto opts = sf::worker::options_from_env();
  if (!opts) {
    std::cerr << "sf-worker: " << sf::describe(opts.error()) << '\n';
    return static_cast<int>(sf::worker::worker_exit_usage);
  }
  return sf::worker::run_reference_worker(*opts);
}
