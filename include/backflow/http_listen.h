// The listening socket of backflow's cpp-httplib servers (the daemon's HTTP endpoint, the
// sandbox). Header-only: only code that already links cpp-httplib includes it.
#pragma once

#include <sys/socket.h>

#include <httplib.h>

#include <memory>

namespace backflow {

// httplib's default socket options add SO_REUSEPORT, which would let a second process
// share the port silently; SO_REUSEADDR alone still allows a quick restart. The returned
// cell holds the listening socket once the server has bound it (INVALID_SOCKET before).
inline std::shared_ptr<socket_t> ReuseAddressOnly(httplib::Server& server) {
  auto bound = std::make_shared<socket_t>(INVALID_SOCKET);
  server.set_socket_options([bound](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, reinterpret_cast<const void*>(&yes), sizeof yes);
    *bound = sock;
  });
  return bound;
}

}  // namespace backflow
