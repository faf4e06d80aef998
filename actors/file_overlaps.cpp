#include "actors/file_overlaps.hpp"

#include <algorithm>
#include <iterator>

namespace sf {

std::vector<file_overlap>
find_overlaps(const std::map<std::string, std::vector<std::string>>& changed) {
  std::vector<file_overlap> out;
  for (auto a = changed.begin(); a != changed.end(); ++a)
    for (auto b = std::next(a); b != changed.end(); ++b) {
      file_overlap o;
      o.first = a->first;
      o.second = b->first;
      std::set_intersection(a->second.begin(), a->second.end(), b->second.begin(),
                            b->second.end(), std::back_inserter(o.files));
      if (!o.files.empty())
        out.push_back(std::move(o));
    }
  return out;
}

std::string overlap_text(const file_overlap& o, std::size_t max_files) {
  std::string out = o.first + " and " + o.second + " both changed ";
  const auto shown = std::min(max_files, o.files.size());
  for (std::size_t i = 0; i < shown; ++i)
    out += (i == 0 ? "" : ", ") + o.files[i];
  if (o.files.size() > shown)
    out += " and " + std::to_string(o.files.size() - shown) + " more";
  return out;
}

} // namespace sf
