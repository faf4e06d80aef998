#pragma once
/// Bounded, symlink-safe reading of Markdown files with YAML front matter, shared by the plan and
/// the preferences loaders.

#include "config/plan.hpp"

#include <caf/expected.hpp>
#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace sf {

/// A Markdown file cut at its front-matter markers.
struct front_matter {
  std::string yaml;           ///< Text between the opening and the closing marker lines.
  std::size_t first_line = 2; ///< File line (1-based) where `yaml` starts.
  std::string body;           ///< Everything after the closing marker line.
};

/// Cuts `text` into front matter and body; `path` is only used in messages.
caf::expected<front_matter> split_front_matter(std::string_view text, const std::string& path);

/// Reads `name` relative to the open folder `dir_fd` (or AT_FDCWD) without following a symlink
/// at the last component; refuses non-regular files and files over `limits.max_file_bytes`.
/// A missing file gives `ec::not_found`. `path` is only used in messages.
caf::expected<std::string> read_input_file_at(int dir_fd, const std::string& name,
                                              const std::string& path, const input_limits& limits);

/// `read_input_file_at(AT_FDCWD, path, path, limits)`.
caf::expected<std::string> read_input_file(const std::string& path, const input_limits& limits);

/// Refuses `yaml` when its flow (`[`, `{`) or block (indentation) nesting exceeds `max_depth`,
/// judged from the raw text so that yaml-cpp's recursive parser never sees it.
caf::error check_yaml_depth(std::string_view yaml, std::size_t first_line, const std::string& path,
                            std::size_t max_depth);

/// Parses `yaml` after `check_yaml_depth`, then refuses trees deeper than `limits.max_depth` or
/// with more than `limits.max_nodes` nodes, counting every use of an alias. Empty text is null.
caf::expected<YAML::Node> load_yaml(std::string_view yaml, std::size_t first_line,
                                    const std::string& path, const input_limits& limits);

/// File line (1-based) of `node`, or `fallback` when yaml-cpp recorded no position.
std::size_t line_of(const YAML::Node& node, std::size_t first_line, std::size_t fallback);

/// True for a scalar written without quotes (so `"2"` and `'true'` are strings, not numbers).
bool is_plain_scalar(const YAML::Node& node);

/// True for an integer as written in YAML: an optional sign, then decimal digits.
bool matches_int(const std::string& s);

/// True for a YAML 1.2 core-schema decimal number (`1`, `-2.5`, `3e4`; no `.inf` or `.nan`).
bool matches_number(const std::string& s);

/// Short rendering of a value for messages: plain scalars as written, quoted ones in quotes,
/// collections as "a list" / "a map".
std::string describe_value(const YAML::Node& node);

} // namespace sf
