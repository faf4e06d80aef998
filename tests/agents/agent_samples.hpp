#pragma once
/// Sample agent output for the parser tests, copied from ../shared/AGENTS.md.

#include <string>

namespace sf::test {

/// The Claude stream of ../shared/AGENTS.md, verbatim.
inline const std::string claude_sample =
    R"JSONL({"type":"system","subtype":"init","cwd":"<worktree>","session_id":"5b0c2e1a-93d4-4f7e-8a61-2c9f0d7e4b13","tools":["Bash","Edit","Read","Write"],"mcp_servers":[],"model":"claude-sonnet-4-5-20250929","permissionMode":"acceptEdits","slash_commands":["compact"],"apiKeySource":"none","claude_code_version":"2.1.240","output_style":"default","uuid":"0d1e2f3a-1111-4c2b-9d3e-5f6a7b8c9d0e"}
{"type":"assistant","message":{"model":"claude-sonnet-4-5-20250929","id":"msg_01Xq","type":"message","role":"assistant","content":[{"type":"tool_use","id":"toolu_01Ab","name":"Edit","input":{"file_path":"src/parse.cc","old_string":"int n;","new_string":"int n = 0;"}}],"stop_reason":null,"usage":{"input_tokens":4,"cache_creation_input_tokens":1210,"cache_read_input_tokens":18034,"output_tokens":96}},"parent_tool_use_id":null,"session_id":"5b0c2e1a-93d4-4f7e-8a61-2c9f0d7e4b13","uuid":"a7b8c9d0-2222-4e3f-8a9b-0c1d2e3f4a5b"}
{"type":"user","message":{"role":"user","content":[{"tool_use_id":"toolu_01Ab","type":"tool_result","content":"The file src/parse.cc has been updated."}]},"parent_tool_use_id":null,"session_id":"5b0c2e1a-93d4-4f7e-8a61-2c9f0d7e4b13","uuid":"b1c2d3e4-3333-4a5b-9c6d-7e8f9a0b1c2d"}
{"type":"system","subtype":"api_retry","attempt":1,"max_retries":10,"retry_delay_ms":600,"error_status":529,"error":"overloaded","session_id":"5b0c2e1a-93d4-4f7e-8a61-2c9f0d7e4b13"}
{"type":"result","subtype":"success","is_error":false,"duration_ms":48210,"duration_api_ms":39987,"num_turns":7,"result":"Fixed the uninitialised counter; tests pass.","stop_reason":"end_turn","session_id":"5b0c2e1a-93d4-4f7e-8a61-2c9f0d7e4b13","total_cost_usd":0.18342,"usage":{"input_tokens":31,"cache_creation_input_tokens":9874,"cache_read_input_tokens":112503,"output_tokens":1822,"server_tool_use":{"web_search_requests":0},"service_tier":"standard"},"modelUsage":{"claude-sonnet-4-5-20250929":{"inputTokens":31,"outputTokens":1822,"cacheReadInputTokens":112503,"cacheCreationInputTokens":9874,"webSearchRequests":0,"costUSD":0.18342,"contextWindow":200000}},"permission_denials":[],"terminal_reason":"completed","uuid":"c3d4e5f6-4444-4b6c-8d7e-9f0a1b2c3d4e"}
)JSONL";

/// The Codex stream of ../shared/AGENTS.md, verbatim.
inline const std::string codex_sample =
    R"JSONL({"type":"thread.started","thread_id":"019a4c2e-7d10-7b31-9f0e-3c6a2b8d5e41"}
{"type":"turn.started"}
{"type":"item.completed","item":{"id":"item_0","type":"reasoning","text":"**Locating the failing test**"}}
{"type":"item.started","item":{"id":"item_1","type":"command_execution","command":"bash -lc 'ctest --output-on-failure'","aggregated_output":"","exit_code":null,"status":"in_progress"}}
{"type":"item.completed","item":{"id":"item_1","type":"command_execution","command":"bash -lc 'ctest --output-on-failure'","aggregated_output":"1/1 Test #1: parse ... Failed\n","exit_code":8,"status":"failed"}}
{"type":"item.completed","item":{"id":"item_2","type":"file_change","changes":[{"path":"src/parse.cc","kind":"update"}],"status":"completed"}}
{"type":"item.completed","item":{"id":"item_3","type":"agent_message","text":"Initialised the counter in src/parse.cc; re-run ctest to confirm."}}
{"type":"turn.completed","usage":{"input_tokens":48213,"cached_input_tokens":40960,"output_tokens":1377}}
)JSONL";

} // namespace sf::test
