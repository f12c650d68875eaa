#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "config/config.h"
#include "config/sections.h"

namespace backflow {
namespace fs = std::filesystem;
using config_internal::LoadYamlFile;

namespace config_internal {

namespace {
std::string SyntaxMessage(const YAML::Exception& e) {
  std::string msg = "invalid YAML";
  if (!e.mark.is_null())
    msg += " at line " + std::to_string(e.mark.line + 1) + ", column " +
           std::to_string(e.mark.column + 1);
  return msg + ": " + e.msg;
}
}  // namespace

std::optional<YAML::Node> LoadYamlFile(const std::string& file, const std::string& path,
                                       ConfigErrors* errors) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    errors->push_back({path, "cannot read file " + file, file});
    return std::nullopt;
  }
  std::stringstream text;
  text << in.rdbuf();
  try {
    return YAML::Load(text.str());
  } catch (const YAML::Exception& e) {
    errors->push_back({path, SyntaxMessage(e), file});
    return std::nullopt;
  }
}

}  // namespace config_internal

namespace {

struct Document {
  std::string file;  // empty for text
  YAML::Node root;
};

const std::set<std::string> kSections = {"warehouse", "observability", "destinations", "syncs"};

// Merges documents at the level of top-level sections and their named children,
// remembering which file each came from.
struct Merged {
  YAML::Node root{YAML::NodeType::Map};
  std::map<std::string, std::string> origin;  // "syncs.x" or "warehouse" -> file

  std::string FileOf(const std::string& section, const std::string& child = "") const {
    if (!child.empty()) {
      auto it = origin.find(section + "." + child);
      if (it != origin.end()) return it->second;
    }
    auto it = origin.find(section);
    return it == origin.end() ? std::string() : it->second;
  }
};

void MergeDocument(const Document& doc, Merged* merged, ConfigErrors* errors) {
  if (doc.root.IsNull()) return;  // an empty file
  if (!doc.root.IsMap()) {
    errors->push_back({"", "expected a mapping of sections (warehouse, destinations, ...)",
                       doc.file});
    return;
  }
  for (const auto& kv : doc.root) {
    std::string section = kv.first.as<std::string>();
    YAML::Node value = kv.second;
    YAML::Node existing = merged->root[section];
    bool defined = existing.IsDefined();
    if (value.IsMap() && (!defined || existing.IsMap())) {
      if (!defined) {
        merged->root[section] = YAML::Node(YAML::NodeType::Map);
        merged->origin[section] = doc.file;
      }
      YAML::Node target = merged->root[section];
      for (const auto& child : value) {
        std::string key = child.first.as<std::string>();
        std::string path = section + "." + key;
        if (target[key].IsDefined()) {
          std::string first = merged->origin[path];
          errors->push_back({path,
                             first == doc.file ? std::string("is defined twice")
                                               : "is defined in both " + first + " and " + doc.file,
                             doc.file});
          continue;
        }
        target[key] = child.second;
        merged->origin[path] = doc.file;
      }
      continue;
    }
    if (defined) {
      errors->push_back(
          {section, "is defined in both " + merged->origin[section] + " and " + doc.file, doc.file});
      continue;
    }
    merged->root[section] = value;
    merged->origin[section] = doc.file;
  }
}

std::string DirOf(const std::string& file, const std::string& fallback) {
  if (file.empty()) return fallback;
  return fs::path(file).parent_path().string();
}

Result<Config> Build(const std::vector<Document>& docs, const EnvLookup& env,
                     ConfigErrors* errors, const std::string& text_base_dir) {
  using namespace config_internal;
  Merged merged;
  for (const Document& doc : docs) MergeDocument(doc, &merged, errors);

  Config config;
  for (const Document& doc : docs)
    if (!doc.file.empty()) config.source_files.push_back(doc.file);

  for (const auto& kv : merged.root) {
    std::string section = kv.first.as<std::string>();
    if (!kSections.count(section))
      errors->push_back({section, "unknown key", merged.FileOf(section)});
  }

  // A section reader for mappings whose children all come from one place (or whatever
  // file defined the section first).
  auto section_reader = [&](const std::string& section) -> std::optional<YamlReader> {
    YAML::Node node = merged.root[section];
    if (!node.IsDefined() || node.IsNull()) return std::nullopt;
    YamlReader r(node, section, errors, env, merged.FileOf(section));
    if (!r.IsMap()) {
      r.ErrorHere("expected a mapping");
      return std::nullopt;
    }
    return r;
  };

  if (auto w = section_reader("warehouse")) config.warehouse = ParseWarehouse(*w);
  else errors->push_back({"warehouse", "is required (a mapping with dsn)", ""});
  if (auto o = section_reader("observability")) config.observability = ParseObservability(*o);

  std::set<std::string> declared;
  if (auto d = section_reader("destinations")) {
    for (const std::string& name : d->Keys()) {
      declared.insert(name);
      std::string file = merged.FileOf("destinations", name);
      YamlReader r(merged.root["destinations"][name], d->PathOf(name), errors, env, file);
      if (!r.IsMap()) {
        r.ErrorHere("expected a mapping with at least type");
        continue;
      }
      if (auto dest = ParseDestination(name, r)) config.destinations.emplace(name, std::move(*dest));
    }
  }
  if (auto s = section_reader("syncs")) {
    for (const std::string& name : s->Keys()) {
      std::string file = merged.FileOf("syncs", name);
      YamlReader r(merged.root["syncs"][name], s->PathOf(name), errors, env, file);
      if (!r.IsMap()) {
        r.ErrorHere("expected a mapping");
        continue;
      }
      std::vector<std::string> contract_files;
      auto sync = ParseSync(name, r, config.destinations, declared, DirOf(file, text_base_dir),
                            &contract_files);
      for (auto& f : contract_files) config.source_files.push_back(f);
      if (sync) config.syncs.emplace(name, std::move(*sync));
    }
  }

  if (!errors->empty()) return Status::InvalidConfig(errors->front().ToString());
  return config;
}

}  // namespace

Result<Config> ParseConfigText(const std::string& yaml, const EnvLookup& env,
                               ConfigErrors* errors) {
  return ParseConfigText(yaml, env, errors, "");
}

Result<Config> ParseConfigText(const std::string& yaml, const EnvLookup& env,
                               ConfigErrors* errors, const std::string& base_dir) {
  ConfigErrors local;
  if (errors == nullptr) errors = &local;
  errors->clear();
  Document doc;
  try {
    doc.root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    std::string msg = "invalid YAML";
    if (!e.mark.is_null()) msg += " at line " + std::to_string(e.mark.line + 1);
    errors->push_back({"", msg + ": " + e.msg, ""});
    return Status::InvalidConfig(errors->front().ToString());
  }
  return Build({doc}, env, errors, base_dir);
}

Result<Config> LoadConfig(const std::string& path, const EnvLookup& env, ConfigErrors* errors) {
  ConfigErrors local;
  if (errors == nullptr) errors = &local;
  errors->clear();

  std::vector<std::string> files;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    for (const auto& entry : fs::directory_iterator(path, ec))
      if (entry.is_regular_file() && entry.path().extension() == ".yaml")
        files.push_back(entry.path().string());
    std::sort(files.begin(), files.end());
    if (files.empty()) errors->push_back({"", "no *.yaml files in directory " + path, path});
  } else if (fs::exists(path, ec)) {
    files.push_back(path);
  } else {
    errors->push_back({"", "cannot read config file " + path + " (no such file)", ""});
  }

  std::vector<Document> docs;
  for (const std::string& f : files)
    if (auto root = LoadYamlFile(f, "", errors)) docs.push_back({f, *root});
  if (!errors->empty()) return Status::InvalidConfig(errors->front().ToString());
  return Build(docs, env, errors, "");
}

std::string DefaultConfigPath() {
  std::error_code ec;
  if (fs::exists("backflow.yaml", ec)) return "./backflow.yaml";
  if (fs::exists("/etc/backflow/backflow.yaml", ec)) return "/etc/backflow/backflow.yaml";
  return "./backflow.yaml";
}

}  // namespace backflow
