#include "cli/cli_outline.hpp"

namespace sf::cli {

namespace {

// "TEXT:{mermaid,dot}" -> {"mermaid", "dot"}: CLI11 appends an IsMember check's set so.
std::vector<std::string> choices_of(const std::string& type_name) {
  auto open = type_name.find('{');
  auto close = type_name.find('}', open);
  if (open == std::string::npos || close == std::string::npos)
    return {};
  std::vector<std::string> out;
  std::string item;
  for (char c : type_name.substr(open + 1, close - open - 1)) {
    if (c == ',') {
      out.push_back(item);
      item.clear();
    } else if (c != ' ') {
      item += c;
    }
  }
  out.push_back(item);
  return out;
}

option_outline outline_of(const CLI::Option& opt) {
  option_outline o;
  for (const auto& s : opt.get_snames())
    o.names.push_back("-" + s);
  for (const auto& l : opt.get_lnames())
    o.names.push_back("--" + l);
  const auto type = opt.get_type_name();
  if (opt.get_type_size_max() > 0 || opt.get_positional()) {
    o.value = type.substr(0, type.find(':'));
    o.choices = choices_of(type);
  }
  o.help = opt.get_description();
  o.required = opt.get_required();
  o.repeated = opt.get_items_expected_max() > 1;
  return o;
}

// Hidden options (internal flags) have an empty group.
void add_options(const CLI::App& app, std::vector<option_outline>& options,
                 std::vector<option_outline>* positionals) {
  for (const CLI::Option* opt : app.get_options()) {
    if (opt->get_group().empty())
      continue;
    if (opt->get_positional()) {
      if (positionals != nullptr)
        positionals->push_back(outline_of(*opt));
    } else {
      options.push_back(outline_of(*opt));
    }
  }
}

} // namespace

cli_outline outline_of(const CLI::App& app) {
  cli_outline out;
  out.name = app.get_name();
  out.description = app.get_description();
  add_options(app, out.global, nullptr);
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    if (sub->get_group().empty())
      continue;
    verb_outline v;
    v.name = sub->get_name();
    v.help = sub->get_description();
    add_options(*sub, v.options, &v.positionals);
    out.verbs.push_back(std::move(v));
  }
  return out;
}

} // namespace sf::cli
