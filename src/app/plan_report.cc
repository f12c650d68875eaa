#include "app/plan_report.h"

#include <algorithm>
#include <iomanip>
#include <nlohmann/json.hpp>

namespace backflow {
namespace {

nlohmann::json ToJson(const PlanRecord& r) {
  nlohmann::json changes = nlohmann::json::array();
  for (const auto& c : r.changes) {
    changes.push_back({{"field", c.field},
                       {"old", c.old_value ? nlohmann::json(*c.old_value) : nlohmann::json()},
                       {"new", c.new_value ? nlohmann::json(*c.new_value) : nlohmann::json()}});
  }
  nlohmann::json j = {{"warehouse_id", r.warehouse_id}, {"operation", r.operation},
                      {"changes", changes}};
  if (!r.reasons.empty()) j["reasons"] = r.reasons;
  return j;
}

std::string Cell(const std::optional<std::string>& v, size_t width) {
  std::string s = v ? *v : "-";
  if (s.size() > width) s = s.substr(0, width - 1) + "…";
  return s;
}

}  // namespace

Status PlanWriter::Open(const std::string& output_path, const std::string& sync_name) {
  sync_name_ = sync_name;
  if (output_path.empty()) return Status::Ok();
  json_ = std::fopen(output_path.c_str(), "w");
  if (json_ == nullptr) return Status::InvalidArgument("cannot write --output " + output_path);
  std::fprintf(json_, "{\"sync\":%s,\"records\":[", nlohmann::json(sync_name).dump().c_str());
  return Status::Ok();
}

void PlanWriter::Add(PlanRecord record) {
  ++total_records_;
  if (json_) {
    std::fprintf(json_, "%s\n%s", first_ ? "" : ",",
                 ToJson(record).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    first_ = false;
  }
  if (head_.size() < kTableRecords) head_.push_back(std::move(record));
}

Status PlanWriter::Finish(std::ostream& out, long long run_id) {
  const PlanTotals& t = totals_;
  const bool wrote_json = json_ != nullptr;
  if (json_) {
    nlohmann::json totals = {{"would_create", t.would_create}, {"would_update", t.would_update},
                             {"unchanged", t.unchanged},       {"rejected", t.rejected},
                             {"skipped", t.skipped},           {"would_delete", t.would_delete},
                             {"held_for_retry", t.held},       {"blocked", t.blocked},
                             {"run_id", run_id}};
    if (t.blocked) totals["blocked_reason"] = t.blocked_reason;
    std::fprintf(json_, "],\"totals\":%s}\n", totals.dump().c_str());
    bool ok = std::fclose(json_) == 0;
    json_ = nullptr;
    if (!ok) return Status::Failed("could not finish writing the plan file");
  }
  out << "Plan for " << sync_name_ << " (run " << run_id << ", nothing was sent)\n";
  if (t.blocked) out << "  BLOCKED: " << t.blocked_reason << "\n";
  out << "  would create  " << t.would_create << "\n"
      << "  would update  " << t.would_update << "\n"
      << "  unchanged     " << t.unchanged << "\n"
      << "  rejected      " << t.rejected << "\n"
      << "  skipped       " << t.skipped << "\n";
  if (t.would_delete) out << "  would delete  " << t.would_delete << "\n";
  if (t.held) out << "  held (retry)  " << t.held << "\n";
  if (head_.empty()) return Status::Ok();
  out << "\n  " << std::left << std::setw(20) << "RECORD" << std::setw(8) << "OP"
      << std::setw(22) << "FIELD" << std::setw(26) << "OLD" << "NEW\n";
  for (const PlanRecord& r : head_) {
    std::string id = r.warehouse_id.size() > 19 ? r.warehouse_id.substr(0, 18) + "…" : r.warehouse_id;
    if (r.changes.empty()) {
      out << "  " << std::setw(20) << id << std::setw(8) << r.operation
          << (r.reasons.empty() ? "" : r.reasons[0]) << "\n";
      continue;
    }
    bool first = true;
    for (const PlanChange& c : r.changes) {
      out << "  " << std::setw(20) << (first ? id : "") << std::setw(8)
          << (first ? r.operation : "") << std::setw(22) << Cell(c.field, 21) << std::setw(26)
          << Cell(c.old_value, 25) << Cell(c.new_value, 40) << "\n";
      first = false;
    }
  }
  if (total_records_ > static_cast<long long>(head_.size()))
    out << "  ... and " << (total_records_ - static_cast<long long>(head_.size()))
        << " more records" << (wrote_json ? " (all of them are in the --output file)" : " (use --output FILE for all of them)") << "\n";
  return Status::Ok();
}

PlanWriter::~PlanWriter() {
  if (json_) std::fclose(json_);
}

}  // namespace backflow
