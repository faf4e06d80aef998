#pragma once
/// The spec's "Merge Results" report: how the CLI shows a merge report to a person, whether it
/// merged itself or a coordinator's queue did (the report arrives typed either way).

#include "messages/types.hpp"

#include <string>

namespace sf::cli {

/// Markdown, one item per result, with what to do next for a conflict or an obstacle.
std::string render_merge_report(const merge_report& r);

} // namespace sf::cli
