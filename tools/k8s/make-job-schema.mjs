#!/usr/bin/env node
/**
 * Derives the standalone, strict JSON schema of a Kubernetes batch/v1 Job from the Kubernetes OpenAPI v2
 * spec (`api/openapi-spec/swagger.json` of kubernetes/kubernetes, or a verbatim copy of it):
 *
 *   node tools/k8s/make-job-schema.mjs <swagger.json> <out.json> --source "<repo>@<commit>:<path> (<what it is>)"
 *
 * What it does to the spec's definitions, the way kubernetes-json-schema's "standalone-strict" variant does:
 * - keeps `io.k8s.api.batch.v1.Job` and every definition it references (`$ref: #/definitions/...`), nothing else;
 * - strict: every object schema with `properties` gets `additionalProperties: false` (a misspelled field fails);
 * - `apiVersion` and `kind` of the Job are fixed to `batch/v1` and `Job` (from `x-kubernetes-group-version-kind`);
 * - `format: int-or-string` and `resource.Quantity` accept a string or a number, as the API server does;
 * - descriptions and `x-kubernetes-*` extensions are dropped (they do not validate anything).
 * The output records the source and the SHA-256 of the input file in `$comment`.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';

const ROOT = 'io.k8s.api.batch.v1.Job';
const QUANTITY = 'io.k8s.apimachinery.pkg.api.resource.Quantity';
const PREFIX = '#/definitions/';

function usage(message) {
  process.stderr.write(`${message}\nUsage: node tools/k8s/make-job-schema.mjs <swagger.json> <out.json> --source "<repo>@<commit>:<path>"\n`);
  process.exit(2);
}

const [input, output, flag, source] = process.argv.slice(2);
if (!input || !output || flag !== '--source' || !source) usage('missing arguments');
const bytes = readFileSync(input);
const spec = JSON.parse(bytes.toString('utf8'));
const definitions = spec.definitions;
if (!definitions?.[ROOT]) usage(`${input} has no definitions.${ROOT}: is it the Kubernetes OpenAPI v2 spec (swagger.json)?`);

/** The names of the definitions `name` needs, itself included. */
function closure(name, seen = new Set()) {
  if (seen.has(name)) return seen;
  if (!definitions[name]) throw new Error(`${input}: definition ${name} is referenced but missing`);
  seen.add(name);
  JSON.stringify(definitions[name], (key, value) => {
    if (key === '$ref' && typeof value === 'string' && value.startsWith(PREFIX)) closure(value.slice(PREFIX.length), seen);
    return value;
  });
  return seen;
}

const STRING_OR_NUMBER = (number) => ({ oneOf: [{ type: 'string' }, { type: number }] });

/** One schema node made strict and bare (see the header). */
function transform(node) {
  if (Array.isArray(node)) return node.map(transform);
  if (node === null || typeof node !== 'object') return node;
  if (node.format === 'int-or-string') return STRING_OR_NUMBER('integer');
  const out = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'description' || key.startsWith('x-kubernetes-')) continue;
    out[key] = key === 'properties' ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, transform(v)])) : transform(value);
  }
  if (out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

const names = [...closure(ROOT)].sort();
const result = {};
for (const name of names) result[name] = name === QUANTITY ? STRING_OR_NUMBER('number') : transform(definitions[name]);
const gvk = definitions[ROOT]['x-kubernetes-group-version-kind']?.[0];
if (!gvk) throw new Error(`${input}: ${ROOT} has no x-kubernetes-group-version-kind`);
const job = result[ROOT];
job.properties.apiVersion = { type: 'string', enum: [gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version] };
job.properties.kind = { type: 'string', enum: [gvk.kind] };
const { properties, additionalProperties, type } = job;
const schema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $comment: `Standalone strict JSON schema of a Kubernetes batch/v1 Job${spec.info?.version && spec.info.version !== 'unversioned' ? ` (Kubernetes ${spec.info.version})` : ''}, derived by tools/k8s/make-job-schema.mjs from ${source}, sha256 ${createHash('sha256').update(bytes).digest('hex')}. Do not edit: rerun the script.`,
  type,
  properties,
  additionalProperties,
  definitions: result,
};
writeFileSync(output, `${JSON.stringify(schema, null, 1)}\n`);
process.stdout.write(`${output}: ${names.length} definitions\n`);
