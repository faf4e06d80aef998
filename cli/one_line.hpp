#pragma once
/// One-line text for the CLI's line-oriented renderers (eligibility reports, plan graphs).

#include <string>
#include <string_view>

namespace sf::cli {

/// `text` with every control character (line breaks, tabs, ...) replaced by a space, so that
/// text from the plan cannot start a new line in a line-oriented output format.
std::string one_line(std::string_view text);

} // namespace sf::cli
