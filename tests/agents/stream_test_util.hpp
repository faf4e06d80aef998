#pragma once
/// Helpers for the agent parser tests: feed a whole text, collect the transcript, compare.

#include "agents/agent_stream.hpp"

#include <memory>
#include <string>
#include <vector>

namespace sf::test {

/// A parser for one adapter with its transcript collected.
struct parsed_stream {
  std::unique_ptr<agents::agent_stream> stream; ///< The parser.
  std::vector<std::string> transcript;          ///< Every transcript line, in order.

  /// A fresh parser of `adapter`'s output.
  explicit parsed_stream(agent_adapter adapter);

  /// Feeds `text`, then (when `end`) finishes; returns the report.
  const agents::stream_report& read(const std::string& text, bool end = true);

  /// True when some transcript line equals `line`.
  bool said(const std::string& line) const;

  /// True when some transcript line starts with `prefix`.
  bool said_start(const std::string& prefix) const;
};

/// The report of `text` read in one piece.
agents::stream_report read_whole(agent_adapter adapter, const std::string& text);

/// True when two reports agree on every field.
bool same_report(const agents::stream_report& a, const agents::stream_report& b);

/// Asserts (Catch2 CHECKs) that two reports agree on every field.
void check_same(const agents::stream_report& a, const agents::stream_report& b);

/// Checks that `text` fed in two pieces, split at every byte, and fed byte by byte, reads as
/// it does in one piece.
void check_every_split(agent_adapter adapter, const std::string& text);

/// `text` with every "\n" made "\r\n".
std::string with_crlf(const std::string& text);

} // namespace sf::test
