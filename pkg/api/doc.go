// Package api is Brine's HTTP API server (JSON under /api/v1), the way
// brinectl, chatbots and deployers drive the master.
//
// What the package promises:
//   - every endpoint needs a bearer token; tokens are compared by their
//     SHA-256 hash, in constant time, and never logged;
//   - a job is accepted only if every minion its target resolves to is
//     covered by one of the token's permissions whose function regexes match
//     the function (admin tokens may do anything); a refusal is a 403 whose
//     reason names the function or the minion;
//   - key management needs an admin token; non-admin tokens see only their
//     own jobs and the minions their permissions cover;
//   - errors are JSON {"error", "code"} with a status that says what went
//     wrong: 400 (naming the field), 401, 403, 404, 409, 422 (target matched
//     nothing), 503 (store down);
//   - POST /jobs with wait and GET /jobs/{jid}/wait hold the request only as
//     long as its context lives; GET /events streams the master's event bus
//     as server-sent events with heartbeats, and a slow reader loses events
//     (and is told how many) instead of slowing the master.
//
// The master implements [Backend] and mounts the handler [New] returns;
// docs/api.md and docs/openapi.yaml describe the wire format, whose types
// live in pkg/api/types.
package api
