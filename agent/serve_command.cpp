// The daemon's start-up and shutdown; routes are registered by their own files.
#include "agent/serve_command.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <optional>
#include <thread>

#include <boost/asio/ip/address.hpp>

#include "agent/backends/backend_choice.h"
#include "agent/execute_forwarder.h"
#include "agent/execute_service.h"
#include "agent/functions/function_service.h"
#include "agent/functions/hosted_function.h"
#include "agent/jobs/builtin_policies.h"
#include "agent/jobs/job_service.h"
#include "agent/placement.h"
#include "agent/metrics/agent_metrics.h"
#include "agent/http/server.h"
#include "agent/registry/asset_store.h"
#include "agent/registry/document_store.h"
#include "agent/registry/executor_registry.h"
#include "agent/registry/policy_registry.h"
#include "agent/routes/execute_routes.h"
#include "agent/routes/health_routes.h"
#include "agent/routes/infra_routes.h"
#include "agent/graphs/graph_record.h"
#include "agent/routes/function_routes.h"
#include "agent/routes/graph_routes.h"
#include "agent/routes/job_routes.h"
#include "agent/systemd_notify.h"
#include "agent/routes/metrics_routes.h"
#include "agent/routes/asset_routes.h"
#include "agent/routes/collection_routes.h"
#include "policies/requirements.h"
#include "common/log.h"
#include "hwinfo/hardware_info.h"
#include "kubernetes/node_inventory.h"
#include "registry-client/registration.h"
#include "policies/worker_pool.h"
#include "sandbox/sandbox.h"

namespace exa::agent {
namespace {

// A flag sets one config key; it is recorded now and applied after the file and environment.
template <typename T>
CLI::Option* flag(CLI::App* app, ServeOptions& o, const std::string& name, const std::string& help,
                  std::function<void(AgentConfig&, const T&)> set) {
  return app->add_option_function<T>(
      name,
      [&o, set](const T& value) {
        o.flag_overrides.push_back([set, value](AgentConfig& c) { set(c, value); });
      },
      help);
}

CLI::Option* switchFlag(CLI::App* app, ServeOptions& o, const std::string& name,
                        const std::string& help, std::function<void(AgentConfig&)> set) {
  return app->add_flag_function(
      name, [&o, set](int64_t) { o.flag_overrides.push_back(set); }, help);
}

Result<AgentConfig> assembleConfig(const ServeOptions& o) {
  AgentConfig config;
  if (!o.config_path.empty()) {
    EXA_ASSIGN_OR_RETURN(config, loadAgentConfig(o.config_path));
  }
  EXA_TRY(applyEnvironment(config));
  for (const auto& name : unknownEnvironmentNames(environ))
    LOG_W("environment variable {} is no configuration key; ignored", name);
  for (const auto& apply : o.flag_overrides) apply(config);
  EXA_TRY(validateAgentConfig(config));
  return config;
}

// A loopback executor_host_uri is useless to a central elsewhere (DESIGN.md §8 "Addresses").
Status checkAdvertisedUrl(const std::string& host_uri, const std::string& central_url) {
  auto isLoopbackUrl = [](const std::string& url) {
    auto start = url.find("://");
    std::string host = url.substr(start == std::string::npos ? 0 : start + 3);
    host = host.substr(0, host.find_first_of("/"));
    if (!host.empty() && host.front() == '[') host = host.substr(1, host.find(']') - 1);
    else host = host.substr(0, host.rfind(':') == std::string::npos ? host.size() : host.rfind(':'));
    if (host == "localhost") return true;
    boost::system::error_code bad;
    auto address = boost::asio::ip::make_address(host, bad);
    return !bad && address.is_loopback();
  };
  if (isLoopbackUrl(host_uri) && !isLoopbackUrl(central_url))
    return makeError(ErrorCode::kInvalidArgument,
                     "server.advertise_url: the central " + central_url + " cannot reach " +
                         host_uri + "; set advertise_url to an address it can reach");
  return {};
}

std::string hostName() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return host;
}

}  // namespace

CLI::App* addServeCommand(CLI::App& app, ServeOptions& o) {
  using S = std::string;
  using U = uint64_t;
  CLI::App* serve = app.add_subcommand("serve", "Run the agent: HTTP API over the jail");
  // A flag given twice: the last one wins, as scripts that append an override expect.
  serve->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  serve->add_option("--config", o.config_path,
                    "TOML configuration file (the package's: " + S(kDefaultConfigPath) + ")");
  flag<S>(serve, o, "--listen", "HOST:PORT to listen on (port 0: any free port)",
          [](AgentConfig& c, const S& v) { c.server.listen = v; });
  flag<U>(serve, o, "--threads", "HTTP threads (default: one per core, at least 2)",
          [](AgentConfig& c, const U& v) { c.server.threads = v; });
  flag<S>(serve, o, "--advertise-url", "URL other machines reach this agent at",
          [](AgentConfig& c, const S& v) { c.server.advertise_url = v; });
  flag<S>(serve, o, "--tls-cert", "PEM certificate chain (with --tls-key: HTTPS)",
          [](AgentConfig& c, const S& v) { c.server.tls_cert = v; });
  flag<S>(serve, o, "--tls-key", "PEM private key",
          [](AgentConfig& c, const S& v) { c.server.tls_key = v; });
  flag<S>(serve, o, "--token", "Bearer token for changing and executing routes",
          [](AgentConfig& c, const S& v) { c.auth.token = v, c.auth.token_file.clear(); });
  flag<S>(serve, o, "--token-file", "Read the bearer token from this file",
          [](AgentConfig& c, const S& v) { c.auth.token_file = v, c.auth.token.clear(); });
  switchFlag(serve, o, "--protect-reads", "Require the token on reads too",
             [](AgentConfig& c) { c.auth.protect_reads = true; });
  switchFlag(serve, o, "--insecure-no-auth", "Listen on a non-loopback address without a token",
             [](AgentConfig& c) { c.auth.insecure_no_auth = true; });
  flag<S>(serve, o, "--executor-id", "This agent's executor id (default: host name)",
          [](AgentConfig& c, const S& v) { c.executor.id = v; });
  flag<S>(serve, o, "--data-dir", "Registry database and code cache",
          [](AgentConfig& c, const S& v) { c.executor.data_dir = v; });
  flag<S>(serve, o, "--runtime-dir", "Agent runtime dir (jail mountpoint)",
          [](AgentConfig& c, const S& v) { c.executor.runtime_dir = v; });
  flag<U>(serve, o, "--max-in-flight-per-policy",
          "Concurrent calls of one policy (default: half the HTTP threads)",
          [](AgentConfig& c, const U& v) { c.execution.max_in_flight_per_policy = v; });
  flag<std::vector<S>>(serve, o, "--file-root",
                       "Allow file:// policy code under this dir (repeatable)",
                       [](AgentConfig& c, const std::vector<S>& v) { c.code.file_roots = v; })
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  flag<S>(serve, o, "--wheelhouse", "Install requirements.txt from these wheels",
          [](AgentConfig& c, const S& v) { c.code.wheelhouse = v; });
  flag<S>(serve, o, "--package-index", "Else from this index (PEP 503 URL)",
          [](AgentConfig& c, const S& v) { c.code.package_index = v; });
  flag<S>(serve, o, "--central-url", "A central Policies System to register with",
          [](AgentConfig& c, const S& v) { c.registry.central_url = v; });
  flag<S>(serve, o, "--log-level", "debug, info, warn or error",
          [](AgentConfig& c, const S& v) { c.log.level = v; });
  flag<S>(serve, o, "--log-format", "text or json (one object per line)",
          [](AgentConfig& c, const S& v) { c.log.format = v; });
  // Written by the Kubernetes function backend into a Deployment's pods, not typed by operators.
  serve->add_option("--host-function", o.host_function,
                    "Run as a function pod: deploy this one function (JSON) at start, serve it, "
                    "and do not register with the central")
      ->group("");
  serve->footer("Every flag overrides a key of the configuration file, and EXECUTOR_AGENT_<SECTION>_"
                "<KEY> variables override the file too (docs/configuration.md).");
  return serve;
}

int serve(const ServeOptions& o) {
  auto assembled = assembleConfig(o);
  if (!assembled) {
    LOG_E("configuration: {}", assembled.error().describe());
    return 2;
  }
  const AgentConfig& config = *assembled;
  std::optional<HostedFunction> hosted;
  if (!o.host_function.empty()) {
    auto parsed = parseHostedFunction(o.host_function);
    if (!parsed) {
      LOG_E("{}", parsed.error().describe());
      return 2;
    }
    hosted = std::move(*parsed);
  }
  log::setLevel(config.log.level);
  log::setFormat(config.log.format);
  auto listen = parseListenAddress(config.server.listen);
  if (!listen) {
    LOG_E("{}", listen.error().describe());
    return 2;
  }
  // Off the loopback interface, routes that execute or change policies need a token
  // (DESIGN.md §8), unless the operator explicitly says otherwise.
  boost::system::error_code bad_address;
  auto address = boost::asio::ip::make_address(listen->first, bad_address);
  if (!bad_address && !address.is_loopback() && config.auth.token.empty() &&
      !config.auth.insecure_no_auth) {
    LOG_E("refusing to listen on {} without a token; set auth.token (--token, "
          "EXECUTOR_AGENT_TOKEN), use a loopback address, or auth.insecure_no_auth", listen->first);
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
  sandbox_options.runtime_dir = config.executor.runtime_dir;
  sandbox_options.uid_base = static_cast<uid_t>(config.executor.worker_uid_base);  // validated
  sandbox_options.uid_count = static_cast<uint32_t>(config.executor.worker_uid_count);
  auto sandbox = sandbox::Sandbox::start(sandbox_options);
  if (!sandbox) {
    LOG_E("sandbox: {}", sandbox.error().describe());
    return 1;
  }
  AgentMetrics metrics(EXA_VERSION);
  policies::PoolOptions pool_options;
  pool_options.on_retire = [&metrics](const std::string& reason) {
    metrics.recordWorkerKill(reason);
  };
  policies::WorkerPool pool(**sandbox, pool_options);
  metrics.setWorkerStateSource([&pool] { return pool.workersByState(); });
  const std::string& data_dir = config.executor.data_dir;
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) {
    LOG_E("executor.data_dir {}: {}", data_dir, ec.message());
    return 1;
  }
  auto store = DocumentStore::open(data_dir + "/registry.db");
  if (!store) {
    LOG_E("registry: {}", store.error().describe());
    return 1;
  }
  AssetStore assets(**store, data_dir + "/assets");
  policies::CodeCacheOptions cache_options;
  cache_options.root = data_dir + "/code";
  cache_options.local_file = [&assets](const std::string& url) { return assets.localPathForUrl(url); };
  cache_options.fetch.file_roots = config.code.file_roots;
  policies::RequirementsOptions requirements{.wheelhouse = config.code.wheelhouse,
                                             .package_index = config.code.package_index};
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
  size_t threads = config.server.threads != 0 ? config.server.threads
                                              : std::max(2u, std::thread::hardware_concurrency());
  ExecuteLimits execute_limits;
  execute_limits.max_in_flight_per_policy = config.execution.max_in_flight_per_policy != 0
                                                ? config.execution.max_in_flight_per_policy
                                                : std::max<size_t>(1, threads / 2);
  execute_limits.host_network_policies = config.execution.host_network_policies;
  ContextStore contexts(**store, config.execution.context_max_bytes);
  ExecuteService executor(policies_registry, contexts, **cache, pool, execute_limits,
                          [&metrics](std::string_view error_type, double seconds) {
                            metrics.recordPolicyExecution(error_type, seconds);
                          });
  std::string executor_id = config.executor.id.empty() ? hostName() : config.executor.id;

  Router router;
  router.requireToken(config.auth.token, config.auth.protect_reads);
  std::vector<Cidr> peers;
  for (const auto& block : config.auth.trusted_peers) peers.push_back(*parseCidr(block));  // validated
  router.trustPeers(std::move(peers));
  addHealthRoutes(router, **sandbox, pool, **store);
  addMetricsRoute(router, metrics);
  addCollectionRoutes(router, "/policy", policies_registry);
  addCollectionRoutes(router, "/executor", executors);
  addAssetRoutes(router, assets);
  ExecuteForwarder forwarder(executors, ForwardOptions{.peer_token = config.auth.peer_token});
  auto clusters = ExecutorClusters::open(data_dir + "/clusters");
  if (!clusters) {
    LOG_E("executor clusters: {}", clusters.error().describe());
    return 1;
  }
  forwarder.throughClusters(**clusters);
  addInfraRoutes(router, executors, **clusters,
                 InfraDefaults{.central_url = config.server.advertise_url,
                               .central_token = config.auth.token,
                               .pods = podSettings(config.kubernetes, "")});
  addExecuteRoutes(router, executor, forwarder, executor_id);
  Collection jobs_registry(**store, jobCollection());
  // What a job sees of this node (context.node), and the allocator's view of this agent.
  auto collected = hwinfo::collectHardwareInfo(executor_id);
  Json hardware = collected ? *collected : Json::object();
  // On a cluster (set below, once the backends are chosen) its Nodes are this executor's
  // hardware, not the machine the agent runs on.
  std::unique_ptr<kubernetes::ClusterHardware> cluster_hardware;
  auto node = [&] {
    return Json{{"executor_id", executor_id},
                {"executor_status", (*sandbox)->zygoteReady() ? "healthy" : "busy"},
                {"executor_metadata", config.executor.metadata},
                {"executor_hardware_info",
                 cluster_hardware ? cluster_hardware->current() : hardware}};
  };
  Placement placement(executors, executor, executor_id,
                      config.execution.allocator_policy.empty()
                          ? std::string(kDefaultAllocatorUri)
                          : config.execution.allocator_policy,
                      node);
  JobOptions job_options{
      .executor_id = executor_id,
      .runners = config.execution.job_runners,
      .default_timeout = std::chrono::seconds(config.execution.job_timeout_seconds)};
  auto backends = chooseBackends(
      config, BackendContext{.execute = executor,
                             .sandbox = **sandbox,
                             .contexts = contexts,
                             .max_in_flight_per_function = execute_limits.max_in_flight_per_policy,
                             .executor_id = executor_id,
                             .agent_url = config.kubernetes.agent_url.empty()
                                              ? config.server.advertise_url
                                              : config.kubernetes.agent_url});
  if (!backends) {
    LOG_E("{}", backends.error().describe());
    return 1;
  }
  if (backends->cluster && !hosted) {
    cluster_hardware =
        std::make_unique<kubernetes::ClusterHardware>(*backends->cluster, executor_id);
    Json listed = cluster_hardware->refresh();  // a failure is logged; heartbeats retry
    LOG_I("cluster hardware: {} nodes, {} vCPUs and {} MB allocatable to our pods",
          listed["nodes"]["count"].dump(), listed["vcpus"]["count"].dump(),
          listed["memory"].dump());
  }
  JobService job_service(jobs_registry, *backends->jobs, job_options, node);
  addJobRoutes(router, job_service, placement, jobs_registry, forwarder);
  Collection functions_registry(**store, functionCollection());
  // A function pod writes each call's policy output to stderr: the container log is its log.
  std::unique_ptr<ContainerLogBackend> pod_log;
  if (hosted) pod_log = std::make_unique<ContainerLogBackend>(*backends->functions);
  FunctionService function_service(functions_registry, policies_registry,
                                   pod_log ? *pod_log : *backends->functions,
                                   contexts, executor_id);
  Collection graphs_registry(**store, graphCollection());
  addFunctionRoutes(router, function_service, functions_registry, executors, placement,
                    forwarder, [&](const std::string& function) {
                      return graphsUsing(graphs_registry, function);
                    });
  addGraphRoutes(router, graphs_registry, function_service, functions_registry, forwarder);
  ServerOptions server_options;
  server_options.host = listen->first;
  server_options.port = listen->second;
  server_options.threads = threads;
  server_options.max_body_bytes = config.server.max_body_bytes;
  server_options.tls_cert = config.server.tls_cert;
  server_options.tls_key = config.server.tls_key;
  server_options.on_request = [&metrics](const std::string& route, const HttpRequest& request,
                                         const HttpResponse& response, double seconds) {
    metrics.recordHttpRequest(route, std::string(request.method_string()),
                              response.result_int(), seconds);
  };
  HttpServer server(router, server_options);
  auto port = server.listen();
  if (!port) {
    LOG_E("{}", port.error().describe());
    return 1;
  }
  std::string scheme = config.server.tls_cert.empty() ? "http" : "https";
  std::string host = address.is_v6() ? "[" + listen->first + "]" : listen->first;
  std::string local_url = scheme + "://" + host + ":" + std::to_string(*port);
  assets.setBaseUrl(config.server.advertise_url.empty() ? local_url : config.server.advertise_url);
  if (Status builtin = onboardBuiltinPolicies(assets, policies_registry); !builtin) {
    LOG_E("built-in policies: {}", builtin.error().describe());
    return 1;
  }
  if (Status started = job_service.start(); !started) {
    LOG_E("jobs: {}", started.error().describe());
    return 1;
  }
  if (Status started = function_service.start(); !started) {
    LOG_E("functions: {}", started.error().describe());
    return 1;
  }
  // The first line on stdout says where we listen (tests and scripts read it with port 0).
  std::printf("listening on %s\n", local_url.c_str());
  std::fflush(stdout);
  LOG_I("executor {} serving on {} ({})", executor_id, local_url, (*sandbox)->limitsInForce());

  std::unique_ptr<registry_client::CentralClient> central;
  std::unique_ptr<registry_client::Registration> registration;
  if (!config.registry.central_url.empty()) {
    std::string host_uri = config.server.advertise_url.empty() ? local_url : config.server.advertise_url;
    Status usable = hosted ? Status() : checkAdvertisedUrl(host_uri, config.registry.central_url);
    if (!usable) {
      LOG_E("{}", usable.error().describe());
      return 2;
    }
    central = std::make_unique<registry_client::CentralClient>(registry_client::CentralOptions{
        .url = config.registry.central_url, .token = config.registry.central_token});
    executor.resolveMissingWith([&](const std::string& uri) -> Result<Json> {
      EXA_ASSIGN_OR_RETURN(Json policy, central->getPolicy(uri));
      auto stored = policies_registry.create(policy);
      if (!stored && stored.error().code != ErrorCode::kAlreadyExists) return stored.error();
      LOG_I("policy {} fetched from the central registry", uri);
      return policies_registry.get(uri);
    });
    registry_client::RegistrationOptions registering;
    registering.executor_id = executor_id;
    registering.host_uri = host_uri;
    registering.metadata = config.executor.metadata;
    registering.heartbeat = std::chrono::seconds(config.registry.heartbeat_seconds);
    registering.hardware = [&executor_id, &cluster_hardware] {
      // On a cluster: its Nodes now, or the last good list while the API server fails (logged).
      if (cluster_hardware) return cluster_hardware->refresh();
      auto info = hwinfo::collectHardwareInfo(executor_id);
      return info ? *info : Json::object();
    };
    // The same rule as /health: a policy could run now.
    registering.status = [&] { return (*sandbox)->zygoteReady() ? "healthy" : "busy"; };
    // A function pod only takes policies from the central (its creating agent): it is not an
    // executor anyone should place work on, so it neither registers nor sends heartbeats.
    if (!hosted) {
      registration = std::make_unique<registry_client::Registration>(*central, registering);
      registration->start();
    }
  }
  if (hosted) {
    // After the central's resolver is in place: the policy comes from the creating agent. The
    // HTTP loop has not started, so the readiness probe waits for this; a failure exits and
    // the pod's CrashLoopBackOff (with this line in its log) is what the function's status shows.
    if (Status deployed = deployHostedFunction(function_service, executor, *hosted); !deployed) {
      LOG_E("{}", deployed.error().describe());
      return 1;
    }
  }

  // Under the packaged unit: started only now, and restarted if the jail or store wedges.
  notifyReady("serving on " + local_url);
  Watchdog watchdog([&] { return (*sandbox)->zygoteReady() && (*store)->checkWritable(); });

  std::thread signals([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    LOG_I("signal {}: stopping", sig);
    notifyStopping();
    // The central stops sending work first; then the requests already here are answered.
    if (registration) registration->stop();
    server.stop();
    job_service.stop();
    backends->functions->stopAll();
  });
  server.run();
  // run() returned: either a signal stopped us, or the loop ended; make sure the waiter ends.
  pthread_kill(signals.native_handle(), SIGTERM);
  signals.join();
  return 0;
}

}  // namespace exa::agent
