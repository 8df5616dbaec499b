// The whole config loader on any text: YAML parsing, the typed sections,
// defaults and cross-reference validation, as `watchd --check-config`
// runs it. It must never crash, hang or throw; every error names the file
// and a place in it. A text it accepts must load to the same services,
// supervisors and notify targets when moved down a line: what a reload
// compares is what the files say, not where.
//
// `include:` reads other files, which would make a run depend on the
// machine: a text with an include key at the top is skipped (the include
// rules have their own tests in loader_include_test.cc).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/config_diff.h"
#include "config/loader.h"
#include "config/yaml_tree.h"
#include "fuzz/fuzz_check.h"

namespace {

bool HasTopLevelInclude(const std::string& text) {
  watchd::YamlTree tree;
  if (watchd::YamlTree::Parse(text, &tree)) return false;  // never read
  if (tree.node(tree.root()).kind != watchd::YamlTree::Kind::kMap) {
    return false;
  }
  auto children = tree.children(tree.root());
  for (size_t i = 0; i < children.size(); i += 2) {
    if (tree.node(children[i]).value == "include") return true;
  }
  return false;
}

watchd::LoadResult Load(const std::string& text) {
  watchd::LoadResult r =
      watchd::LoadConfigFromString(text, "w.yaml", {.check_commands = false});
  for (const watchd::ConfigError& e : r.errors) {
    FUZZ_CHECK(e.location.file == "w.yaml");
    FUZZ_CHECK(e.location.line >= 1);
    FUZZ_CHECK(e.location.column >= 1);
    FUZZ_CHECK(!e.message.empty());
  }
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (HasTopLevelInclude(text)) return 0;
  watchd::LoadResult first = Load(text);
  if (!first.ok()) return 0;
  watchd::LoadResult moved = Load("# moved down a line\n" + text);
  // A byte-order mark is only allowed first.
  if (!moved.ok()) return 0;
  const watchd::Config& a = first.config;
  const watchd::Config& b = moved.config;
  FUZZ_CHECK(a.services.size() == b.services.size());
  for (size_t i = 0; i < a.services.size(); ++i) {
    FUZZ_CHECK(watchd::SameService(a.services[i], a.services[i]));
    FUZZ_CHECK(watchd::SameService(a.services[i], b.services[i]));
  }
  FUZZ_CHECK(a.supervisors.size() == b.supervisors.size());
  for (auto ia = a.supervisors.begin(), ib = b.supervisors.begin();
       ia != a.supervisors.end(); ++ia, ++ib) {
    FUZZ_CHECK(ia->first == ib->first);
    FUZZ_CHECK(watchd::SameSupervisor(ia->second, ib->second));
  }
  FUZZ_CHECK(a.notify.targets.size() == b.notify.targets.size());
  for (auto ia = a.notify.targets.begin(), ib = b.notify.targets.begin();
       ia != a.notify.targets.end(); ++ia, ++ib) {
    FUZZ_CHECK(ia->first == ib->first);
    FUZZ_CHECK(watchd::SameNotifyTarget(ia->second, ib->second));
  }
  return 0;
}
