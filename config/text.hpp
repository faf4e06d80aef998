#pragma once
/// Small text helpers shared by the plan views (reports and graphs).

#include <string>
#include <string_view>

namespace sf::detail {

/// `text` with every control character (line breaks, tabs, ...) replaced by a space, so that
/// text from the plan cannot start a new line in a line-oriented output format.
std::string one_line(std::string_view text);

} // namespace sf::detail
