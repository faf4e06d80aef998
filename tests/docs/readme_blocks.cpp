#include "docs/readme_blocks.hpp"

#include "support/temp_dir.hpp"

#include <regex>
#include <sstream>
#include <stdexcept>

namespace sf::test {

std::string doc_block(const std::string& doc, const std::string& after) {
  auto text = read_file(SF_SOURCE_DIR "/" + doc);
  auto at = text.find("\n" + after + "\n");
  if (at == std::string::npos)
    throw std::runtime_error(doc + " has no line '" + after + "'");
  auto open = text.find("```sh\n", at);
  auto close = open == std::string::npos ? open : text.find("\n```\n", open);
  if (close == std::string::npos)
    throw std::runtime_error("no ```sh block after '" + after + "' in " + doc);
  return text.substr(open + 6, close - open - 5);
}

std::string readme_block(const std::string& after) { return doc_block("README.md", after); }

std::vector<readme_step> readme_steps(const std::string& after) {
  std::istringstream in(readme_block(after));
  std::vector<readme_step> steps;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("$ ", 0) == 0) {
      auto cmd = line.substr(2);
      // A comment is two spaces or more, then `# `: not a `#` inside the command.
      static const std::regex comment{R"(\s{2,}# .*$)"};
      cmd = std::regex_replace(cmd, comment, "");
      steps.push_back({cmd, {}});
    } else if (!steps.empty()) {
      steps.back().output.push_back(line);
    }
  }
  return steps;
}

std::string without_pids(const std::string& text) {
  static const std::regex pid{R"(pid [0-9]+)"};
  return std::regex_replace(text, pid, "pid N");
}

} // namespace sf::test
