// The HubSpot emulator's object store: CRM objects by type, with hs_object_id ids
// (incrementing from 1001, never reused) and an index per unique-value property.
// Not thread-safe: HubSpotEmulator holds its mutex around every call.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>

namespace backflow::hubspot {

struct StoredObject {
  std::string id;  // hs_object_id
  std::map<std::string, std::string> properties;
  std::string created_at;
  std::string updated_at;
};

class EmulatorStore {
 public:
  // The unique-value properties of an object type (default: email, warehouse_id).
  void SetUniqueProperties(const std::string& object_type, std::set<std::string> properties);
  void SetDefaultUniqueProperties(std::set<std::string> properties);
  bool IsUnique(const std::string& object_type, const std::string& property) const;

  // Creates or updates the object whose `id_property` equals `id`; `*created` tells which.
  // REQUIRES: IsUnique(object_type, id_property).
  const StoredObject& Upsert(const std::string& object_type, const std::string& id_property,
                             const std::string& id,
                             const std::map<std::string, std::string>& properties,
                             const std::string& now, bool* created);
  // Updates by hs_object_id; nullptr when there is no such object.
  const StoredObject* Update(const std::string& object_type, const std::string& hs_id,
                             const std::map<std::string, std::string>& properties,
                             const std::string& now);
  // The hs_object_id of the object whose unique `property` is `value`.
  std::optional<std::string> FindBy(const std::string& object_type, const std::string& property,
                                    const std::string& value) const;
  const StoredObject* Get(const std::string& object_type, const std::string& hs_id) const;

  // {"contacts":[{"id":"1001","properties":{..},"createdAt":..,"updatedAt":..}], ...}
  nlohmann::json ToJson() const;
  size_t size() const;
  void Clear();

  static nlohmann::json ObjectJson(const StoredObject& object);

 private:
  struct Type {
    std::map<std::string, StoredObject> objects;  // by hs_object_id
    std::map<std::string, std::map<std::string, std::string>> index;  // property -> value -> id
  };
  void Apply(const std::string& object_type, StoredObject& object,
             const std::map<std::string, std::string>& properties, const std::string& now);

  std::map<std::string, std::set<std::string>> unique_;
  std::set<std::string> default_unique_ = {"email", "warehouse_id"};
  std::map<std::string, Type> types_;
  long long next_id_ = 1001;
};

}  // namespace backflow::hubspot
