#include "support/help_verbs.hpp"

#include "support/temp_dir.hpp"

#include <regex>
#include <sstream>
#include <stdexcept>

namespace sf::test {

std::set<std::string> help_verbs() {
  auto help = run_cli("--help");
  if (help.exit_code != 0)
    throw std::runtime_error("sf-actors --help failed: " + help.err);
  std::set<std::string> out;
  std::istringstream in(help.out);
  std::string line;
  bool in_section = false;
  static const std::regex entry(R"(^\s+([a-z][a-z-]*)\s{2,}\S)");
  while (std::getline(in, line)) {
    if (line.rfind("Subcommands:", 0) == 0) {
      in_section = true;
      continue;
    }
    std::smatch m;
    if (in_section && std::regex_search(line, m, entry))
      out.insert(m[1]);
  }
  return out;
}

} // namespace sf::test
