#pragma once
/// The plan's dependency graph as Mermaid or Graphviz DOT text.

#include "config/plan.hpp"

#include <string>

namespace sf::cli {

/// A Mermaid flowchart (left to right): one node per milestone labelled "id title (status)",
/// styled by a class per status, and an arrow from each dependency to its dependent.
/// A dependency absent from the plan becomes a dashed node labelled "id (missing)" with a
/// dotted arrow. Nodes and edges are sorted by id, so equal plans give equal text.
std::string render_graph_mermaid(const plan& p);

/// The same graph as a Graphviz `digraph`, one fill colour per status, missing dependencies as
/// dashed nodes with dashed edges. All ids and labels are double-quoted and escaped.
std::string render_graph_dot(const plan& p);

} // namespace sf::cli
