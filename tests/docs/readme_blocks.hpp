#pragma once
/// The README's shell examples as steps a test can play: `$ command` lines and the output the
/// README shows under each.

#include <string>
#include <vector>

namespace sf::test {

/// One `$ ...` line of a README block and the lines shown under it.
struct readme_step {
  std::string command;              ///< Without the `$ ` and without a trailing `# comment`.
  std::vector<std::string> output;  ///< The lines the README shows it printing.
};

/// The text of the first ```sh block after the line `after` in the source tree's file `doc`
/// (e.g. "docs/agents.md"), with its last newline.
std::string doc_block(const std::string& doc, const std::string& after);

/// `doc_block` of README.md.
std::string readme_block(const std::string& after);

/// The steps of that block.
std::vector<readme_step> readme_steps(const std::string& after);

/// `text` with every `pid <digits>` written `pid N`, so a shown pid matches any real one.
std::string without_pids(const std::string& text);

} // namespace sf::test
