#pragma once
/// The parser of each adapter (use `make_agent_stream`; these are its cases).

#include "agents/agent_stream.hpp"

#include <memory>

namespace sf::agents {

/// Claude Code `stream-json` events (agents/claude_stream.cpp).
std::unique_ptr<agent_stream> make_claude_stream();

/// Codex `exec --json` events (agents/codex_stream.cpp).
std::unique_ptr<agent_stream> make_codex_stream();

/// aider's plain text with `Tokens:`/`Cost:` reports (agents/aider_stream.cpp).
std::unique_ptr<agent_stream> make_aider_stream();

/// Any output with `SF_COST <usd>` lines (agents/generic_stream.cpp).
std::unique_ptr<agent_stream> make_generic_stream();

} // namespace sf::agents
