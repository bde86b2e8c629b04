#include "agent/routes/job_routes.h"

#include "agent/http/error_status.h"
#include "agent/routes/collection_routes.h"

namespace exa::agent {
namespace {

// 201 with the job's id at the top, as the original answered, and the record under data.
HttpResponse submitted(const Json& record) {
  HttpResponse response = jsonReply(http::status::created, record);
  Json body = *parseJson(response.body());
  body["job_id"] = record["job_id"];
  response.body() = dumpJson(body);
  response.prepare_payload();
  return response;
}

HttpResponse submit(JobService& service, Placement& placement, const ExecuteForwarder& forwarder,
                    const std::string& executor_id, const HttpRequest& request) {
  auto body = requestJson(request);
  if (!body) return errorReply(body.error());
  auto job = parseJobRequest(*body);
  if (!job) return errorReply(job.error());
  auto placed = placement.place({job->name, job->policy_rule_uri, job->node_selector}, executor_id);
  if (!placed) return errorReply(placed.error());
  if (*placed != service.ownId())
    return forwarder.relay(*placed, "/jobs/submit/" + *placed, *body,
                           std::string(request[kRequestIdHeader]));
  auto record = service.enqueue(*job);
  if (!record) return errorReply(record.error());
  return submitted(*record);
}

}  // namespace

void addJobRoutes(Router& router, JobService& service, Placement& placement, Collection& jobs,
                  const ExecuteForwarder& forwarder) {
  router.add(http::verb::post, "/jobs/submit/<executor_id>",
             [&](const HttpRequest& request, const PathParams& p) {
               return submit(service, placement, forwarder, p.at("executor_id"), request);
             });
  // The seed's "empty executor_id": /jobs/submit/ (and without the slash).
  for (const char* empty : {"/jobs/submit/", "/jobs/submit"})
    router.add(http::verb::post, empty, [&](const HttpRequest& request, const PathParams&) {
      return submit(service, placement, forwarder, "", request);
    });
  router.add(http::verb::post, "/create_job", [&](const HttpRequest& request, const PathParams&) {
    auto body = requestJson(request);
    if (!body) return errorReply(body.error());
    auto job = parseJobRequest(*body);
    if (!job) return errorReply(job.error());
    auto record = service.enqueue(*job);
    if (!record) return errorReply(record.error());
    return submitted(*record);
  });
  router.add(http::verb::get, "/jobs/<job_id>",
             [&](const HttpRequest&, const PathParams& p) {
               auto record = jobs.get(p.at("job_id"));
               if (!record) return errorReply(record.error());
               return jsonReply(http::status::ok, *record);
             }, Access::kRead);
  router.add(http::verb::post, "/jobs/query", [&](const HttpRequest& request, const PathParams&) {
    return queryReply(jobs, request);
  }, Access::kRead);
}

}  // namespace exa::agent
