#include "destinations/hubspot/emulator_store.h"

namespace backflow::hubspot {

void EmulatorStore::SetUniqueProperties(const std::string& object_type,
                                        std::set<std::string> properties) {
  unique_[object_type] = std::move(properties);
}

void EmulatorStore::SetDefaultUniqueProperties(std::set<std::string> properties) {
  default_unique_ = std::move(properties);
}

bool EmulatorStore::IsUnique(const std::string& object_type, const std::string& property) const {
  if (property == "hs_object_id") return true;
  auto it = unique_.find(object_type);
  const std::set<std::string>& set = it == unique_.end() ? default_unique_ : it->second;
  return set.count(property) > 0;
}

void EmulatorStore::Apply(const std::string& object_type, StoredObject& object,
                          const std::map<std::string, std::string>& properties,
                          const std::string& now) {
  Type& type = types_[object_type];
  for (const auto& [name, value] : properties) {
    if (IsUnique(object_type, name)) {
      auto& idx = type.index[name];
      if (auto old = object.properties.find(name); old != object.properties.end())
        idx.erase(old->second);
      if (!value.empty()) idx[value] = object.id;
    }
    object.properties[name] = value;
  }
  object.properties["hs_object_id"] = object.id;
  object.properties["lastmodifieddate"] = now;
  object.updated_at = now;
}

const StoredObject& EmulatorStore::Upsert(const std::string& object_type,
                                          const std::string& id_property, const std::string& id,
                                          const std::map<std::string, std::string>& properties,
                                          const std::string& now, bool* created) {
  Type& type = types_[object_type];
  std::optional<std::string> existing = FindBy(object_type, id_property, id);
  StoredObject* object;
  if (existing) {
    object = &type.objects[*existing];
    *created = false;
  } else {
    std::string hs_id = std::to_string(next_id_++);
    object = &type.objects[hs_id];
    object->id = hs_id;
    object->created_at = now;
    object->properties["createdate"] = now;
    *created = true;
  }
  std::map<std::string, std::string> with_id = properties;
  with_id[id_property] = id;  // the id property always holds the input's id
  if (id_property == "hs_object_id") with_id.erase(id_property);
  Apply(object_type, *object, with_id, now);
  return *object;
}

const StoredObject* EmulatorStore::Update(const std::string& object_type,
                                          const std::string& hs_id,
                                          const std::map<std::string, std::string>& properties,
                                          const std::string& now) {
  auto t = types_.find(object_type);
  if (t == types_.end()) return nullptr;
  auto it = t->second.objects.find(hs_id);
  if (it == t->second.objects.end()) return nullptr;
  Apply(object_type, it->second, properties, now);
  return &it->second;
}

std::optional<std::string> EmulatorStore::FindBy(const std::string& object_type,
                                                 const std::string& property,
                                                 const std::string& value) const {
  auto t = types_.find(object_type);
  if (t == types_.end()) return std::nullopt;
  if (property == "hs_object_id") {
    if (t->second.objects.count(value)) return value;
    return std::nullopt;
  }
  auto idx = t->second.index.find(property);
  if (idx == t->second.index.end()) return std::nullopt;
  auto it = idx->second.find(value);
  if (it == idx->second.end()) return std::nullopt;
  return it->second;
}

const StoredObject* EmulatorStore::Get(const std::string& object_type,
                                       const std::string& hs_id) const {
  auto t = types_.find(object_type);
  if (t == types_.end()) return nullptr;
  auto it = t->second.objects.find(hs_id);
  return it == t->second.objects.end() ? nullptr : &it->second;
}

nlohmann::json EmulatorStore::ObjectJson(const StoredObject& object) {
  return {{"id", object.id},
          {"properties", object.properties},
          {"createdAt", object.created_at},
          {"updatedAt", object.updated_at},
          {"archived", false}};
}

nlohmann::json EmulatorStore::ToJson() const {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, type] : types_) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& [id, object] : type.objects) list.push_back(ObjectJson(object));
    out[name] = std::move(list);
  }
  return out;
}

size_t EmulatorStore::size() const {
  size_t n = 0;
  for (const auto& [name, type] : types_) n += type.objects.size();
  return n;
}

void EmulatorStore::Clear() {
  types_.clear();
  next_id_ = 1001;
}

}  // namespace backflow::hubspot
