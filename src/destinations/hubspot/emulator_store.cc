#include "destinations/hubspot/emulator_store.h"

#include <algorithm>

namespace backflow::hubspot {
namespace {

constexpr const char* kObjectId = "hs_object_id";

bool ByName(const PropertyList::value_type& entry, std::string_view name) {
  return entry.first < name;
}

}  // namespace

const std::string* Properties::Find(std::string_view name) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), name, ByName);
  return it != entries_.end() && it->first == name ? &it->second : nullptr;
}

std::string& Properties::Slot(std::string_view name, bool* added) {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), name, ByName);
  *added = it == entries_.end() || it->first != name;
  if (*added) it = entries_.emplace(it, std::string(name), std::string());
  return it->second;
}

void EmulatorStore::SetUniqueProperties(const std::string& object_type,
                                        std::set<std::string> properties) {
  unique_[object_type] = std::move(properties);
}

void EmulatorStore::SetDefaultUniqueProperties(std::set<std::string> properties) {
  default_unique_ = std::move(properties);
}

const std::set<std::string>& EmulatorStore::UniqueSet(const std::string& object_type) const {
  auto it = unique_.find(object_type);
  return it == unique_.end() ? default_unique_ : it->second;
}

bool EmulatorStore::IsUnique(const std::string& object_type, const std::string& property) const {
  return property == kObjectId || UniqueSet(object_type).count(property) > 0;
}

std::set<std::string> EmulatorStore::UniqueProperties(const std::string& object_type) const {
  std::set<std::string> properties = UniqueSet(object_type);
  properties.insert(kObjectId);
  return properties;
}

StoredObject& EmulatorStore::Create(Type& type, const std::string& now) {
  std::string hs_id = std::to_string(next_id_++);
  StoredObject& object = type.objects[hs_id];
  object.id = std::move(hs_id);
  object.created_at = now;
  bool added;
  object.properties.Slot("createdate", &added) = now;
  return object;
}

void EmulatorStore::SetProperty(const std::set<std::string>& unique, Type& type,
                                StoredObject& object, const std::string& name,
                                const std::string& value) {
  bool added = false;
  std::string& slot = object.properties.Slot(name, &added);
  if (unique.count(name) > 0) {
    Index& index = type.index[name];
    // The old value's entry goes even when another object has taken that value over since
    // (the emulator has always done so); an empty value is not indexed.
    if (!added && slot != value) index.erase(slot);
    if (!value.empty()) index.insert_or_assign(value, &object);
  }
  slot = value;
}

void EmulatorStore::Apply(const std::string& object_type, Type& type, StoredObject& object,
                          const PropertyList& properties, const std::string& now,
                          const std::string* skip) {
  const std::set<std::string>& unique = UniqueSet(object_type);
  for (const auto& [name, value] : properties) {
    // hs_object_id is always the object's own (set below); its index is never read.
    if (name == kObjectId || (skip != nullptr && name == *skip)) continue;
    SetProperty(unique, type, object, name, value);
  }
  bool added;
  object.properties.Slot(kObjectId, &added) = object.id;
  object.properties.Slot("lastmodifieddate", &added) = now;
  object.updated_at = now;
}

const StoredObject* EmulatorStore::Find(const Type& type, const std::string& property,
                                        const std::string& value) {
  if (property == kObjectId) {
    auto it = type.objects.find(value);
    return it == type.objects.end() ? nullptr : &it->second;
  }
  auto index = type.index.find(property);
  if (index == type.index.end()) return nullptr;
  auto it = index->second.find(value);
  return it == index->second.end() ? nullptr : it->second;
}

const StoredObject& EmulatorStore::Upsert(const std::string& object_type,
                                          const std::string& id_property, const std::string& id,
                                          const PropertyList& properties, const std::string& now,
                                          bool* created) {
  Type& type = types_[object_type];
  // Find() serves const callers too; the object is ours to change, as `type` is.
  StoredObject* object = const_cast<StoredObject*>(Find(type, id_property, id));
  *created = object == nullptr;
  if (*created) object = &Create(type, now);
  Apply(object_type, type, *object, properties, now, &id_property);
  // The id property always holds the input's id; hs_object_id is the object's own. An
  // object found by the id already holds it and is indexed by it: nothing to set.
  const std::string* held = object->properties.Find(id_property);
  if (id_property != kObjectId && (*created || held == nullptr || *held != id))
    SetProperty(UniqueSet(object_type), type, *object, id_property, id);
  return *object;
}

const StoredObject* EmulatorStore::Update(const std::string& object_type, const std::string& hs_id,
                                          const PropertyList& properties, const std::string& now) {
  auto t = types_.find(object_type);
  if (t == types_.end()) return nullptr;
  auto it = t->second.objects.find(hs_id);
  if (it == t->second.objects.end()) return nullptr;
  Apply(object_type, t->second, it->second, properties, now);
  return &it->second;
}

std::optional<std::string> EmulatorStore::FindBy(const std::string& object_type,
                                                 const std::string& property,
                                                 const std::string& value) const {
  auto t = types_.find(object_type);
  if (t == types_.end()) return std::nullopt;
  const StoredObject* object = Find(t->second, property, value);
  if (object == nullptr) return std::nullopt;
  return object->id;
}

const StoredObject* EmulatorStore::Get(const std::string& object_type,
                                       const std::string& hs_id) const {
  auto t = types_.find(object_type);
  if (t == types_.end()) return nullptr;
  auto it = t->second.objects.find(hs_id);
  return it == t->second.objects.end() ? nullptr : &it->second;
}

nlohmann::json EmulatorStore::ObjectJson(const StoredObject& object) {
  nlohmann::json properties = nlohmann::json::object();
  for (const auto& [name, value] : object.properties) properties[name] = value;
  return {{"id", object.id},
          {"properties", std::move(properties)},
          {"createdAt", object.created_at},
          {"updatedAt", object.updated_at},
          {"archived", false}};
}

nlohmann::json EmulatorStore::ToJson() const {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, type] : types_) {
    std::vector<const StoredObject*> objects;
    objects.reserve(type.objects.size());
    for (const auto& [id, object] : type.objects) objects.push_back(&object);
    std::sort(objects.begin(), objects.end(),
              [](const StoredObject* a, const StoredObject* b) { return a->id < b->id; });
    nlohmann::json list = nlohmann::json::array();
    for (const StoredObject* object : objects) list.push_back(ObjectJson(*object));
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
