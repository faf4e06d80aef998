#include "io/git/tree_merge.hpp"

#include "core/sf_paths.hpp"
#include "io/git/git.hpp"
#include "io/git/rename_align.hpp"
#include "io/git/state_merge.hpp"
#include "messages/error.hpp"


#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>

namespace sf::io {

namespace {

using treebuilder_ptr =
  std::unique_ptr<git_treebuilder, git_deleter<git_treebuilder, git_treebuilder_free>>;

/// One side's view of a name in a folder: absent, or an object id with its mode.
struct entry {
  bool present = false;
  git_oid id{};
  git_filemode_t mode = GIT_FILEMODE_UNREADABLE;
};

entry entry_of(const git_tree* tree, const std::string& name) {
  entry e;
  if (tree == nullptr)
    return e;
  const git_tree_entry* raw = git_tree_entry_byname(tree, name.c_str());
  if (raw == nullptr)
    return e;
  e.present = true;
  git_oid_cpy(&e.id, git_tree_entry_id(raw));
  e.mode = git_tree_entry_filemode(raw);
  return e;
}

bool same(const entry& a, const entry& b) {
  if (a.present != b.present)
    return false;
  return !a.present || (a.mode == b.mode && git_oid_equal(&a.id, &b.id) != 0);
}

bool is_tree(const entry& e) {
  return e.present && e.mode == GIT_FILEMODE_TREE;
}

bool is_file(const entry& e) {
  return e.present && (e.mode == GIT_FILEMODE_BLOB || e.mode == GIT_FILEMODE_BLOB_EXECUTABLE);
}

void add_names(const git_tree* tree, std::vector<std::string>& names) {
  if (tree == nullptr)
    return;
  size_t n = git_tree_entrycount(tree);
  for (size_t i = 0; i < n; ++i)
    names.emplace_back(git_tree_entry_name(git_tree_entry_byindex(tree, i)));
}

class merger {
public:
  merger(git_repository* repo, const tree_merge_rules& rules) : repo_(repo), rules_(rules) {
  }

  std::vector<std::string> conflicts;
  std::vector<std::string> changed;

  /// Merges one folder level; gives the resulting tree entry, absent when it ends up empty.
  caf::expected<entry> merge_dir(const std::string& prefix, const git_tree* b, const git_tree* o,
                                 const git_tree* t) {
    std::vector<std::string> names;
    add_names(b, names);
    add_names(o, names);
    add_names(t, names);
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    git_treebuilder* raw = nullptr;
    if (git_treebuilder_new(&raw, repo_, o) != 0)
      return git_fail("starting a tree", "folder '" + prefix + "'");
    treebuilder_ptr bld{raw};
    bool modified = false;
    for (const auto& name : names) {
      entry eo = entry_of(o, name);
      auto r = merge_entry(prefix + name, entry_of(b, name), eo, entry_of(t, name));
      if (!r)
        return std::move(r.error());
      if (same(*r, eo))
        continue;
      modified = true;
      int rc = r->present ? git_treebuilder_insert(nullptr, bld.get(), name.c_str(), &r->id, r->mode)
                          : git_treebuilder_remove(bld.get(), name.c_str());
      if (rc != 0)
        return git_fail("updating a tree", "'" + prefix + name + "'");
    }
    entry out;
    if (!modified && o != nullptr) {
      out.present = true;
      git_oid_cpy(&out.id, git_tree_id(o));
      out.mode = GIT_FILEMODE_TREE;
      return out;
    }
    // Git keeps no empty folders: a folder both sides emptied disappears.
    if (git_treebuilder_entrycount(bld.get()) == 0)
      return out;
    if (git_treebuilder_write(&out.id, bld.get()) != 0)
      return git_fail("writing a tree", "folder '" + prefix + "'");
    out.present = true;
    out.mode = GIT_FILEMODE_TREE;
    return out;
  }

private:
  caf::expected<tree_ptr> load_tree(const entry& e) {
    if (!is_tree(e))
      return tree_ptr{};
    git_tree* raw = nullptr;
    if (git_tree_lookup(&raw, repo_, &e.id) != 0)
      return git_fail("reading a tree", git_oid_tostr_s(&e.id));
    return tree_ptr{raw};
  }

  caf::expected<std::string> load_blob(const entry& e) {
    if (!e.present || !is_file(e))
      return std::string{};
    git_blob* raw = nullptr;
    if (git_blob_lookup(&raw, repo_, &e.id) != 0)
      return git_fail("reading a blob", git_oid_tostr_s(&e.id));
    blob_ptr blob{raw};
    auto size = static_cast<size_t>(git_blob_rawsize(blob.get()));
    return std::string{static_cast<const char*>(git_blob_rawcontent(blob.get())), size};
  }

  /// Lists, as file paths, everything that differs between `from` and `to` at `path`.
  caf::error record(const std::string& path, const entry& from, const entry& to) {
    if (same(from, to))
      return caf::none;
    bool ft = is_tree(from);
    bool tt = is_tree(to);
    if ((from.present && !ft) || (to.present && !tt))
      changed.push_back(path);
    if (!ft && !tt)
      return caf::none;
    auto from_tree = load_tree(from);
    if (!from_tree)
      return std::move(from_tree.error());
    auto to_tree = load_tree(to);
    if (!to_tree)
      return std::move(to_tree.error());
    std::vector<std::string> names;
    add_names(from_tree->get(), names);
    add_names(to_tree->get(), names);
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    for (const auto& name : names)
      if (auto err = record(path + "/" + name, entry_of(from_tree->get(), name),
                            entry_of(to_tree->get(), name)))
        return err;
    return caf::none;
  }

  /// Result `r` replaces ours at `path`: note the changed files and pass `r` on.
  caf::expected<entry> take(const std::string& path, const entry& o, const entry& r) {
    if (auto err = record(path, o, r))
      return err;
    return r;
  }

  entry conflict(const std::string& path, const entry& o) {
    conflicts.push_back(path);
    return o;
  }

  caf::expected<entry> merge_entry(const std::string& path, const entry& b, const entry& o,
                                   const entry& t) {
    if (same(o, t) || same(b, t))
      return o;
    bool state = rules_.resolve_state && is_state_path(path);
    // Taking theirs wholesale would let a branch that merged main in erase records of other
    // milestones from metrics.json: descend to that file whenever main still has it.
    bool guards_metrics = state && o.present && t.present &&
                          (path == core::tree_path::sf || path == core::tree_path::metrics);
    if (same(b, o) && !guards_metrics)
      return take(path, o, t);
    bool ot = is_tree(o);
    bool tt = is_tree(t);
    // Folders on both sides, or a folder against nothing: descend so that only the files both
    // sides touched can conflict, as git does.
    if ((ot && tt) || (ot && !t.present) || (tt && !o.present))
      return merge_subtrees(path, b, o, t);
    if ((ot && t.present) || (tt && o.present)) {
      // A folder against a file, both changed: git moves the file aside and merges the
      // folder's files as if the file's side had deleted them, so a file in it that the file's
      // side never saw changed is kept, and one it did is a conflict of its own.
      auto before = conflicts.size();
      auto inner = merge_subtrees(path, b, o, t); // A file counts as no folder.
      if (!inner)
        return std::move(inner.error());
      // Nothing of the folder is left: the file stands alone, as the merge of its side.
      if (!inner->present && conflicts.size() == before)
        return ot ? take(path, o, t) : o;
      return conflict(path, o);
    }
    if (!o.present || !t.present) {
      // A file changed on one side and deleted on the other. Under .sf/ a branch's change to a
      // file main deleted is kept (nothing is lost by that); main's change to a file the branch
      // deleted must not vanish, so that is a conflict like in code.
      if (state && !o.present && is_file(t))
        return take(path, o, t);
      // A folder one side deleted and the other replaced by a file: every file of the base is
      // gone on both sides, and the new file is an add only one side made.
      if (is_tree(b))
        return o.present ? o : take(path, o, t);
      return conflict(path, o);
    }
    return merge_files(path, state, b, o, t);
  }

  /// The folders at `path` merged (a side that is not a folder there counts as an empty one).
  caf::expected<entry> merge_subtrees(const std::string& path, const entry& b, const entry& o,
                                      const entry& t) {
    auto bt = load_tree(b);
    if (!bt)
      return std::move(bt.error());
    auto otree = load_tree(o);
    if (!otree)
      return std::move(otree.error());
    auto ttree = load_tree(t);
    if (!ttree)
      return std::move(ttree.error());
    return merge_dir(path + "/", bt->get(), otree->get(), ttree->get());
  }

  caf::expected<entry> merge_files(const std::string& path, bool state, const entry& b,
                                   const entry& o, const entry& t) {
    bool have_base = b.present && !is_tree(b);
    entry r = o;
    // The mode and the content merge independently, like git.
    if (o.mode != t.mode) {
      if (have_base && b.mode == o.mode)
        r.mode = t.mode;
      else if (!(have_base && b.mode == t.mode)) {
        if (!state)
          return conflict(path, o);
        r.mode = t.mode;
      }
    }
    bool same_content = git_oid_equal(&o.id, &t.id) != 0;
    if (same_content)
      return take(path, o, r);
    // A branch that merged main in and then resolved metrics.json by its own side would, as a
    // plain fast-forward of the file, erase records of milestones already on main: metrics
    // always go through the per-milestone merge, which never drops an entry main has.
    bool metrics = state && path == core::tree_path::metrics;
    if (have_base && git_oid_equal(&b.id, &o.id) != 0 && !metrics) {
      git_oid_cpy(&r.id, &t.id);
      return take(path, o, r);
    }
    if (have_base && git_oid_equal(&b.id, &t.id) != 0)
      return take(path, o, r);
    if (!is_file(o) || !is_file(t) || (have_base && !is_file(b))) {
      // Symbolic links and submodules have no line-level merge.
      return conflict(path, o);
    }
    auto base_text = load_blob(have_base ? b : entry{});
    if (!base_text)
      return std::move(base_text.error());
    auto ours_text = load_blob(o);
    if (!ours_text)
      return std::move(ours_text.error());
    auto theirs_text = load_blob(t);
    if (!theirs_text)
      return std::move(theirs_text.error());
    std::string merged;
    if (state) {
      auto text = merge_state_text(path, *base_text, *ours_text, *theirs_text);
      if (!text)
        return std::move(text.error());
      if (!*text)
        return conflict(path, o);
      merged = std::move(**text);
    } else {
      auto text = merge_file_text(*base_text, *ours_text, *theirs_text, path, false,
                                  static_cast<unsigned int>(r.mode));
      if (!text)
        return std::move(text.error());
      if (!text->first)
        return conflict(path, o);
      merged = std::move(text->second);
    }
    if (git_blob_create_from_buffer(&r.id, repo_, merged.data(), merged.size()) != 0)
      return git_fail("writing the merged blob", "'" + path + "'");
    return take(path, o, r);
  }

  /// A file under `.sf/` both sides changed, by the rules of io/git/state_merge.hpp; nothing when
  /// it is a conflict.
  caf::expected<std::optional<std::string>>
  merge_state_text(const std::string& path, const std::string& base, const std::string& ours,
                   const std::string& theirs) {
    if (path == core::tree_path::metrics) {
      auto j = merge_metrics_json(base, ours, theirs);
      if (!j)
        return std::optional<std::string>{}; // Not JSON on a side: the user must look at it.
      return std::optional<std::string>{std::move(*j)};
    }
    if (is_milestone_file(path))
      return merge_milestone_text(base, ours, theirs, path);
    return merge_lines_keeping_both(base, ours, theirs, path);
  }

  git_repository* repo_;
  tree_merge_rules rules_;
};

} // namespace

bool is_state_path(const std::string& path) {
  return path == ".sf" || path.compare(0, 4, ".sf/") == 0;
}

caf::expected<tree_merge_result> tree_merge(git_repository* repo, const git_tree* base,
                                            const git_tree* ours, const git_tree* theirs,
                                            const tree_merge_rules& rules) {
  aligned_trees aligned;
  if (rules.detect_renames) {
    auto a = align_renames(repo, base, ours, theirs);
    if (!a)
      return std::move(a.error());
    aligned = std::move(*a);
    if (aligned.renamed) {
      base = aligned.base.get();
      ours = aligned.ours.get();
      theirs = aligned.theirs.get();
    }
  }
  merger m{repo, rules};
  auto top = m.merge_dir("", base, ours, theirs);
  if (!top)
    return std::move(top.error());
  tree_merge_result res;
  if (top->present) {
    git_oid_cpy(&res.tree, &top->id);
  } else {
    // Everything was deleted: the result is the empty tree, which must exist as an object.
    git_treebuilder* raw = nullptr;
    if (git_treebuilder_new(&raw, repo, nullptr) != 0)
      return git_fail("starting the empty tree", git_repository_path(repo));
    treebuilder_ptr bld{raw};
    if (git_treebuilder_write(&res.tree, bld.get()) != 0)
      return git_fail("writing the empty tree", git_repository_path(repo));
  }
  res.conflicts = std::move(m.conflicts);
  res.changed_paths = std::move(m.changed);
  // The merge ran on ours with renames followed: what moved differs from the real ours too.
  res.conflicts.insert(res.conflicts.end(), aligned.conflicts.begin(), aligned.conflicts.end());
  res.changed_paths.insert(res.changed_paths.end(), aligned.ours_moved.begin(),
                           aligned.ours_moved.end());
  std::sort(res.conflicts.begin(), res.conflicts.end());
  res.conflicts.erase(std::unique(res.conflicts.begin(), res.conflicts.end()), res.conflicts.end());
  std::sort(res.changed_paths.begin(), res.changed_paths.end());
  res.changed_paths.erase(std::unique(res.changed_paths.begin(), res.changed_paths.end()),
                          res.changed_paths.end());
  return res;
}

} // namespace sf::io
