#include "destinations/salesforce/bulk.h"

#include <map>
#include <nlohmann/json.hpp>
#include <string_view>
#include <unordered_map>

#include "backflow/config.h"
#include "destinations/salesforce/csv.h"
#include "destinations/salesforce/request_builder.h"
#include "destinations/salesforce/response_classifier.h"

namespace backflow::salesforce {
namespace {

using nlohmann::json;

bool IsUpdate(const SyncConfig& sync) { return sync.mode == SyncMode::kUpdate; }

std::string KeyColumn(const SyncConfig& sync) {
  return IsUpdate(sync) ? "Id" : sync.external_id_field.value_or("");
}

std::string_view KeyOf(const SyncConfig& sync, const Record& r) {
  if (!IsUpdate(sync)) return r.warehouse_id;
  return r.destination_id ? std::string_view(*r.destination_id) : std::string_view();
}

// The columns after the key: mapped fields, minus any that would collide with it.
std::vector<size_t> ValueColumns(const std::vector<std::string>& fields, const std::string& key) {
  std::vector<size_t> out;
  for (size_t i = 0; i < fields.size(); ++i)
    if (fields[i] != key && fields[i] != "Id") out.push_back(i);
  return out;
}

Status FailureStatus(const char* step, const HttpResponse& response) {
  if (response.error != TransportError::kNone)
    return Status::Unavailable(std::string("Bulk API ") + step + ": " + response.error_message);
  BatchResult r = ClassifyRequestFailure(response);
  std::string what = std::string("Bulk API ") + step + " answered HTTP " +
                     std::to_string(response.status) + " (" + r.category + ")";
  if (r.verdict == Verdict::kRetry || r.verdict == Verdict::kReauthenticate ||
      r.verdict == Verdict::kPause)
    return Status::Unavailable(what);
  return Status::Failed(what + ": " + r.reason);
}

std::optional<BulkJobState> ParseState(const std::string& s) {
  static const std::map<std::string, BulkJobState> kStates = {
      {"Open", BulkJobState::kOpen},
      {"UploadComplete", BulkJobState::kUploadComplete},
      {"InProgress", BulkJobState::kInProgress},
      {"JobComplete", BulkJobState::kJobComplete},
      {"Failed", BulkJobState::kFailed},
      {"Aborted", BulkJobState::kAborted}};
  auto it = kStates.find(s);
  if (it == kStates.end()) return std::nullopt;
  return it->second;
}

// "CODE:message:Field1,Field2 --" -> an outcome that names the code and the fields.
RecordOutcome FailedRow(const std::string& sf_error) {
  std::string text = sf_error;
  if (text.size() >= 3 && text.compare(text.size() - 3, 3, " --") == 0) text.resize(text.size() - 3);
  // The message in the middle may quote the value, so only the code and fields are kept.
  size_t first = text.find(':');
  size_t last = text.rfind(':');
  std::string code = text.substr(0, first);
  std::string fields = last != std::string::npos && last > first ? text.substr(last + 1) : "";
  RecordOutcome o;
  o.kind = IsRetryableStatusCode(code) ? OutcomeKind::kRetryable : OutcomeKind::kPermanent;
  o.category = code.empty() ? "UNKNOWN_ERROR" : code;
  o.reason = o.category;
  if (!fields.empty()) o.reason += " on " + fields;
  return o;
}

}  // namespace

std::string CsvValue(const FieldValue& value) {
  switch (value.kind) {
    case ValueKind::kNull: return "#N/A";
    case ValueKind::kBoolean: return value.AsBool() ? "true" : "false";
    case ValueKind::kTimestamp: return value.AsIso8601();
    default: return value.text;
  }
}

SalesforceBulk::SalesforceBulk(std::shared_ptr<const SalesforceSettings> settings,
                               const SessionHolder* session, size_t max_upload_bytes)
    : settings_(std::move(settings)), session_(session), max_upload_bytes_(max_upload_bytes) {}

bool SalesforceBulk::NeedsReauthentication(const HttpResponse& response) const {
  return response.error == TransportError::kNone && response.status == 401;
}

std::vector<BulkPart> SalesforceBulk::EncodeParts(const RecordBatch& batch) const {
  const SyncConfig& sync = *batch.sync;
  const std::string key = KeyColumn(sync);
  const std::vector<size_t> columns = ValueColumns(batch.fields, key);
  CsvRow header{key};
  for (size_t c : columns) header.push_back(batch.fields[c]);
  const std::string header_line = CsvLine(header);

  const std::span<const Record> all(batch.records);
  std::vector<BulkPart> parts;
  size_t first = 0;  // of the last part's records
  auto start_part = [&](size_t at) {
    BulkPart p;
    p.sync = batch.sync;
    p.fields = batch.fields;
    p.body = header_line;
    parts.push_back(std::move(p));
    first = at;
  };
  CsvRow row;
  for (size_t i = 0; i < all.size(); ++i) {
    const Record& r = all[i];
    row.assign(1, std::string(KeyOf(sync, r)));
    for (size_t c : columns) row.push_back(c < r.values.size() ? CsvValue(r.values[c]) : "#N/A");
    const std::string line = CsvLine(row);
    // A record larger than an upload still gets a part of its own; Salesforce refuses it.
    if (parts.empty() || (!parts.back().records.empty() &&
                          parts.back().body.size() + line.size() > max_upload_bytes_))
      start_part(i);
    parts.back().body += line;
    parts.back().records = all.subspan(first, i + 1 - first);
  }
  return parts;
}

std::string SalesforceBulk::JobUrl(const std::string& job_id) const {
  return DataUrl(*settings_, session_->Current()) + "/jobs/ingest/" + job_id;
}

HttpRequest SalesforceBulk::BuildCreateJob(const SyncConfig& sync) const {
  json body = {{"object", sync.object},
               {"operation", IsUpdate(sync) ? "update" : "upsert"},
               {"contentType", "CSV"},
               {"lineEnding", "LF"}};
  if (!IsUpdate(sync)) body["externalIdFieldName"] = sync.external_id_field.value_or("");
  HttpRequest req;
  req.method = "POST";
  Session session = session_->Current();
  req.url = DataUrl(*settings_, session) + "/jobs/ingest";
  req.headers = DataHeaders(session);
  req.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  req.idempotent = false;  // a second create makes a second (empty, harmless) job
  return req;
}

Result<BulkJob> SalesforceBulk::ParseJob(const HttpResponse& response) const {
  if (response.error != TransportError::kNone || (response.status != 200 && response.status != 201))
    return FailureStatus("job request", response);
  json body = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (!body.is_object() || !body.contains("id") || !body["id"].is_string() ||
      !body.contains("state") || !body["state"].is_string())
    return Status::Unavailable("Bulk API answered a job request without id and state");
  auto state = ParseState(body["state"].get<std::string>());
  if (!state) return Status::Failed("Bulk API reported an unknown job state");
  BulkJob job;
  job.id = body["id"].get<std::string>();
  job.state = *state;
  auto number = [&](const char* k) -> long long {
    return body.contains(k) && body[k].is_number() ? body[k].get<long long>() : 0;
  };
  job.records_processed = number("numberRecordsProcessed");
  job.records_failed = number("numberRecordsFailed");
  if (body.contains("errorMessage") && body["errorMessage"].is_string())
    job.error_message = body["errorMessage"].get<std::string>();
  return job;
}

HttpRequest SalesforceBulk::BuildUpload(const BulkJob& job, const BulkPart& part) const {
  HttpRequest req;
  req.method = "PUT";
  req.url = JobUrl(job.id) + "/batches";
  req.headers = DataHeaders(session_->Current(), "text/csv");
  req.body = part.body;
  return req;
}

Status SalesforceBulk::AcceptUpload(const HttpResponse& response) const {
  if (response.error == TransportError::kNone && (response.status == 201 || response.status == 200))
    return Status::Ok();
  return FailureStatus("upload", response);
}

HttpRequest SalesforceBulk::SetState(const BulkJob& job, const char* state) const {
  HttpRequest req;
  req.method = "PATCH";
  req.url = JobUrl(job.id);
  req.headers = DataHeaders(session_->Current());
  req.body = json{{"state", state}}.dump();
  return req;
}

HttpRequest SalesforceBulk::BuildClose(const BulkJob& job) const {
  return SetState(job, "UploadComplete");
}

HttpRequest SalesforceBulk::BuildAbort(const BulkJob& job) const { return SetState(job, "Aborted"); }

HttpRequest SalesforceBulk::BuildPoll(const BulkJob& job) const {
  HttpRequest req;
  req.method = "GET";
  req.url = JobUrl(job.id);
  req.headers = DataHeaders(session_->Current());
  return req;
}

HttpRequest SalesforceBulk::BuildResults(const BulkJob& job, BulkResultSet which) const {
  HttpRequest req;
  req.method = "GET";
  req.url = JobUrl(job.id) +
            (which == BulkResultSet::kSuccessful ? "/successfulResults/" : "/failedResults/");
  req.headers = {{"Authorization", "Bearer " + session_->Current().access_token.Reveal()},
                 {"Accept", "text/csv"}};
  return req;
}

Result<std::vector<RecordOutcome>> SalesforceBulk::ParseResults(const BulkPart& part,
                                                                const HttpResponse& successful,
                                                                const HttpResponse& failed) const {
  const SyncConfig& sync = *part.sync;
  const std::string key = KeyColumn(sync);
  // Views of the records' own keys: a job's results are matched without copying them.
  std::unordered_map<std::string_view, size_t> index;
  index.reserve(part.records.size());
  for (size_t i = 0; i < part.records.size(); ++i) index.emplace(KeyOf(sync, part.records[i]), i);

  std::vector<RecordOutcome> outcomes(part.records.size());
  std::vector<bool> seen(part.records.size(), false);
  for (const HttpResponse* response : {&successful, &failed}) {
    const bool ok_set = response == &successful;
    if (response->error != TransportError::kNone || response->status != 200)
      return FailureStatus(ok_set ? "successfulResults" : "failedResults", *response);
    // Row by row: a job's results are as large as its upload.
    CsvReader reader(response->body);
    CsvRow header;
    Result<bool> more = reader.Next(&header);
    if (!more.ok()) return Status::Unavailable("Bulk API results: " + more.status().message());
    if (!*more) continue;
    auto column = [&](const std::string& name) -> std::optional<size_t> {
      for (size_t c = 0; c < header.size(); ++c)
        if (header[c] == name) return c;
      return std::nullopt;
    };
    auto key_col = column(key);
    auto id_col = column("sf__Id");
    auto extra_col = column(ok_set ? "sf__Created" : "sf__Error");
    if (!key_col || !id_col || !extra_col)
      return Status::Failed("Bulk API results lack the " + key + ", sf__Id or " +
                            (ok_set ? "sf__Created" : "sf__Error") + " column");
    CsvRow row;
    for (;;) {
      more = reader.Next(&row);
      if (!more.ok()) return Status::Unavailable("Bulk API results: " + more.status().message());
      if (!*more) break;
      if (row.size() != header.size()) continue;
      auto it = index.find(row[*key_col]);
      if (it == index.end() || seen[it->second]) continue;
      seen[it->second] = true;
      RecordOutcome& o = outcomes[it->second];
      if (ok_set) {
        o.kind = OutcomeKind::kDelivered;
        o.destination_id = row[*id_col];
        o.created = row[*extra_col] == "true";
      } else {
        o = FailedRow(row[*extra_col]);
      }
    }
  }
  for (size_t i = 0; i < outcomes.size(); ++i) {
    if (seen[i]) continue;
    outcomes[i].kind = OutcomeKind::kRetryable;
    outcomes[i].category = "BULK_UNPROCESSED";
    outcomes[i].reason = "the bulk job did not process the record";
  }
  return outcomes;
}

}  // namespace backflow::salesforce
