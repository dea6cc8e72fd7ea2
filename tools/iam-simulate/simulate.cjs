// Evaluate a batch of IAM requests with @cloud-copilot/iam-simulate (versions pinned in package-lock.json).
// stdin: {"policies": {name: document}, "requests": [{id, principal, action, resource, account, context,
//         identity: [name], boundary: [name] | null, resourcePolicy: name | null, core: bool}]}
// stdout: [{id, decision, reason, denials, allowedBy, ignoredContextKeys}] where decision is Allowed, ExplicitlyDenied,
// ImplicitlyDenied or NotEvaluated (the simulator refused the request: reason says why). Never guesses "Allowed".
const path = require("node:path");
const { runSimulation, getDenialReasons, isWildcardOnlyAction } = require("@cloud-copilot/iam-simulate");
const {
  loadPolicy,
  createValidatedPolicy,
  validateIdentityPolicy,
  validateResourcePolicy,
} = require("@cloud-copilot/iam-policy");

// The core engine, for requests the validated path cannot take (see `coreAnalysis`). runUnsafeSimulation
// would do, but 0.1.173 loads the resource policy without a name and then fails reading it, so the core is
// called here the way runUnsafeSimulation calls it.
const dist = path.dirname(require.resolve("@cloud-copilot/iam-simulate"));
const { authorize } = require(path.join(dist, "core_engine/CoreSimulatorEngine.js"));
const { AwsRequestImpl } = require(path.join(dist, "request/request.js"));
const { RequestContextImpl } = require(path.join(dist, "requestContext.js"));
const { DiscoveryContextKeyConstraints } = require(path.join(dist, "context_keys/discoveryContextKeyConstraints.js"));
const resourceTypes = require(path.join(dist, "simulation_engine/resourceTypes.js"));

// Speed, not semantics: a batch asks the same few thousand (action, resource) pairs of many principals.
// `getResourceTypesForAction` is a pure lookup in the IAM data (service, action, resource ARN -> resource types);
// the simulator's modules call it through this exports object, so one answer per pair serves the whole batch.
const lookUp = resourceTypes.getResourceTypesForAction;
resourceTypes.getResourceTypesForAction = remembered(lookUp);

// Likewise the policy library's case-insensitive comparisons (a locale-aware compare, on every condition operator
// of every statement of every request): pure functions of two strings, over a few dozen distinct operators.
const policyUtils = require(path.join(path.dirname(require.resolve("@cloud-copilot/iam-policy")), "utils.js"));
policyUtils.caseInsensitiveEquals = remembered(policyUtils.caseInsensitiveEquals);
policyUtils.caseInsensitiveEndsWith = remembered(policyUtils.caseInsensitiveEndsWith);

// A pure function of strings, answering each distinct argument list once (anything else goes straight through).
function remembered(pure) {
  const answers = new Map();
  return (...args) => {
    if (!args.every((arg) => typeof arg === "string")) {
      return pure(...args);
    }
    const key = args.join("\u0000");
    if (!answers.has(key)) {
      answers.set(key, pure(...args));
    }
    return answers.get(key);
  };
}

function readStdin() {
  return new Promise((resolve) => {
    const chunks = [];
    process.stdin.on("data", (chunk) => chunks.push(chunk));
    process.stdin.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
  });
}

// Each document is validated once per batch, with the function runSimulation would apply to it, and handed over
// as the library's ValidatedPolicy (runSimulation then reuses its errors instead of validating it per request).
function validatedOnce(policies) {
  const cache = { identity: new Map(), resource: new Map() };
  const check = { identity: validateIdentityPolicy, resource: validateResourcePolicy };
  return (kind, name) => {
    if (!cache[kind].has(name)) {
      cache[kind].set(name, createValidatedPolicy(policies[name], check[kind]));
    }
    return cache[kind].get(name);
  };
}

function simulation(request, validated) {
  const named = (names) => (names || []).map((name) => ({ name, policy: validated("identity", name) }));
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
    ...(request.resourcePolicy ? { resourcePolicy: validated("resource", request.resourcePolicy) } : {}),
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

async function evaluate(request, policies, validated) {
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
  const response = await runSimulation(simulation(resolved, validated), {});
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
  const validated = validatedOnce(batch.policies);
  const results = [];
  for (const request of batch.requests) {
    results.push({ id: request.id, ...(await evaluate(request, batch.policies, validated)) });
  }
  process.stdout.write(JSON.stringify(results));
}

main().catch((error) => {
  console.error(`iam-simulate: ${error.stack || error}`);
  process.exit(2);
});
