#include "state/sql_util.h"

#include <ctime>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <pqxx/tablewriter>

namespace backflow::sql {

std::string Timestamp(WallTime t) {
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  long long secs = micros / 1000000;
  long long frac = micros % 1000000;
  if (frac < 0) {  // before 1970: floor, so the fraction stays positive
    frac += 1000000;
    --secs;
  }
  std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d.%06lld+00", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
  return buf;
}

WallTime FromMicros(long long micros) {
  return WallTime(std::chrono::duration_cast<WallTime::duration>(std::chrono::microseconds(micros)));
}

std::string EpochMicros(const std::string& column) {
  return "(extract(epoch FROM " + column + ") * 1000000)::bigint";
}

std::string TextArray(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char c : values[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

void CopyText::Separate() {
  if (row_open_) text_.push_back('\t');
  row_open_ = true;
}

CopyText& CopyText::Text(const std::string& value) {
  Separate();
  size_t plain = 0;  // runs of characters that need no escape are appended whole
  for (size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (c != '\\' && c != '\t' && c != '\n' && c != '\r') continue;
    text_.append(value, plain, i - plain);
    plain = i + 1;
    text_ += c == '\\' ? "\\\\" : c == '\t' ? "\\t" : c == '\n' ? "\\n" : "\\r";
  }
  text_.append(value, plain, std::string::npos);
  return *this;
}

CopyText& CopyText::Null() {
  Separate();
  text_ += "\\N";
  return *this;
}

CopyText& CopyText::Raw(const char* value) {
  Separate();
  text_ += value;
  return *this;
}

void CopyText::EndRow() {
  text_.push_back('\n');
  row_open_ = false;
}

void CopyText::CopyInto(pqxx::transaction_base& tx, const std::string& table,
                        const std::vector<std::string>& columns) {
  if (text_.empty()) return;
  text_.pop_back();  // write_raw_line ends the last row itself
  // libpqxx 6 sends text already in COPY's format only through tablewriter (stream_to
  // keeps write_raw_line private); it is deprecated in favour of stream_to, whose
  // per-field escaping this buffer exists to avoid.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  pqxx::tablewriter copy(tx, table, columns.begin(), columns.end());
#pragma GCC diagnostic pop
  copy.write_raw_line(text_);
  copy.complete();
  text_.clear();
}

std::vector<std::string> ParseTextArray(const std::string& literal) {
  std::vector<std::string> out;
  if (literal.size() < 2 || literal.front() != '{') return out;
  std::string cur;
  bool quoted = false, in_quotes = false, any = false;
  for (size_t i = 1; i + 1 < literal.size(); ++i) {
    char c = literal[i];
    if (in_quotes) {
      if (c == '\\' && i + 2 < literal.size()) cur += literal[++i];
      else if (c == '"') in_quotes = false;
      else cur += c;
    } else if (c == '"') {
      in_quotes = quoted = any = true;
    } else if (c == ',') {
      out.push_back(cur);
      cur.clear();
      quoted = false;
    } else {
      cur += c;
      any = true;
    }
  }
  if (any || quoted || !out.empty()) out.push_back(cur);
  return out;
}

std::string RunColumns(const std::string& alias) {
  const std::string p = alias.empty() ? "" : alias + ".";
  return p + "run_id, " + p + "sync_name, " + p + "destination, " + p + "kind, " +
         EpochMicros(p + "started_at") + ", " + EpochMicros(p + "finished_at") + ", " + p +
         "status, " + p + "rows_read, " + p + "rows_changed, " + p + "rows_attempted, " + p +
         "rows_succeeded, " + p + "rows_failed, " + p + "rows_rejected, " + p + "rows_skipped, " +
         p + "rows_deleted, " + p + "api_requests, " + p + "error_summary::text, coalesce(" + p +
         "message, ''), " + p + "forced";
}

RunRecord RunFromRow(const pqxx::row& row) {
  RunRecord r;
  r.run_id = row[0].as<long long>();
  r.sync_name = row[1].c_str();
  r.destination = row[2].c_str();
  r.kind = row[3].c_str();
  r.started_at = FromMicros(row[4].as<long long>());
  if (!row[5].is_null()) r.finished_at = FromMicros(row[5].as<long long>());
  r.status = row[6].c_str();
  RunCounts& c = r.counts;
  c.rows_read = row[7].as<long long>();
  c.rows_changed = row[8].as<long long>();
  c.rows_attempted = row[9].as<long long>();
  c.rows_succeeded = row[10].as<long long>();
  c.rows_failed = row[11].as<long long>();
  c.rows_rejected = row[12].as<long long>();
  c.rows_skipped = row[13].as<long long>();
  c.rows_deleted = row[14].as<long long>();
  c.api_requests = row[15].as<long long>();
  nlohmann::json summary = nlohmann::json::parse(row[16].c_str(), nullptr, false);
  if (summary.is_object()) {
    for (const auto& [reason, count] : summary.items())
      if (count.is_number()) r.error_summary[reason] = count.get<long long>();
  }
  r.message = row[17].c_str();
  r.forced = row[18].as<bool>();
  return r;
}

}  // namespace backflow::sql
