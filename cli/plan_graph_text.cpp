#include "cli/plan_graph_text.hpp"

#include "cli/one_line.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <map>
#include <set>
#include <string_view>
#include <utility>

namespace sf::cli {

namespace {

/// A node of the drawing; `status` is empty for a dependency absent from the plan.
struct node {
  std::string title;
  std::string status;
};

/// Nodes by id and edges (dependency, dependent), both ordered so the text is deterministic.
struct graph_model {
  std::map<std::string, node> nodes;
  std::set<std::pair<std::string, std::string>> edges;
};

/// Class name and colours of each style; "missing" marks an unknown dependency.
struct palette_entry {
  const char* name;
  const char* fill;
  const char* stroke;
};

constexpr std::array<palette_entry, 5> palette{{
    {"complete", "#d4edda", "#2e7d32"},
    {"active", "#cce5ff", "#1565c0"},
    {"pending", "#fff3cd", "#f9a825"},
    {"parked", "#e2e3e5", "#616161"},
    {"missing", "#ffffff", "#c62828"},
}};

const palette_entry& style_of(const std::string& status) {
  for (const auto& e : palette)
    if (status == e.name)
      return e;
  return palette.back();
}

graph_model build(const plan& p) {
  graph_model g;
  for (const auto& m : p.milestones)
    g.nodes.emplace(m.id, node{m.title, to_string(m.status)}); // First of duplicates wins.
  for (const auto& m : p.milestones)
    for (const auto& dep : m.depends_on) {
      g.nodes.emplace(dep, node{}); // No-op when the dependency is in the plan.
      g.edges.emplace(dep, m.id);
    }
  return g;
}

std::string label_of(const std::string& id, const node& n) {
  std::string text = id;
  if (!n.title.empty())
    text += " " + n.title;
  text += " (" + (n.status.empty() ? std::string{"missing"} : n.status) + ")";
  return one_line(text);
}

/// Mermaid keywords that break a flowchart when used as a bare node id.
bool mermaid_keyword(std::string_view id) {
  static constexpr std::array<std::string_view, 13> words{
      "end",   "graph", "flowchart", "subgraph", "style",     "class",    "classdef",
      "click", "call",  "href",      "default",  "linkstyle", "direction"};
  std::string lower;
  for (char c : id)
    lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return std::find(words.begin(), words.end(), lower) != words.end();
}

/// A Mermaid node id: the milestone id itself when it is a plain word, otherwise "sf_" and the
/// id's bytes in hex. Plain ids never start with "sf_", so two milestones never share a node.
std::string mermaid_id(const std::string& id) {
  bool plain = !id.empty() && std::isalpha(static_cast<unsigned char>(id[0])) &&
               id.compare(0, 3, "sf_") != 0 && !mermaid_keyword(id);
  for (char c : id)
    plain = plain && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
  if (plain)
    return id;
  std::string out = "sf_";
  char buf[3];
  for (char c : id) {
    std::snprintf(buf, sizeof buf, "%02x", static_cast<unsigned char>(c));
    out += buf;
  }
  return out;
}

/// Text for inside a quoted Mermaid label: characters Mermaid or its HTML labels would interpret
/// become entity codes (`#quot;`, `#60;`, ...), which Mermaid turns back into the characters.
std::string mermaid_text(std::string_view text) {
  std::string out;
  for (char c : one_line(text)) {
    switch (c) {
    case '"':
      out += "#quot;";
      break;
    case '#':
      out += "#35;";
      break;
    case '&':
      out += "#38;";
      break;
    case '<':
      out += "#60;";
      break;
    case '>':
      out += "#62;";
      break;
    case '`':
      out += "#96;";
      break;
    default:
      out.push_back(c);
    }
  }
  return out;
}

/// A DOT double-quoted string. Inside quotes only `"` and `\` are special (`\` also starts
/// Graphviz's label escapes such as \N and \l); `<` and `>` only matter in HTML labels, which we
/// never emit, so they stay literal. Line breaks become spaces, like in the Mermaid output.
std::string dot_quote(std::string_view text) {
  std::string out = "\"";
  for (char c : one_line(text)) {
    if (c == '"' || c == '\\')
      out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

} // namespace

std::string render_graph_mermaid(const plan& p) {
  auto g = build(p);
  std::string out = "flowchart LR\n";
  for (const auto& e : palette) {
    out += std::string{"  classDef "} + e.name + " fill:" + e.fill + ",stroke:" + e.stroke;
    if (std::string_view{e.name} == "missing")
      out += ",stroke-dasharray:5 5";
    out += "\n";
  }
  for (const auto& [id, n] : g.nodes)
    out += "  " + mermaid_id(id) + "[\"" + mermaid_text(label_of(id, n)) +
           "\"]:::" + style_of(n.status).name + "\n";
  for (const auto& [from, to] : g.edges) {
    const bool missing = g.nodes.at(from).status.empty();
    out += "  " + mermaid_id(from) + (missing ? " -.-> " : " --> ") + mermaid_id(to) + "\n";
  }
  return out;
}

std::string render_graph_dot(const plan& p) {
  auto g = build(p);
  std::string out = "digraph plan {\n"
                    "  rankdir=LR;\n"
                    "  node [shape=box, style=\"rounded,filled\"];\n";
  for (const auto& [id, n] : g.nodes) {
    const auto& s = style_of(n.status);
    out += "  " + dot_quote(id) + " [label=" + dot_quote(label_of(id, n)) + ", fillcolor=\"" +
           s.fill + "\", color=\"" + s.stroke + "\"";
    if (n.status.empty())
      out += ", style=\"dashed\"";
    out += "];\n";
  }
  for (const auto& [from, to] : g.edges) {
    out += "  " + dot_quote(from) + " -> " + dot_quote(to);
    if (g.nodes.at(from).status.empty())
      out += " [style=dashed]";
    out += ";\n";
  }
  out += "}\n";
  return out;
}

} // namespace sf::cli
