#include "io/git/merge_parts.hpp"

namespace sf::io {

std::string oid_hex(const git_oid& id) {
  char buf[GIT_OID_HEXSZ + 1];
  git_oid_tostr(buf, sizeof buf, &id);
  return buf;
}

caf::expected<commit_ptr> lookup_commit(git_repository* repo, const git_oid& id,
                                        const std::string& what) {
  git_commit* raw = nullptr;
  if (git_commit_lookup(&raw, repo, &id) != 0)
    return git_fail("reading a commit", oid_hex(id) + " (" + what + ")");
  return commit_ptr{raw};
}

caf::expected<tree_ptr> tree_of(const git_commit* commit) {
  git_tree* raw = nullptr;
  if (git_commit_tree(&raw, commit) != 0)
    return git_fail("reading the tree of commit", oid_hex(*git_commit_id(commit)));
  return tree_ptr{raw};
}

caf::expected<tree_ptr> merge_base_tree(git_repository* repo, const git_oid& a, const git_oid& b) {
  git_oid base;
  int rc = git_merge_base(&base, repo, &a, &b);
  if (rc == GIT_ENOTFOUND)
    return tree_ptr{}; // Unrelated histories merge against an empty tree.
  if (rc != 0)
    return git_fail("finding the merge base", oid_hex(a) + " and " + oid_hex(b));
  auto commit = lookup_commit(repo, base, "merge base");
  if (!commit)
    return std::move(commit.error());
  return tree_of(commit->get());
}

caf::expected<signature_ptr> merge_signature(git_repository* repo) {
  git_signature* raw = nullptr;
  if (git_signature_default(&raw, repo) == 0)
    return signature_ptr{raw};
  // No user.name/user.email configured: the tool still has to be able to record the merge.
  if (git_signature_now(&raw, "sf-actors", "sf-actors@localhost") != 0)
    return git_fail("making the merge signature", git_repository_path(repo));
  return signature_ptr{raw};
}

} // namespace sf::io
