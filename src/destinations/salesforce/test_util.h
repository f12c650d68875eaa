// Shared pieces of the Salesforce tests: syncs, records, RSA keys, an HTTP sender.
#pragma once

#include <httplib.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <string>
#include <vector>

#include "backflow/config.h"
#include "backflow/http.h"
#include "backflow/record.h"

namespace backflow::salesforce::testing {

inline SyncConfig LeadSync(SyncMode mode = SyncMode::kUpsert) {
  SyncConfig sync;
  sync.name = "lead_scores";
  sync.destination = "sfdc";
  sync.object = "Lead";
  sync.primary_key = "user_id";
  sync.external_id_field = "ExternalId__c";
  sync.mode = mode;
  return sync;
}

inline FieldValue Str(std::string s) { return {ValueKind::kString, std::move(s)}; }
inline FieldValue Int(std::string s) { return {ValueKind::kInteger, std::move(s)}; }
inline FieldValue Null() { return {}; }

inline Record MakeRecord(std::string id, std::vector<FieldValue> values) {
  Record r;
  r.warehouse_id = std::move(id);
  r.values = std::move(values);
  return r;
}

// A batch of `n` leads user_<i> with Email and Lead_Score__c.
inline RecordBatch Leads(const SyncConfig* sync, int n, int first = 0) {
  RecordBatch batch;
  batch.sync = sync;
  batch.fields = {"Email", "Lead_Score__c"};
  for (int i = first; i < first + n; ++i)
    batch.records.push_back(MakeRecord("user_" + std::to_string(i),
                                       {Str("u" + std::to_string(i) + "@example.com"),
                                        Int(std::to_string(i))}));
  return batch;
}

struct KeyPair {
  std::string private_pem;
  std::string public_pem;
};

inline KeyPair GenerateRsaKey() {
  KeyPair out;
  EVP_PKEY* key = EVP_RSA_gen(2048);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  out.private_pem.assign(data, static_cast<size_t>(len));
  BIO_free(bio);
  bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key);
  len = BIO_get_mem_data(bio, &data);
  out.public_pem.assign(data, static_cast<size_t>(len));
  BIO_free(bio);
  EVP_PKEY_free(key);
  return out;
}

// Sends a backflow HttpRequest with httplib (the tests link no delivery transport).
inline HttpResponse Send(const HttpRequest& request) {
  HttpResponse out;
  size_t scheme = request.url.find("://");
  size_t slash = request.url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  std::string base = request.url.substr(0, slash);
  std::string path = slash == std::string::npos ? "/" : request.url.substr(slash);
  httplib::Client client(base);
  client.set_read_timeout(10, 0);
  httplib::Headers headers;
  std::string content_type = "application/octet-stream";
  for (const auto& [k, v] : request.headers) {
    if (k == "Content-Type") content_type = v;
    else headers.emplace(k, v);
  }
  auto call = [&]() -> httplib::Result {
    const char* ct = content_type.c_str();
    if (request.method == "GET") return client.Get(path.c_str(), headers);
    if (request.method == "POST") return client.Post(path.c_str(), headers, request.body, ct);
    if (request.method == "PATCH") return client.Patch(path.c_str(), headers, request.body, ct);
    if (request.method == "PUT") return client.Put(path.c_str(), headers, request.body, ct);
    return client.Delete(path.c_str(), headers);
  };
  httplib::Result res = call();
  if (!res) {
    out.error = TransportError::kConnect;
    out.error_message = httplib::to_string(res.error());
    return out;
  }
  out.status = res->status;
  out.body = res->body;
  for (const auto& [k, v] : res->headers) out.headers.emplace_back(k, v);
  return out;
}

inline HttpResponse Json(int status, const std::string& body, HttpHeaders headers = {}) {
  HttpResponse r;
  r.status = status;
  r.body = body;
  r.headers = std::move(headers);
  return r;
}

}  // namespace backflow::salesforce::testing
