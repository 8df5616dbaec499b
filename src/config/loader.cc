#include "config/loader.h"

#include <array>
#include <filesystem>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "config/commands.h"
#include "config/daemon_parser.h"
#include "config/defaults.h"
#include "config/diagnostics.h"
#include "config/file_reader.h"
#include "config/include_glob.h"
#include "config/node_reader.h"
#include "config/notify_parser.h"
#include "config/service_parser.h"
#include "config/supervisor_parser.h"
#include "config/validate.h"
#include "config/yaml_tree.h"

namespace watchd {
namespace {

// Bounds on includes: a cycle is caught by itself, these catch the rest.
constexpr size_t kMaxFiles = 1000;
constexpr size_t kMaxIncludeDepth = 16;

enum TopKey {
  kDaemon,
  kInclude,
  kDefaults,
  kSupervisors,
  kServices,
  kNotify,
  kTopKeyCount
};
constexpr std::array<std::string_view, kTopKeyCount> kTopKeys = {
    "daemon", "include", "defaults", "supervisors", "services", "notify"};

std::string Where(const SourceLocation& loc) {
  return loc.file + ":" + std::to_string(loc.line) + ":" +
         std::to_string(loc.column);
}

// Names one file however it is reached (relative path, symlink, "a/../b").
std::string FileIdentity(const std::string& path) {
  std::error_code ec;
  std::filesystem::path canonical = std::filesystem::weakly_canonical(path, ec);
  return ec ? path : canonical.string();
}

std::string DirectoryOf(const std::string& path) {
  return std::filesystem::path(path).parent_path().string();
}

struct Include {
  std::string pattern;
  SourceLocation location;
};

class Loader {
 public:
  explicit Loader(const LoadOptions& options) : options_(options) {}

  LoadResult Load(const std::string& path, const std::string* text) {
    LoadFile(path, text, nullptr);
    ValidateReferences(config_, refs_, notify_refs_, &diag_);
    if (options_.check_commands) CheckCommands(config_, &diag_);
    LoadResult result;
    result.errors = diag_.Take(config_.files);
    result.config = std::move(config_);
    return result;
  }

 private:
  // Reads `path` (or `text`, when given) and then what it includes.
  // `from` is the include entry naming it; null for the main file.
  void LoadFile(const std::string& path, const std::string* text,
                const SourceLocation* from) {
    auto fail = [&](const std::string& message) {
      diag_.Error(from ? *from : SourceLocation{}, message);
    };
    std::string id = FileIdentity(path);
    for (size_t i = 0; i < stack_.size(); ++i) {
      if (stack_[i].id != id) continue;
      std::string cycle = "include cycle: ";
      for (size_t k = i; k < stack_.size(); ++k)
        cycle += stack_[k].path + " -> ";
      return fail(cycle + path);
    }
    if (loaded_.count(id))
      return;  // included twice, not in a cycle: once is enough
    if (stack_.size() > kMaxIncludeDepth) {
      return fail("includes nested more than " +
                  std::to_string(kMaxIncludeDepth) + " files deep");
    }
    if (config_.files.size() >= kMaxFiles) {
      return fail("more than " + std::to_string(kMaxFiles) +
                  " configuration files included");
    }

    std::vector<Include> includes;
    {
      std::optional<std::string> read;
      if (text == nullptr) {
        struct stat st;
        Result<std::string> contents =
            ReadConfigFile(path, kMaxConfigFileBytes, &st);
        if (!contents.ok()) return fail(contents.status().message());
        if (options_.check_trust) {
          if (std::string why = UntrustedConfig(path, st); !why.empty()) {
            return fail(why);
          }
        }
        read = std::move(contents).value();
        text = &*read;
      } else if (text->size() > kMaxConfigFileBytes) {
        return fail(
            FileTooLarge(path, text->size(), kMaxConfigFileBytes).message());
      }
      loaded_.insert(id);
      config_.files.push_back(path);
      YamlTree tree;
      if (std::optional<TextError> error = YamlTree::Parse(*text, &tree)) {
        diag_.Error(SourceLocation{path, error->line, error->column},
                    error->message);
        return;
      }
      diag_.AllowVisits(tree.size());
      NodeReader reader(tree, path, &diag_);
      ReadTopLevel(reader, tree.root(), from == nullptr, &includes);
    }  // the text and its tree are freed before includes are read

    stack_.push_back(OpenFile{id, path});
    std::string base = DirectoryOf(path);
    for (const Include& include : includes) {
      Result<std::vector<std::string>> paths =
          ExpandInclude(include.pattern, base);
      if (!paths.ok()) {
        diag_.Error(include.location, paths.status().message());
        continue;
      }
      for (const std::string& included : *paths) {
        LoadFile(included, nullptr, &include.location);
      }
    }
    stack_.pop_back();
  }

  void ReadTopLevel(NodeReader& reader, uint32_t root, bool main_file,
                    std::vector<Include>* includes) {
    if (!reader.IsMap(root) && !reader.IsNull(root)) {
      reader.Error(root,
                   "expected a map of daemon, include, defaults, "
                   "supervisors, services and notify");
      return;
    }
    std::array<std::optional<uint32_t>, kTopKeyCount> sections;
    reader.ForEachField(root, kTopKeys, [&](const NodeReader::Field& f) {
      if (!main_file &&
          (f.index == kDaemon || f.index == kDefaults || f.index == kNotify)) {
        reader.Error(f.key_node, "'" + std::string(f.key) +
                                     "' is only allowed in the main file");
        return;
      }
      sections[f.index] = f.value;
    });
    // Defaults first: they apply to services wherever the keys are written.
    if (sections[kDaemon])
      ParseDaemon(reader, *sections[kDaemon], &config_.daemon);
    if (sections[kDefaults])
      defaults_ = ParseDefaults(reader, *sections[kDefaults]);
    if (sections[kSupervisors])
      ReadSupervisors(reader, *sections[kSupervisors]);
    if (sections[kServices]) ReadServices(reader, *sections[kServices]);
    if (sections[kNotify]) {
      ParseNotify(reader, *sections[kNotify], &config_.notify, &notify_refs_);
    }
    if (sections[kInclude]) ReadIncludes(reader, *sections[kInclude], includes);
  }

  void ReadSupervisors(NodeReader& reader, uint32_t node) {
    reader.ForEachEntry(
        node, /*unique=*/false, [&](const NodeReader::Entry& e) {
          if (!reader.CheckName(e.key_node, e.name, "supervisor")) return;
          auto it = config_.supervisors.find(e.name);
          if (it != config_.supervisors.end()) {
            reader.Error(e.key_node, "duplicate supervisor '" + e.name +
                                         "' (first defined at " +
                                         Where(it->second.location) + ")");
            return;
          }
          config_.supervisors.emplace(
              e.name, ParseSupervisor(reader, e.name, e.key_node, e.value));
        });
  }

  void ReadServices(NodeReader& reader, uint32_t node) {
    reader.ForEachEntry(
        node, /*unique=*/false, [&](const NodeReader::Entry& e) {
          if (!reader.CheckName(e.key_node, e.name, "service")) return;
          auto [it, inserted] =
              service_index_.emplace(e.name, config_.services.size());
          if (!inserted) {
            reader.Error(
                e.key_node,
                "duplicate service '" + e.name + "' (first defined at " +
                    Where(config_.services[it->second].location) + ")");
            return;
          }
          ServiceRefs& refs = refs_.emplace_back();
          config_.services.push_back(ParseService(reader, e.name, e.key_node,
                                                  e.value, defaults_, &refs));
        });
  }

  void ReadIncludes(NodeReader& reader, uint32_t node,
                    std::vector<Include>* includes) {
    if (reader.IsNull(node)) return;
    auto add = [&](uint32_t item) {
      if (std::optional<std::string> pattern = reader.NonEmptyString(item)) {
        includes->push_back(
            Include{std::move(*pattern), reader.Location(item)});
      }
    };
    if (reader.IsSequence(node)) {
      reader.ForEachItem(node, add);
    } else if (reader.IsMap(node)) {
      reader.Error(node, "expected a file pattern or a list of them");
    } else {
      add(node);
    }
  }

  struct OpenFile {
    std::string id;
    std::string path;
  };

  const LoadOptions options_;
  Diagnostics diag_;
  Config config_;
  ConfigDefaults defaults_;
  std::vector<ServiceRefs> refs_;  // parallel to config_.services
  NotifyRefs notify_refs_;
  std::unordered_map<std::string, size_t> service_index_;
  std::vector<OpenFile> stack_;  // the files whose includes are being read
  std::unordered_set<std::string> loaded_;
};

}  // namespace

LoadResult LoadConfig(const std::string& path, const LoadOptions& options) {
  return Loader(options).Load(path, nullptr);
}

LoadResult LoadConfigFromString(const std::string& text,
                                const std::string& file_name,
                                const LoadOptions& options) {
  return Loader(options).Load(file_name, &text);
}

}  // namespace watchd
