#include "io/files/signal_file.hpp"

#include "core/milestone_id.hpp"
#include "core/name_table.hpp"
#include "core/sf_paths.hpp"
#include "io/files/parallel_dir.hpp"
#include "io/files/status_file.hpp"
#include "io/os/inode_release.hpp"
#include "messages/error.hpp"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <limits>

namespace sf::io {

namespace {

using json = nlohmann::json;

caf::error bad_signal(const std::string& why) {
  return make_error(ec::invalid_input, "signal " + why);
}

// Removes a claim; a directory planted under the signal name needs AT_REMOVEDIR.
caf::error remove_claim(const signal_claim& c) {
  if (unlink_deferred(c.dir.get(), c.name.c_str()) == 0)
    return {};
  int err = errno;
  if (err == EISDIR && ::unlinkat(c.dir.get(), c.name.c_str(), AT_REMOVEDIR) == 0)
    return {};
  return make_error(ec::io_error, "removing claimed signal " + c.dir_path + "/" + c.name +
                                      " failed: " + errno_text(err) + "; remove it by hand");
}

} // namespace

namespace {

// The one name table of signal_kind (the `signal` field of a signal file).
constexpr core::name_table<signal_kind, 4> signal_names = {{"pause", "resume", "stop", "rebase"}};

} // namespace

// Names are literals: the view's data is NUL-terminated.
const char* to_string(signal_kind k) { return signal_names.name(k).data(); }

std::optional<signal_kind> parse_signal_kind(std::string_view s) { return signal_names.parse(s); }

caf::expected<signal_message> decode_signal(std::string_view text) {
  if (text.size() > max_signal_bytes)
    return bad_signal("is " + std::to_string(text.size()) + " bytes, more than the limit of " +
                      std::to_string(max_signal_bytes));
  auto doc = json::parse(text.begin(), text.end(), nullptr, false);
  if (doc.is_discarded())
    return bad_signal("is not valid JSON (truncated or malformed)");
  if (!doc.is_object())
    return bad_signal("must be a JSON object");
  signal_message m;
  auto sig = doc.find("signal");
  if (sig == doc.end() || !sig->is_string())
    return bad_signal("field 'signal' must be a string: pause, resume, stop or rebase");
  auto kind = parse_signal_kind(sig->get<std::string>());
  if (!kind)
    return bad_signal("field 'signal' is '" + sig->get<std::string>() +
                      "'; expected pause, resume, stop or rebase");
  m.kind = *kind;
  auto sent = doc.find("sentAt");
  bool ok = sent != doc.end() && sent->is_number_integer();
  if (ok && sent->is_number_unsigned())
    ok = sent->get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (!ok || sent->get<int64_t>() < 0)
    return bad_signal("field 'sentAt' must be an integer >= 0 (ms since the epoch)");
  m.sent_at = sent->get<int64_t>();
  // `from` is informative only; accept its absence but not a wrong type.
  auto from = doc.find("from");
  if (from != doc.end()) {
    if (!from->is_string())
      return bad_signal("field 'from' must be a string");
    m.from = from->get<std::string>();
  }
  return m;
}

std::string encode_signal(const signal_message& s) {
  nlohmann::ordered_json j;
  j["signal"] = to_string(s.kind);
  j["sentAt"] = s.sent_at;
  j["from"] = s.from;
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::string signal_path(const std::string& root, const std::string& mid) {
  return core::signal_file(root, mid);
}

caf::error send_signal(const std::string& root, const std::string& mid, signal_kind kind) {
  signal_message msg;
  msg.kind = kind;
  msg.sent_at = now_ms();
  return send_signal(root, mid, msg);
}

caf::error send_signal(const std::string& root, const std::string& mid, const signal_message& msg) {
  if (!core::valid_milestone_id(mid))
    return invalid_mid_error(mid);
  auto dir = ensure_parallel_dir(root);
  if (!dir)
    return dir.error();
  // Rename over the final name: a reader sees the old or the new signal, never a mix. No
  // fsync: a signal only means something to a live worker, which a power loss ends.
  return write_file_replace(dir->fd.get(), dir->path, mid + ".signal.json", encode_signal(msg),
                            0600);
}

caf::expected<std::optional<signal_claim>> claim_signal(const std::string& root,
                                                        const std::string& mid) {
  if (!core::valid_milestone_id(mid))
    return invalid_mid_error(mid);
  auto dir = open_parallel_dir(root);
  if (!dir) {
    // No folder yet means nobody ever sent a signal.
    if (code_of(dir.error()) == ec::not_found)
      return std::optional<signal_claim>{};
    return dir.error();
  }
  signal_claim c;
  c.mid = mid;
  c.name = mid + ".signal.json.tmp.claim." + random_hex();
  const std::string name = mid + ".signal.json";
  // The rename is the claim: a signal written after it lands under the original name and
  // waits for the next call, unlike read-then-unlink which would delete it unseen.
  if (::renameat(dir->fd.get(), name.c_str(), dir->fd.get(), c.name.c_str()) != 0) {
    int err = errno;
    if (err == ENOENT)
      return std::optional<signal_claim>{};
    return make_error(ec::io_error, "claiming " + dir->path + "/" + name + " failed: " +
                                        errno_text(err) + "; check the folder's permissions");
  }
  c.dir = std::move(dir->fd);
  c.dir_path = std::move(dir->path);
  return std::optional<signal_claim>{std::move(c)};
}

caf::expected<signal_message> finish_claim(signal_claim& claim) {
  const std::string origin = claim.dir_path + "/" + claim.mid + ".signal.json";
  auto text = read_file_capped(claim.dir.get(), claim.dir_path, claim.name, max_signal_bytes);
  caf::expected<signal_message> msg = text ? decode_signal(*text) : text.error();
  // Remove the claim whatever it held, so a bad file cannot block the next signals.
  if (auto err = remove_claim(claim)) {
    if (msg)
      return make_error(ec::io_error, "signal " + origin + " was read but " + describe(err));
    return make_error(code_of(msg.error()),
                      origin + " is unusable (" + describe(msg.error()) + ") and " + describe(err));
  }
  if (!msg)
    return make_error(code_of(msg.error()),
                      origin + " was malformed and has been removed: " + describe(msg.error()));
  return msg;
}

caf::expected<std::optional<signal_message>> consume_signal(const std::string& root,
                                                            const std::string& mid) {
  auto claim = claim_signal(root, mid);
  if (!claim)
    return claim.error();
  if (!*claim)
    return std::optional<signal_message>{};
  auto msg = finish_claim(**claim);
  if (!msg)
    return msg.error();
  return std::optional<signal_message>{std::move(*msg)};
}

} // namespace sf::io
