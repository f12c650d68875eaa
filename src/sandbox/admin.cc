// The admin API under /_admin/ (see sandbox.h). Admin requests are not logged or
// counted, and faults never apply to them.
#include "sandbox/sandbox.h"

namespace backflow::sandbox {
namespace {

using nlohmann::json;

void Send(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

}  // namespace

void Sandbox::RegisterAdmin() {
  auto with_emulator = [this](auto then) {
    return [this, then](const httplib::Request& req, httplib::Response& res) {
      const std::string name = req.matches[1];
      Emulator* e = Find(name);
      if (e == nullptr) return Send(res, 404, {{"error", "no emulator named " + name}});
      then(*e, req, res);
    };
  };
  server_->Get(R"(/_admin/([a-z0-9_]+)/records)",
               with_emulator([](Emulator& e, const httplib::Request&, httplib::Response& res) {
                 Send(res, 200, e.Records());
               }));
  server_->Get(R"(/_admin/([a-z0-9_]+)/requests)",
               with_emulator([this](Emulator& e, const httplib::Request&, httplib::Response& res) {
                 Send(res, 200, RequestLog(e.name()));
               }));
  server_->Get(R"(/_admin/([a-z0-9_]+)/counters)",
               with_emulator([this](Emulator& e, const httplib::Request&, httplib::Response& res) {
                 Send(res, 200, Counters(e.name()));
               }));
  server_->Post(R"(/_admin/([a-z0-9_]+)/faults)",
                with_emulator([this](Emulator& e, const httplib::Request& req,
                                     httplib::Response& res) {
                  try {
                    json body = req.body.empty() ? json::object() : json::parse(req.body);
                    FaultSpec spec = FaultSpec::FromJson(body);
                    json echo = spec.ToJson();
                    SetFaults(e.name(), std::move(spec));
                    Send(res, 200, echo);
                  } catch (const std::exception& ex) {
                    Send(res, 400, {{"error", std::string("bad fault spec: ") + ex.what()}});
                  }
                }));
  server_->Post("/_admin/reset", [this](const httplib::Request&, httplib::Response& res) {
    Reset();
    Send(res, 200, {{"reset", true}});
  });
  server_->Get("/_admin/emulators", [this](const httplib::Request&, httplib::Response& res) {
    json names = json::array();
    for (const auto& e : emulators_) names.push_back(e->name());
    Send(res, 200, names);
  });
}

}  // namespace backflow::sandbox
