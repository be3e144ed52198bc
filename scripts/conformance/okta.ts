/**
 * Okta's SCIM 2.0 spec test is a Runscope/BlazeMeter export with no npm runner: this interprets it. Steps are
 * requests with {{variable}} templating, assertions (source, property, comparison, value), variables taken
 * from the response, and small JavaScript scripts run in a vm context with `response`, `variables`, `assert`.
 * `pause` steps are not slept: they let Okta's own service settle and mean nothing to a local bridge.
 */
import assert from "node:assert";
import { readFileSync } from "node:fs";
import vm from "node:vm";
import type { SuiteFailure, SuiteResult } from "./microsoft";

interface Assertion {
  source: string;
  comparison: string;
  property?: string;
  value: string | null;
}

interface Step {
  step_type: string;
  note?: string;
  method?: string;
  url?: string;
  headers?: Record<string, string[]>;
  body?: string;
  assertions?: Assertion[];
  variables?: { source: string; name: string; property: string }[];
  scripts?: string[];
}

interface ResponseInfo {
  status: number;
  body: string;
  json: unknown;
  ms: number;
}

type Variables = Map<string, string>;

function template(text: string, vars: Variables): string {
  return text.replace(/\{\{\s*([\w.]+)\s*\}\}/g, (whole, name: string) => vars.get(name) ?? whole);
}

/** Runscope property paths: `Resources[0].name.familyName`. */
function propertyOf(json: unknown, path: string): unknown {
  let node: unknown = json;
  for (const part of path.split(".").flatMap((p) => p.split(/\[(\d+)\]/).filter(Boolean))) {
    if (node === null || node === undefined) return undefined;
    node = (node as Record<string, unknown>)[/^\d+$/.test(part) ? Number(part) : part];
  }
  return node;
}

function sourceValue(a: Assertion, response: ResponseInfo): unknown {
  switch (a.source) {
    case "response_status":
      return response.status;
    case "response_time":
      return response.ms;
    case "response_json":
      return a.property ? propertyOf(response.json, a.property) : response.json;
    default:
      throw new Error(`unknown assertion source ${a.source}`);
  }
}

function check(a: Assertion, actual: unknown, expected: string | null): boolean {
  const text = (v: unknown) => (typeof v === "object" && v !== null ? JSON.stringify(v) : String(v));
  switch (a.comparison) {
    case "equal_number":
      return Number(actual) === Number(expected);
    case "equal":
      return text(actual) === expected;
    case "not_empty":
      return actual !== undefined && actual !== null && actual !== "" && !(Array.isArray(actual) && actual.length === 0);
    case "has_value":
      return Array.isArray(actual) && actual.some((v) => text(v) === expected);
    case "contains":
      return Array.isArray(actual) ? actual.some((v) => text(v) === expected) : text(actual).includes(String(expected));
    case "is_a_number":
      return typeof actual === "number";
    case "is_less_than":
      return Number(actual) < Number(expected);
    default:
      throw new Error(`unknown comparison ${a.comparison}`);
  }
}

async function send(step: Step, vars: Variables): Promise<ResponseInfo> {
  const headers: Record<string, string> = {};
  for (const [name, values] of Object.entries(step.headers ?? {})) headers[name] = template(values.join(", "), vars);
  const started = performance.now();
  const response = await fetch(template(step.url!, vars), {
    method: step.method,
    headers,
    body: step.body ? template(step.body, vars) : undefined,
  });
  const body = await response.text();
  const ms = performance.now() - started;
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  return { status: response.status, body, json, ms };
}

function runScript(code: string, context: Record<string, unknown>): void {
  vm.runInNewContext(code, context, { timeout: 1000 });
}

export async function runOktaSuite(specPath: string, initialScriptPath: string, base: string, authorization: string): Promise<SuiteResult> {
  const spec = JSON.parse(readFileSync(specPath, "utf8")) as { steps: Step[] };
  const vars: Variables = new Map([
    ["SCIMBaseURL", base],
    ["auth", authorization],
  ]);
  const variables = { get: (k: string) => vars.get(k), set: (k: string, v: unknown) => void vars.set(k, String(v)) };
  runScript(readFileSync(initialScriptPath, "utf8"), { variables, Math });

  const failures: SuiteFailure[] = [];
  let assertions = 0;
  let requests = 0;
  for (const step of spec.steps) {
    if (step.step_type !== "request") continue;
    const name = step.note ?? `${step.method} ${step.url}`;
    const response = await send(step, vars);
    requests++;
    for (const a of step.assertions ?? []) {
      assertions++;
      const expected = a.value === null ? null : template(a.value, vars);
      const actual = sourceValue(a, response);
      const label = `${a.source}${a.property ? ` ${a.property}` : ""} ${a.comparison}${expected === null ? "" : ` ${expected}`}`;
      const ok = check(a, actual, expected);
      console.log(`  ${ok ? "✓" : "✗"} ${name}: ${label}${ok ? "" : ` (got ${JSON.stringify(actual)})`}`);
      if (!ok) failures.push({ request: name, assertion: label, message: `got ${JSON.stringify(actual)}; body ${response.body.slice(0, 300)}` });
    }
    for (const v of step.variables ?? []) {
      const value = v.source === "response_json" ? propertyOf(response.json, v.property) : undefined;
      if (value !== undefined) vars.set(v.name, String(value));
    }
    for (const script of (step.scripts ?? []).filter((s) => s.trim())) {
      assertions++;
      try {
        runScript(script, { response: { body: response.body, status: response.status }, variables, assert, log: () => undefined, JSON, Array });
        console.log(`  ✓ ${name}: script`);
      } catch (error) {
        console.log(`  ✗ ${name}: script (${(error as Error).message})`);
        failures.push({ request: name, assertion: "script", message: (error as Error).message });
      }
    }
  }
  return { assertions, failures, requests };
}
