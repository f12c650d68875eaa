// The emulator's Bulk API 2.0 ingest jobs.
#include <algorithm>
#include <random>

#include "destinations/salesforce/emulator.h"
#include "destinations/salesforce/emulator_state.h"

namespace backflow::salesforce {

using nlohmann::json;

namespace {

constexpr const char* kNull = "#N/A";

std::string SfError(const json& error) {
  std::string fields;
  for (const json& f : error.value("fields", json::array()))
    if (f.is_string()) fields += (fields.empty() ? "" : ",") + f.get<std::string>();
  return error.value("statusCode", "UNKNOWN_ERROR") + ":" + error.value("message", "") + ":" +
         fields + " --";
}

json JobInfo(const std::string& api_version, const SalesforceEmulator::Job& job) {
  json info = {{"id", job.id},
               {"operation", job.operation},
               {"object", job.object},
               {"createdById", "005SANDBOX0000001"},
               {"createdDate", "2026-01-01T00:00:00.000+0000"},
               {"systemModstamp", "2026-01-01T00:00:00.000+0000"},
               {"state", job.state},
               {"concurrencyMode", "Parallel"},
               {"contentType", "CSV"},
               {"apiVersion", std::stod(api_version.substr(1))},
               {"contentUrl", "services/data/" + api_version + "/jobs/ingest/" + job.id + "/batches"},
               {"lineEnding", "LF"},
               {"columnDelimiter", "COMMA"},
               {"numberRecordsProcessed", job.processed},
               {"numberRecordsFailed", job.failed}};
  if (!job.external_id_field.empty()) info["externalIdFieldName"] = job.external_id_field;
  if (!job.error_message.empty()) info["errorMessage"] = job.error_message;
  return info;
}

}  // namespace

void SalesforceEmulator::HandleCreateJob(const httplib::Request& req, httplib::Response& res) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!AdmitDataCall(req, res)) return;
  json body = json::parse(req.body, nullptr, false);
  auto refuse = [&](const std::string& message) {
    SendJson(res, 400, ErrorArray("INVALIDJOB", message));
  };
  if (!body.is_object()) return refuse("The request body must be a JSON object");
  const std::string object = body.value("object", "");
  const std::string operation = body.value("operation", "");
  const std::string ext = body.value("externalIdFieldName", "");
  if (object.empty()) return refuse("object is required");
  if (operation != "insert" && operation != "upsert" && operation != "update")
    return refuse("operation must be insert, upsert or update");
  if (operation == "upsert" && ext.empty()) return refuse("externalIdFieldName is required for upsert");
  if (body.value("contentType", "CSV") != "CSV") return refuse("contentType must be CSV");
  if (body.value("lineEnding", "LF") != "LF" && body.value("lineEnding", "LF") != "CRLF")
    return refuse("lineEnding must be LF or CRLF");
  if (body.value("columnDelimiter", "COMMA") != "COMMA") return refuse("only COMMA is emulated");

  Job job;
  job.number = ++store_->jobs_created;
  std::string n = std::to_string(job.number);
  job.id = "750SB" + std::string(13 - std::min<size_t>(13, n.size()), '0') + n;
  job.object = object;
  job.operation = operation;
  job.external_id_field = operation == "upsert" ? ext : "";
  SendJson(res, 200, JobInfo(req.matches[1], job));
  store_->jobs[job.id] = std::move(job);
}

void SalesforceEmulator::HandleUpload(const httplib::Request& req, httplib::Response& res) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!AdmitDataCall(req, res)) return;
  auto it = store_->jobs.find(req.matches[2]);
  if (it == store_->jobs.end())
    return SendJson(res, 404, ErrorArray("NOT_FOUND", "The requested resource does not exist"));
  if (it->second.state != "Open")
    return SendJson(res, 409, ErrorArray("INVALIDJOBSTATE", "The job is not Open"));
  if (req.get_header_value("Content-Type").rfind("text/csv", 0) != 0)
    return SendJson(res, 400, ErrorArray("INVALIDJOB", "Content-Type must be text/csv"));
  if (req.body.size() > options_->max_upload_bytes)
    return SendJson(res, 400, ErrorArray("INVALIDJOB", "The upload exceeds the size limit"));
  it->second.uploads.push_back(req.body);
  res.status = 201;
}

void SalesforceEmulator::HandleSetJobState(const httplib::Request& req, httplib::Response& res) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!AdmitDataCall(req, res)) return;
  auto it = store_->jobs.find(req.matches[2]);
  if (it == store_->jobs.end())
    return SendJson(res, 404, ErrorArray("NOT_FOUND", "The requested resource does not exist"));
  Job& job = it->second;
  json body = json::parse(req.body, nullptr, false);
  const std::string state = body.is_object() ? body.value("state", "") : "";
  if (state == "UploadComplete" && job.state == "Open") {
    job.state = "UploadComplete";
  } else if (state == "Aborted" && job.state != "JobComplete" && job.state != "Failed") {
    job.state = "Aborted";
  } else {
    return SendJson(res, 400, ErrorArray("INVALIDJOBSTATE",
                                         "Cannot change the job from " + job.state + " to " +
                                             (state.empty() ? "nothing" : state)));
  }
  SendJson(res, 200, JobInfo(req.matches[1], job));
}

void SalesforceEmulator::HandleGetJob(const httplib::Request& req, httplib::Response& res) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!AdmitDataCall(req, res)) return;
  auto it = store_->jobs.find(req.matches[2]);
  if (it == store_->jobs.end())
    return SendJson(res, 404, ErrorArray("NOT_FOUND", "The requested resource does not exist"));
  Job& job = it->second;
  if (job.state == "UploadComplete") job.state = "InProgress";
  else if (job.state == "InProgress") Process(job);
  SendJson(res, 200, JobInfo(req.matches[1], job));
}

void SalesforceEmulator::HandleResults(const httplib::Request& req, httplib::Response& res) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!AdmitDataCall(req, res)) return;
  auto it = store_->jobs.find(req.matches[2]);
  if (it == store_->jobs.end())
    return SendJson(res, 404, ErrorArray("NOT_FOUND", "The requested resource does not exist"));
  const Job& job = it->second;
  if (job.state != "JobComplete" && job.state != "Failed")
    return SendJson(res, 409, ErrorArray("INVALIDJOBSTATE", "The job has not finished"));
  const bool ok = req.matches[3] == "successfulResults";
  std::string csv = CsvLine(ok ? job.successful_header : job.failed_header);
  for (const CsvRow& row : ok ? job.successful : job.failed_rows) csv += CsvLine(row);
  res.status = 200;
  res.set_content(csv, "text/csv");
}

void SalesforceEmulator::Process(Job& job) {
  const std::string key = job.operation == "upsert" ? job.external_id_field
                          : job.operation == "update" ? "Id" : "";
  auto fail_job = [&](const std::string& message) {
    job.state = "Failed";
    job.error_message = message;
  };
  std::vector<std::pair<CsvRow, std::vector<CsvRow>>> documents;
  for (const std::string& upload : job.uploads) {
    Result<std::vector<CsvRow>> rows = ParseCsv(upload);
    if (!rows.ok() || rows->empty()) return fail_job("InvalidBatch : Failed to parse the CSV");
    CsvRow header = rows->front();
    rows->erase(rows->begin());
    if (!documents.empty() && header != documents.front().first)
      return fail_job("InvalidBatch : Every upload must have the same columns");
    auto rejected = options_->rejected_fields.find(job.object);
    for (const std::string& column : header)
      if (rejected != options_->rejected_fields.end() && rejected->second.count(column))
        return fail_job("InvalidBatch : Field name not found : " + column);
    if (!key.empty() && std::find(header.begin(), header.end(), key) == header.end())
      return fail_job("InvalidBatch : Field name not provided: " + key);
    documents.emplace_back(std::move(header), std::move(*rows));
  }
  CsvRow header = documents.empty() ? CsvRow{} : documents.front().first;
  job.successful_header = {"sf__Id", "sf__Created"};
  job.failed_header = {"sf__Id", "sf__Error"};
  for (const std::string& c : header) {
    job.successful_header.push_back(c);
    job.failed_header.push_back(c);
  }
  std::set<std::string> seen;
  for (const auto& [cols, rows] : documents) {
    for (const CsvRow& row : rows) {
      ++job.processed;
      auto failed = [&](const json& error) {
        CsvRow out{"", SfError(error)};
        out.insert(out.end(), row.begin(), row.end());
        job.failed_rows.push_back(std::move(out));
        ++job.failed;
      };
      auto error = [](const std::string& code, const std::string& message, const std::string& f) {
        return json{{"statusCode", code}, {"message", message}, {"fields", json::array({f})}};
      };
      if (row.size() != cols.size()) {
        failed(error("INVALID_ROW", "the row has " + std::to_string(row.size()) + " cells", ""));
        continue;
      }
      std::string key_value;
      json fields = json::object();
      for (size_t c = 0; c < cols.size(); ++c) {
        if (cols[c] == key) key_value = row[c];
        else if (row[c] == kNull) fields[cols[c]] = nullptr;
        else if (!row[c].empty()) fields[cols[c]] = row[c];
      }
      if (!key.empty() && key_value.empty()) {
        failed(error("MISSING_ARGUMENT", key + " not specified", key));
        continue;
      }
      if (!key.empty() && !seen.insert(key_value).second) {
        failed(error("DUPLICATE_EXTERNAL_ID", "Duplicate external id specified: " + key, key));
        continue;
      }
      if (json e = CheckFields(job.object, fields); !e.is_null()) {
        failed(e);
        continue;
      }
      std::string id;
      bool created = false;
      if (job.operation == "upsert") {
        std::tie(id, created) = Upsert(job.object, key, key_value, fields);
      } else if (job.operation == "update") {
        auto& by_id = store_->objects[job.object].by_id;
        auto found = by_id.find(key_value);
        if (found == by_id.end()) {
          failed(error("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", "Id"));
          continue;
        }
        for (const auto& [name, value] : fields.items()) found->second[name] = value;
        id = key_value;
      } else {
        std::string seed = job.id + ":" + std::to_string(job.processed);
        id = EmulatorRecordId(job.object, seed);
        store_->objects[job.object].by_id[id] = fields;
        store_->objects[job.object].by_id[id]["Id"] = id;
        created = true;
      }
      CsvRow out{id, created ? "true" : "false"};
      out.insert(out.end(), row.begin(), row.end());
      job.successful.push_back(std::move(out));
    }
  }
  std::mt19937_64 rng(options_->seed * 1000003ULL + static_cast<uint64_t>(job.number));
  std::shuffle(job.successful.begin(), job.successful.end(), rng);
  std::shuffle(job.failed_rows.begin(), job.failed_rows.end(), rng);
  job.state = "JobComplete";
}

}  // namespace backflow::salesforce
