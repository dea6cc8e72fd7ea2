// Evaluate a batch of IAM requests with @cloud-copilot/iam-simulate (versions pinned in package-lock.json).
// stdin: {"policies": {name: document}, "requests": [{id, principal, action, resource, account, context,
//         identity: [name], boundary: [name] | null, resourcePolicy: name | null, core: bool}]}
// stdout: [{id, decision, reason, denials, allowedBy, ignoredContextKeys}] where decision is Allowed, ExplicitlyDenied,
// ImplicitlyDenied or NotEvaluated (the simulator refused the request: reason says why). Never guesses "Allowed".
const path = require("node:path");
const { runSimulation, getDenialReasons, isWildcardOnlyAction } = require("@cloud-copilot/iam-simulate");
const { loadPolicy } = require("@cloud-copilot/iam-policy");

// The core engine, for requests the validated path cannot take (see `coreAnalysis`). runUnsafeSimulation
// would do, but 0.1.173 loads the resource policy without a name and then fails reading it, so the core is
// called here the way runUnsafeSimulation calls it.
const dist = path.dirname(require.resolve("@cloud-copilot/iam-simulate"));
const { authorize } = require(path.join(dist, "core_engine/CoreSimulatorEngine.js"));
const { AwsRequestImpl } = require(path.join(dist, "request/request.js"));
const { RequestContextImpl } = require(path.join(dist, "requestContext.js"));
const { DiscoveryContextKeyConstraints } = require(path.join(dist, "context_keys/discoveryContextKeyConstraints.js"));

function readStdin() {
  return new Promise((resolve) => {
    const chunks = [];
    process.stdin.on("data", (chunk) => chunks.push(chunk));
    process.stdin.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
  });
}

function simulation(request, policies) {
  const named = (names) => (names || []).map((name) => ({ name, policy: policies[name] }));
  return {
    request: {
      principal: request.principal,
      action: request.action,
      resource: { resource: request.resource, accountId: request.account },
      contextVariables: request.context || {},
    },
    identityPolicies: named(request.identity),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    ...(request.boundary ? { permissionBoundaryPolicies: named(request.boundary) } : {}),
    ...(request.resourcePolicy ? { resourcePolicy: policies[request.resourcePolicy] } : {}),
  };
}

function denials(analysis) {
  return getDenialReasons(analysis).map((denial) => ({
    policyType: denial.policyType,
    policy: denial.policyIdentifier || denial.identifier || null,
    sid: denial.statementId || null,
    explicit: denial.denialType === "Explicit",
  }));
}

// What allowed a request: the identity and resource statements that matched it ("<policy>#<sid or index>").
function allowedBy(analysis) {
  const named = (statements) =>
    (statements || []).map((s) => `${s.policyId}#${s.statement.sid() || `statement ${s.statement.index()}`}`);
  return [
    ...named(analysis.identityAnalysis && analysis.identityAnalysis.allowStatements),
    ...named(analysis.resourceAnalysis && analysis.resourceAnalysis.allowStatements),
  ];
}

function coreAnalysis(request, policies) {
  const load = (names) => (names || []).map((name) => loadPolicy(policies[name], { name }));
  return authorize({
    request: new AwsRequestImpl(
      request.principal,
      { resource: request.resource, accountId: request.account },
      request.action,
      new RequestContextImpl(request.context || {}),
    ),
    sessionPolicy: undefined,
    identityPolicies: load(request.identity),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: request.resourcePolicy
      ? loadPolicy(policies[request.resourcePolicy], { name: request.resourcePolicy })
      : undefined,
    permissionBoundaries: request.boundary ? load(request.boundary) : undefined,
    vpcEndpointPolicies: undefined,
    simulationParameters: {
      simulationMode: "Strict",
      discoveryContextKeyConstraints: new DiscoveryContextKeyConstraints([]),
    },
    serviceSettings: { s3: {} },
  });
}

const wildcardOnlyActions = new Map();

async function wildcardOnly(action) {
  if (!wildcardOnlyActions.has(action)) {
    const [service, name] = action.split(":");
    wildcardOnlyActions.set(action, await isWildcardOnlyAction(service, name).catch(() => undefined));
  }
  return wildcardOnlyActions.get(action);
}

async function evaluate(request, policies) {
  const wildcard = await wildcardOnly(request.action);
  if (wildcard === undefined) {
    return { decision: "NotEvaluated", reason: `the IAM data has no action ${request.action}` };
  }
  // An action without resource-level permissions is authorised against "*", whatever it acts on.
  const resolved = { ...request, resource: wildcard ? "*" : request.resource };
  if (request.core) {
    // The validated path refuses two kinds of request the platform makes, so they take the core engine:
    // trust conditions on an identity provider's keys (token.actions.githubusercontent.com:sub), which the IAM
    // data does not list, and CreateModel from a model package, for which the IAM data has no such resource.
    const analysis = coreAnalysis(resolved, policies);
    return {
      decision: analysis.result,
      denials: analysis.result === "Allowed" ? [] : denials(analysis),
      allowedBy: analysis.result === "Allowed" ? allowedBy(analysis) : [],
      ignoredContextKeys: [],
    };
  }
  const response = await runSimulation(simulation(resolved, policies), {});
  if (response.resultType === "error") {
    return { decision: "NotEvaluated", reason: `simulator refused the request: ${JSON.stringify(response.errors)}` };
  }
  if (response.resultType === "wildcard") {
    return { decision: "NotEvaluated", reason: `resource ${request.resource} is a pattern, not one resource` };
  }
  const analysis = response.result.analysis;
  return {
    decision: response.overallResult,
    denials: response.overallResult === "Allowed" ? [] : denials(analysis),
    allowedBy: response.overallResult === "Allowed" ? allowedBy(analysis) : [],
    ignoredContextKeys: response.result.ignoredContextKeys || [],
  };
}

async function main() {
  const batch = JSON.parse(await readStdin());
  const results = [];
  for (const request of batch.requests) {
    results.push({ id: request.id, ...(await evaluate(request, batch.policies)) });
  }
  process.stdout.write(JSON.stringify(results));
}

main().catch((error) => {
  console.error(`iam-simulate: ${error.stack || error}`);
  process.exit(2);
});
