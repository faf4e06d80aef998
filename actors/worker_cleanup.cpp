#include "actors/worker_cleanup.hpp"

#include "io/files/parallel_dir.hpp"
#include "io/files/prompt_file.hpp"
#include "io/files/signal_file.hpp"
#include "io/files/status_file.hpp"
#include "io/os/inode_release.hpp"
#include "io/os/proc_scan.hpp"
#include "messages/atoms.hpp"

#include <caf/typed_event_based_actor.hpp>

namespace sf {

worker_cleanup_actor::behavior_type worker_cleanup(worker_cleanup_actor::pointer self,
                                                   std::string root, std::string milestone,
                                                   std::string token) {
  return {
    [=](atom::clean_up) {
      self->quit();
      // The worker is gone and its last word was read: no runtime file of it stays behind
      // (the coordinator's run file keeps the history).
      io::unlink_deferred(io::status_path(root, milestone));
      io::unlink_deferred(io::signal_path(root, milestone));
      io::remove_prompt_file(root, milestone); // A worker killed mid-unit leaves its prompt.
      io::remove_temp_files(root, milestone + ".");
      // The scan reads every process's environment (~1-1.5 ms measured).
      return io::kill_token_holders(root, token);
    },
  };
}

} // namespace sf
