// The daemon's start-up and shutdown; routes are registered by their own files.
#include "agent/serve_command.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <thread>

#include <boost/asio/ip/address.hpp>

#include "agent/execute_service.h"
#include "agent/http/server.h"
#include "agent/registry/asset_store.h"
#include "agent/registry/document_store.h"
#include "agent/registry/executor_registry.h"
#include "agent/registry/policy_registry.h"
#include "agent/routes/execute_routes.h"
#include "agent/routes/health_routes.h"
#include "agent/routes/asset_routes.h"
#include "agent/routes/collection_routes.h"
#include "policies/requirements.h"
#include "common/log.h"
#include "policies/worker_pool.h"
#include "sandbox/sandbox.h"

namespace exa::agent {
namespace {

Result<std::pair<std::string, uint16_t>> parseListen(const std::string& listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos)
    return makeError(ErrorCode::kInvalidArgument, "--listen wants HOST:PORT, got " + listen);
  std::string host = listen.substr(0, colon);
  if (host.size() > 1 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int port = -1;
  try {
    port = std::stoi(listen.substr(colon + 1));
  } catch (const std::exception&) {
  }
  if (port < 0 || port > 65535)
    return makeError(ErrorCode::kInvalidArgument, "--listen: bad port in " + listen);
  return std::make_pair(host, static_cast<uint16_t>(port));
}

}  // namespace

CLI::App* addServeCommand(CLI::App& app, ServeOptions& o) {
  CLI::App* serve = app.add_subcommand("serve", "Run the agent: HTTP API over the jail");
  serve->add_option("--listen", o.listen, "HOST:PORT to listen on (port 0: any free port)");
  serve->add_option("--runtime-dir", o.runtime_dir, "Agent runtime dir (jail mountpoint)");
  serve->add_option("--threads", o.threads, "HTTP threads (default: one per core, at least 2)");
  serve->add_option("--max-in-flight-per-policy", o.max_in_flight_per_policy,
                    "Concurrent calls of one policy (default: half the HTTP threads)");
  serve->add_option("--data-dir", o.data_dir, "Registry database and code cache");
  serve->add_option("--executor-id", o.executor_id, "This agent's executor id (default: host name)");
  serve->add_option("--file-root", o.file_roots, "Allow file:// policy code under this dir");
  serve->add_option("--wheelhouse", o.wheelhouse, "Install requirements.txt from these wheels");
  serve->add_option("--package-index", o.package_index, "Else from this index (PEP 503 URL)");
  serve->add_option("--token", o.token, "Bearer token for changing and executing routes")
      ->envname("EXECUTOR_AGENT_TOKEN");
  serve->add_flag("--protect-reads", o.protect_reads, "Require the token on reads too");
  serve->add_flag("--insecure-no-auth", o.insecure_no_auth,
                  "Listen on a non-loopback address without a token");
  return serve;
}

int serve(const ServeOptions& o) {
  auto listen = parseListen(o.listen);
  if (!listen) {
    LOG_E("{}", listen.error().describe());
    return 2;
  }
  // Off the loopback interface, routes that execute or change policies need a token
  // (DESIGN.md §8), unless the operator explicitly says otherwise.
  boost::system::error_code bad_address;
  auto address = boost::asio::ip::make_address(listen->first, bad_address);
  if (!bad_address && !address.is_loopback() && o.token.empty() && !o.insecure_no_auth) {
    LOG_E("refusing to listen on {} without a token; set --token (or EXECUTOR_AGENT_TOKEN), "
          "use a loopback address, or --insecure-no-auth", listen->first);
    return 2;
  }
  // SIGTERM/SIGINT are taken by one thread with sigwait: blocked here, before any thread
  // exists, so that every thread inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  sandbox::SandboxOptions sandbox_options;
  sandbox_options.runtime_dir = o.runtime_dir;
  auto sandbox = sandbox::Sandbox::start(sandbox_options);
  if (!sandbox) {
    LOG_E("sandbox: {}", sandbox.error().describe());
    return 1;
  }
  policies::WorkerPool pool(**sandbox, policies::PoolOptions{});
  std::error_code ec;
  std::filesystem::create_directories(o.data_dir, ec);
  if (ec) {
    LOG_E("--data-dir {}: {}", o.data_dir, ec.message());
    return 1;
  }
  auto store = DocumentStore::open(o.data_dir + "/registry.db");
  if (!store) {
    LOG_E("registry: {}", store.error().describe());
    return 1;
  }
  AssetStore assets(**store, o.data_dir + "/assets");
  policies::CodeCacheOptions cache_options;
  cache_options.root = o.data_dir + "/code";
  cache_options.local_file = [&assets](const std::string& url) { return assets.localPathForUrl(url); };
  cache_options.fetch.file_roots = o.file_roots;
  policies::RequirementsOptions requirements{.wheelhouse = o.wheelhouse,
                                             .package_index = o.package_index};
  cache_options.install_requirements = [&](const std::string& code, const std::string& deps) {
    return policies::installRequirements(**sandbox, code, deps, requirements);
  };
  auto cache = policies::CodeCache::open(cache_options);
  if (!cache) {
    LOG_E("code cache: {}", cache.error().describe());
    return 1;
  }
  Collection policies_registry(**store, policyCollection());
  Collection executors(**store, executorCollection());
  ExecuteLimits execute_limits;
  size_t threads = o.threads != 0 ? o.threads : std::max(2u, std::thread::hardware_concurrency());
  execute_limits.max_in_flight_per_policy =
      o.max_in_flight_per_policy != 0 ? o.max_in_flight_per_policy : std::max<size_t>(1, threads / 2);
  ExecuteService executor(policies_registry, **store, **cache, pool, execute_limits);
  std::string executor_id = o.executor_id;
  if (executor_id.empty()) {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    executor_id = host;
  }

  Router router;
  router.requireToken(o.token, o.protect_reads);
  addHealthRoutes(router, **sandbox, pool);
  addCollectionRoutes(router, "/policy", policies_registry);
  addCollectionRoutes(router, "/executor", executors);
  addAssetRoutes(router, assets);
  ExecuteForwarder forwarder(executors, ForwardOptions{});
  addExecuteRoutes(router, executor, forwarder, executor_id);
  ServerOptions server_options;
  server_options.host = listen->first;
  server_options.port = listen->second;
  server_options.threads = threads;
  HttpServer server(router, server_options);
  auto port = server.listen();
  if (!port) {
    LOG_E("{}", port.error().describe());
    return 1;
  }
  assets.setBaseUrl("http://" + listen->first + ":" + std::to_string(*port));
  // The first line on stdout says where we listen (tests and scripts read it with port 0).
  std::printf("listening on http://%s:%u\n", listen->first.c_str(), *port);
  std::fflush(stdout);
  LOG_I("executor {} serving on {}:{} ({})", executor_id, listen->first, *port,
        (*sandbox)->limitsInForce());

  std::thread signals([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    LOG_I("signal {}: stopping", sig);
    server.stop();
  });
  server.run();
  // run() returned: either a signal stopped us, or the loop ended; make sure the waiter ends.
  pthread_kill(signals.native_handle(), SIGTERM);
  signals.join();
  return 0;
}

}  // namespace exa::agent
