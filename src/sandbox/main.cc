// backflow-sandbox [--listen 127.0.0.1:8080] [--seed N] [--config sandbox.json]
//                  [--port-file PATH]
//
// Serves every emulator on one port until SIGTERM/SIGINT. The config file is JSON:
//   {"hubspot": {<emulator options>}, ..., "faults": {"hubspot": {<FaultSpec>}}}
#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "sandbox/sandbox.h"

namespace {

int WaitForSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"backflow-sandbox: local emulators of the destination APIs"};
  std::string listen = "127.0.0.1:8080";
  uint64_t seed = 1;
  std::string config_path, port_file;
  int threads = 16;
  app.add_option("--listen", listen, "host:port to serve on (port 0: any free port)");
  app.add_option("--seed", seed, "seed for random faults");
  app.add_option("--config", config_path, "JSON file with emulator options and faults");
  app.add_option("--port-file", port_file, "write the bound port to this file");
  app.add_option("--threads", threads, "server worker threads");
  CLI11_PARSE(app, argc, argv);

  // Block the stop signals before any thread starts, so only sigwait sees them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  backflow::sandbox::SandboxOptions options;
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) {
    std::cerr << "backflow-sandbox: --listen must be host:port\n";
    return 2;
  }
  options.host = listen.substr(0, colon);
  try {
    options.port = std::stoi(listen.substr(colon + 1));
  } catch (const std::exception&) {
    std::cerr << "backflow-sandbox: --listen must be host:port\n";
    return 2;
  }
  options.seed = seed;
  options.threads = threads;

  nlohmann::json faults = nlohmann::json::object();
  if (!config_path.empty()) {
    std::ifstream in(config_path);
    nlohmann::json config = nlohmann::json::parse(in, nullptr, false);
    if (!in || config.is_discarded() || !config.is_object()) {
      std::cerr << "backflow-sandbox: cannot read " << config_path << " as a JSON object\n";
      return 2;
    }
    if (config.contains("faults")) faults = config["faults"];
    config.erase("faults");
    options.emulator_options = config;
  }

  backflow::sandbox::Sandbox sandbox(options);
  try {
    sandbox.AddAll();
    for (const auto& [name, spec] : faults.items())
      sandbox.SetFaults(name, backflow::sandbox::FaultSpec::FromJson(spec));
  } catch (const std::exception& e) {
    std::cerr << "backflow-sandbox: bad config: " << e.what() << "\n";
    return 2;
  }
  auto port = sandbox.Start();
  if (!port.ok()) {
    std::cerr << "backflow-sandbox: " << port.status().ToString() << "\n";
    return 1;
  }
  if (!port_file.empty()) {
    // Written whole, then renamed, so a script polling for the file never reads half of it.
    const std::string tmp = port_file + ".tmp";
    {
      std::ofstream out(tmp);
      out << *port << "\n";
    }
    if (std::rename(tmp.c_str(), port_file.c_str()) != 0) {
      std::cerr << "backflow-sandbox: cannot write " << port_file << "\n";
      return 1;
    }
  }
  std::cout << "backflow-sandbox listening on " << sandbox.base_url() << std::endl;
  WaitForSignal();
  sandbox.Stop();
  std::cout << "backflow-sandbox stopped" << std::endl;
  return 0;
}
