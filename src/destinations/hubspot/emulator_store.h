// The HubSpot emulator's object store: CRM objects by type, with hs_object_id ids
// (incrementing from 1001, never reused) and an index per unique-value property.
// Not thread-safe: HubSpotEmulator holds its mutex around every call.
//
// The store is on the benchmark's hot path (100 objects per batch request), so lookups are
// hashed and an object's properties are one flat vector (cheap to copy out as a snapshot);
// what clients see is ordered as before: properties by name, records by hs_object_id.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace backflow::hubspot {

// Property name/value pairs, as a request gives them.
using PropertyList = std::vector<std::pair<std::string, std::string>>;

// An object's properties, sorted by name with each name once: the order answers list them
// in (that of the std::map they used to be).
class Properties {
 public:
  using const_iterator = PropertyList::const_iterator;

  const std::string* Find(std::string_view name) const;
  // The value of `name`, added empty when it has none (`*added` tells).
  std::string& Slot(std::string_view name, bool* added);

  const_iterator begin() const { return entries_.begin(); }
  const_iterator end() const { return entries_.end(); }

 private:
  PropertyList entries_;
};

struct StoredObject {
  std::string id;  // hs_object_id
  Properties properties;
  std::string created_at;
  std::string updated_at;
};

class EmulatorStore {
 public:
  // The unique-value properties of an object type (default: email, warehouse_id).
  void SetUniqueProperties(const std::string& object_type, std::set<std::string> properties);
  void SetDefaultUniqueProperties(std::set<std::string> properties);
  bool IsUnique(const std::string& object_type, const std::string& property) const;
  // Every unique-value property of the type, hs_object_id included: a copy, so a batch can
  // be validated without the emulator's lock.
  std::set<std::string> UniqueProperties(const std::string& object_type) const;

  // Creates or updates the object whose `id_property` equals `id`; `*created` tells which.
  // `id_property` is set to `id` whatever `properties` says.
  // REQUIRES: IsUnique(object_type, id_property).
  const StoredObject& Upsert(const std::string& object_type, const std::string& id_property,
                             const std::string& id, const PropertyList& properties,
                             const std::string& now, bool* created);
  // Updates by hs_object_id; nullptr when there is no such object.
  const StoredObject* Update(const std::string& object_type, const std::string& hs_id,
                             const PropertyList& properties, const std::string& now);
  // The hs_object_id of the object whose unique `property` is `value`.
  std::optional<std::string> FindBy(const std::string& object_type, const std::string& property,
                                    const std::string& value) const;
  const StoredObject* Get(const std::string& object_type, const std::string& hs_id) const;

  // {"contacts":[{"id":"1001","properties":{..},"createdAt":..,"updatedAt":..}], ...},
  // each list in hs_object_id order (compared as strings).
  nlohmann::json ToJson() const;
  size_t size() const;
  void Clear();

  static nlohmann::json ObjectJson(const StoredObject& object);

 private:
  // value -> its object (node-based maps keep an element's address).
  using Index = std::unordered_map<std::string, StoredObject*>;
  struct Type {
    std::unordered_map<std::string, StoredObject> objects;  // by hs_object_id
    std::map<std::string, Index> index;                     // by unique property
  };
  const std::set<std::string>& UniqueSet(const std::string& object_type) const;
  StoredObject& Create(Type& type, const std::string& now);
  // Sets one property, keeping the index of a unique one in step.
  void SetProperty(const std::set<std::string>& unique, Type& type, StoredObject& object,
                   const std::string& name, const std::string& value);
  // Sets the given properties (but not `*skip`), then the ones HubSpot maintains.
  void Apply(const std::string& object_type, Type& type, StoredObject& object,
             const PropertyList& properties, const std::string& now,
             const std::string* skip = nullptr);
  // The object whose unique `property` is `value`, or nullptr.
  static const StoredObject* Find(const Type& type, const std::string& property,
                                  const std::string& value);

  std::map<std::string, std::set<std::string>> unique_;
  std::set<std::string> default_unique_ = {"email", "warehouse_id"};
  std::map<std::string, Type> types_;
  long long next_id_ = 1001;
};

}  // namespace backflow::hubspot
