#include "core/gate_bisect.hpp"

#include <algorithm>

namespace sf::core {

std::vector<std::string> gate_bisect::next(const std::vector<std::string>& eligible,
                                           std::size_t batch) {
  // Suspects that may not merge now (a newer completion replaced one, the user merged it) are
  // no longer suspects.
  suspects_.erase(std::remove_if(suspects_.begin(), suspects_.end(),
                                 [&](const std::string& id) {
                                   return std::find(eligible.begin(), eligible.end(), id) ==
                                          eligible.end();
                                 }),
                  suspects_.end());
  if (suspects_.size() == 1)
    return suspects_;
  if (!suspects_.empty() && known_bad_)
    return {suspects_.begin(), suspects_.begin() + static_cast<std::ptrdiff_t>(suspects_.size() / 2)};
  suspects_.clear();
  known_bad_ = false;
  auto n = std::min(eligible.size(), std::max<std::size_t>(batch, 1));
  return {eligible.begin(), eligible.begin() + static_cast<std::ptrdiff_t>(n)};
}

gate_verdict gate_bisect::record(const std::vector<std::string>& tested, bool passed) {
  gate_verdict v;
  if (tested.empty())
    return v;
  auto is_prefix = tested.size() < suspects_.size() &&
                   std::equal(tested.begin(), tested.end(), suspects_.begin());
  if (passed) {
    v.land = true;
    for (const auto& id : tested)
      retried_.erase(id);
    if (is_prefix && known_bad_) {
      // The first half passed where the whole failed: the culprit is in the rest, which is
      // known to fail on top of this half (which lands now).
      suspects_.erase(suspects_.begin(), suspects_.begin() + static_cast<std::ptrdiff_t>(tested.size()));
    } else {
      suspects_.clear();
      known_bad_ = false;
    }
    return v;
  }
  if (tested.size() == 1) {
    const auto& id = tested.front();
    bool in_failed_group = known_bad_ && std::find(suspects_.begin(), suspects_.end(), id) !=
                                           suspects_.end() && suspects_.size() > 1;
    bool second = retried_.count(id) != 0 || (known_bad_ && suspects_.size() == 1 &&
                                              suspects_.front() == id);
    if (in_failed_group || second) {
      // Failed alone after failing with others (or twice alone): it is the culprit.
      v.failed.push_back(id);
      retried_.erase(id);
      suspects_.clear();
      known_bad_ = false;
      return v;
    }
    retried_.insert(id);
    suspects_ = tested;
    known_bad_ = false;
    v.retry = true;
    return v;
  }
  // A batch failed: a culprit is among these; halves are tested next (the rest of a bigger
  // suspect set goes back to the queue untested).
  suspects_ = tested;
  known_bad_ = true;
  return v;
}

void gate_bisect::forget(const std::string& id) {
  suspects_.erase(std::remove(suspects_.begin(), suspects_.end(), id), suspects_.end());
  retried_.erase(id);
}

} // namespace sf::core
