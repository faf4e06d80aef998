#pragma once
/// worker_cleanup: a one-shot actor that clears up after one exited worker, off the scheduler.

#include "messages/interfaces.hpp"

#include <chrono>
#include <string>

namespace sf {

/// How long a supervisor waits for its cleanup: a few unlinks and one scan of /proc take
/// milliseconds; past this the supervisor ends anyway and `doctor` finds what is left.
constexpr auto worker_cleanup_timeout = std::chrono::seconds(60);

/// Answers one `clean_up`, then ends: removes the status, signal, prompt and temp files of
/// `milestone` under `root` (a worker killed between writing a temp file and renaming it leaves
/// one), and kills every process that still carries `token` (units in their own groups, setsid
/// daemons), answering how many. It touches the disk and reads every process's environment, so
/// spawn it detached.
worker_cleanup_actor::behavior_type worker_cleanup(worker_cleanup_actor::pointer self,
                                                   std::string root, std::string milestone,
                                                   std::string token);

} // namespace sf
