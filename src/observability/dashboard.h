// The dashboard page (GET /) for sales and marketing teams: one card per sync, grouped by
// destination, headed by the operational moment it serves, in plain words ("Leads sent
// to Salesforce: 4,980 of 5,000 delivered"), colour-coded by status, with a small inline
// SVG chart of rows attempted vs delivered over recent runs, why records failed, what
// changed, the retry queue and any block or pause. Self-contained: inline CSS, no script,
// no external resources. Every value from the data is HTML-escaped.
#pragma once

#include <string>

#include "observability/dashboard_data.h"

namespace backflow {

std::string RenderDashboard(const DashboardData& data);

// &, <, >, " and ' as entities.
std::string HtmlEscape(const std::string& text);

// Plain-language names used on the page and in `status`.
std::string DestinationDisplayName(const std::string& type);  // salesforce -> Salesforce
std::string ObjectDisplayName(const std::string& object);     // Lead -> Leads
std::string StatusDisplayText(const std::string& status);     // partial -> Some records failed

}  // namespace backflow
