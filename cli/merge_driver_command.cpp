// `sf-actors merge-driver %O %A %B %P`: the git merge driver of the .sf/ state files, run by
// git (registered by `start` and `init` in the repository's local config), not by people.
#include "cli/command.hpp"
#include "io/git/merge_driver.hpp"

#include <unistd.h>

#include <memory>

namespace sf::cli {

std::function<int()> setup_merge_driver(CLI::App& app, global_options&) {
  auto files = std::make_shared<std::vector<std::string>>();
  app.add_option("files", *files, "%O %A %B %P as git passes them: base, ours (the result), "
                                  "theirs, and the file's path")
    ->expected(4)
    ->required();
  return [files]() -> int {
    char cwd[4096];
    std::string top = ::getcwd(cwd, sizeof cwd) != nullptr ? cwd : ".";
    const auto& f = *files;
    return io::run_merge_driver(top, f[0], f[1], f[2], f[3]);
  };
}

} // namespace sf::cli
