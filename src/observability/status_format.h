// `backflow status [--json]`: the dashboard's data for a terminal.
//
// The table form prints, per sync, a header line (sync -> destination, the moment), the
// next scheduled run and retry-queue depth, an aligned table of the last runs (started,
// status, rows attempted/succeeded/failed/rejected) and the top failure reasons. ANSI
// colours (status only) are used only when `tty` is true; columns stay aligned either way.
// The JSON form is DashboardJson(data), pretty-printed.
#pragma once

#include <string>

#include "observability/dashboard_data.h"

namespace backflow {

struct StatusFormatOptions {
  bool tty = false;       // colour the output
  int max_runs = 5;       // rows of the runs table per sync
};

std::string FormatStatusTable(const DashboardData& data, const StatusFormatOptions& options = {});
std::string FormatStatusJson(const DashboardData& data);

}  // namespace backflow
