// `sf-actors graph [--format mermaid|dot] [--json]`
#include "cli/command.hpp"
#include "cli/plan_graph_json.hpp"
#include "cli/plan_graph_text.hpp"

#include <iostream>

namespace sf::cli {

std::function<int()> setup_graph(CLI::App& app, global_options& g) {
  auto format = std::make_shared<std::string>("mermaid");
  auto* format_option = app.add_option("--format", *format, "Output format")
                          ->check(CLI::IsMember({"mermaid", "dot"}))
                          ->capture_default_str();
  app.add_flag("--json", g.json, "Print the milestones and their dependency edges as JSON")
    ->excludes(format_option);
  return [&g, format]() -> int {
    int code = exit_ok;
    plan p;
    if (!load_plan_or_report(project_root(g), p, code))
      return code;
    if (g.json)
      std::cout << graph_to_json(p).dump(2) << '\n';
    else
      std::cout << (*format == "dot" ? render_graph_dot(p) : render_graph_mermaid(p));
    return exit_ok;
  };
}

} // namespace sf::cli
