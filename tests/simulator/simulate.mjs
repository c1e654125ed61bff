// Decides each request of a JSON array read on stdin with @cloud-copilot/iam-simulate, an
// independent implementation of IAM's policy evaluation, and writes the decisions as a JSON
// array (same order). Test-time only: the simulator is AGPL-3.0-or-later and runs as its own
// process; nothing of it is part of the platform.
//
// A request: {principal, action, resource, resourceAccount, context, identity: [doc],
// boundary: [doc] | null, scps: [[doc]] (root first, account last), rcps: [[doc]],
// resourcePolicy: doc | null}. A decision: {decision: "allow" | "deny", result, error?}.
import { runSimulation } from '@cloud-copilot/iam-simulate'

const FULL_ACCESS = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] }

const named = (prefix, documents) => documents.map((policy, index) => ({ name: `${prefix}-${index}`, policy }))

// AWS attaches FullAWSAccess at every level of the organization unless it is removed; the
// platform's SCPs only deny.
const levels = (prefix, documents) =>
  documents.map((level, index) => ({
    orgIdentifier: `${prefix}-${index}`,
    policies: named(`${prefix}-${index}`, prefix === 'scp' ? [FULL_ACCESS, ...level] : level)
  }))

async function decide(request) {
  const simulation = {
    request: {
      principal: request.principal,
      action: request.action,
      resource: { resource: request.resource, accountId: request.resourceAccount },
      contextVariables: request.context
    },
    identityPolicies: named('identity', request.identity),
    serviceControlPolicies: levels('scp', request.scps),
    resourceControlPolicies: levels('rcp', request.rcps)
  }
  if (request.boundary) simulation.permissionBoundaryPolicies = named('boundary', request.boundary)
  if (request.resourcePolicy) simulation.resourcePolicy = request.resourcePolicy
  try {
    const outcome = await runSimulation(simulation, { simulationMode: 'Strict' })
    if (outcome.resultType === 'error') {
      return { decision: 'error', error: outcome.errors.message }
    }
    return {
      decision: outcome.overallResult === 'Allowed' ? 'allow' : 'deny',
      result: outcome.overallResult,
      ignoredContextKeys: outcome.result?.ignoredContextKeys ?? []
    }
  } catch (error) {
    return { decision: 'error', error: String(error?.message ?? error) }
  }
}

const chunks = []
for await (const chunk of process.stdin) chunks.push(chunk)
const requests = JSON.parse(Buffer.concat(chunks).toString('utf8'))
const decisions = []
for (const request of requests) decisions.push(await decide(request))
process.stdout.write(JSON.stringify(decisions))
