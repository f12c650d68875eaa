#include "destinations/braze/braze.h"

#include <set>

#include "destinations/braze/request_builder.h"
#include "destinations/braze/response_classifier.h"

namespace backflow {
namespace {

class BrazeDestination final : public Destination {
 public:
  explicit BrazeDestination(BrazeSettings settings)
      : settings_(std::move(settings)), host_(HostOf(settings_.base_url)) {}

  // legacy_limits only widens the events and purchases arrays; backflow sends attributes
  // only, so the limit is 75 either way.
  size_t MaxBatchRecords(const SyncConfig& /*sync*/) const override {
    return kBrazeMaxTrackObjects;
  }
  bool UpdateNeedsDestinationId() const override { return false; }

  HttpRequest BuildUpsert(const RecordBatch& batch) const override {
    return BuildBrazeTrack(settings_, batch);
  }
  BatchResult ClassifyUpsert(const RecordBatch& batch,
                             const HttpResponse& response) const override {
    return ClassifyBrazeTrack(batch, response, host_);
  }

  size_t MaxDeleteRecords() const override { return kBrazeMaxDeleteIds; }
  HttpRequest BuildDelete(const SyncConfig& /*sync*/,
                          const std::vector<std::string>& destination_ids) const override {
    return BuildBrazeDelete(settings_, destination_ids);
  }
  BatchResult ClassifyDelete(const std::vector<std::string>& destination_ids,
                             const HttpResponse& response) const override {
    return ClassifyBrazeDelete(destination_ids, response, host_);
  }

  RateLimitHints ReadRateLimit(const HttpResponse& response) const override {
    return ReadBrazeRateLimit(response);
  }

 private:
  const BrazeSettings settings_;
  const std::string host_;
};

class BrazeType final : public DestinationType {
 public:
  const char* type() const override { return "braze"; }
  RateLimitConfig DefaultRateLimit() const override {
    RateLimitConfig r;
    r.requests = kBrazeDefaultRequests;
    r.per = Millis(kBrazeDefaultWindowMs);
    return r;
  }
  size_t MaxBatchRecords() const override { return kBrazeMaxTrackObjects; }

  std::shared_ptr<const DestinationSettings> ParseSettings(YamlReader& reader) const override {
    return ParseBrazeSettings(reader);
  }

  void ValidateSync(const DestinationConfig& /*destination*/, const SyncConfig& sync,
                    const std::string& sync_path, ConfigErrors* errors) const override {
    auto add = [&](std::string path, std::string message) {
      ConfigError e;
      e.path = std::move(path);
      e.message = std::move(message);
      errors->push_back(std::move(e));
    };
    if (sync.object != "users")
      add(sync_path + ".object",
          "a Braze sync writes user profiles: object must be users, got '" + sync.object + "'");
    if (sync.external_id_field || sync.id_property)
      add(sync_path + ".match",
          "Braze matches users by external_id, which is the primary key; "
          "remove match");
    // These name the profile rather than set an attribute; the primary key already does.
    static const std::set<std::string> kReserved = {"external_id", "braze_id", "user_alias",
                                                    "_update_existing_only"};
    for (const FieldMapping& f : sync.fields)
      if (kReserved.count(f.destination_field))
        add(sync_path + ".fields." + f.destination_field,
            "is a Braze user identifier, not an attribute; the primary key is "
            "sent as external_id");
  }

  std::unique_ptr<Destination> Create(const DestinationConfig& config) const override {
    return NewBrazeDestination(config.As<BrazeSettings>());
  }
};

}  // namespace

const DestinationType& BrazeDestinationType() {
  static const BrazeType kType;
  return kType;
}

std::unique_ptr<Destination> NewBrazeDestination(BrazeSettings settings) {
  return std::make_unique<BrazeDestination>(std::move(settings));
}

}  // namespace backflow
