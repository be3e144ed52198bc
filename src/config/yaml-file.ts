/**
 * Loading YAML files that people edit by hand (the bridge config, mapping files): parse, substitute
 * ${ENV_VAR} references, validate with a zod schema, and report every problem as `file:line: key: message`.
 */
import { readFileSync } from "node:fs";
import { isMap, isSeq, LineCounter, parseDocument, type Document } from "yaml";
import type { z } from "zod";
import { envValue, EnvFileError } from "./env";

/** One problem found in a file, located as precisely as the YAML allows. */
export interface FileIssue {
  file: string;
  line?: number;
  key: string;
  message: string;
}

export class FileValidationError extends Error {
  constructor(readonly issues: FileIssue[]) {
    super(issues.map(formatIssue).join("\n"));
    this.name = "FileValidationError";
  }
}

export function formatIssue(issue: FileIssue): string {
  const where = issue.line === undefined ? issue.file : `${issue.file}:${issue.line}`;
  return `${where}: ${issue.key || "(top level)"}: ${issue.message}`;
}

export type Path = (string | number)[];

export function keyOf(path: Path): string {
  return path.reduce<string>((acc, part) => (typeof part === "number" ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part), "");
}

/** The 1-based line of the node at `path`, or of its nearest ancestor that exists. */
function lineOf(doc: Document, counter: LineCounter, path: Path): number | undefined {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = doc.getIn(path.slice(0, depth), true) as { range?: [number, number, number] } | undefined;
    if (node && typeof node === "object" && node.range) return counter.linePos(node.range[0]).line;
  }
  return undefined;
}

const ENV_REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
/** A value that is one reference and nothing else: it may feed a number or a boolean. */
const WHOLE_REFERENCE = /^\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}$/;

/** What substitution found: unset variables (and unreadable *_FILE files), and the keys a whole reference filled. */
export interface Substitution {
  problems: { path: Path; message: string }[];
  whole: Set<string>;
}

/**
 * Replaces ${NAME} (or ${NAME:-default}) in every string value; NAME may also be given as a file through
 * NAME_FILE. A reference to an unset variable with no default is an issue at that key: the bridge never
 * starts with a silently empty secret. Strings at paths `literal` accepts are left as written.
 */
export function substituteEnv(
  value: unknown,
  env: NodeJS.ProcessEnv,
  path: Path = [],
  found: Substitution = { problems: [], whole: new Set() },
  literal: (path: Path) => boolean = () => false,
): unknown {
  if (typeof value === "string") {
    if (literal(path)) return value;
    if (WHOLE_REFERENCE.test(value)) found.whole.add(keyOf(path));
    return value.replace(ENV_REFERENCE, (whole, name: string, fallback: string | undefined) => {
      try {
        const given = envValue(env, name);
        if (given !== undefined) return given;
      } catch (error) {
        if (!(error instanceof EnvFileError)) throw error;
        found.problems.push({ path, message: error.message });
        return whole;
      }
      if (fallback !== undefined) return fallback;
      found.problems.push({ path, message: `environment variable ${name} is not set` });
      return whole;
    });
  }
  if (Array.isArray(value)) return value.map((item, i) => substituteEnv(item, env, [...path, i], found, literal));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituteEnv(v, env, [...path, k], found, literal)]));
  }
  return value;
}

/** A string from a whole ${NAME} reference, read as the number or boolean the schema asked for. */
function coerced(value: unknown, expected: unknown): unknown {
  if (typeof value !== "string") return undefined;
  if (expected === "number" && /^-?\d+(\.\d+)?$/.test(value.trim())) return Number(value);
  if (expected === "boolean" && /^(true|false)$/i.test(value.trim())) return value.trim().toLowerCase() === "true";
  return undefined;
}

function setIn(data: unknown, path: Path, value: unknown): void {
  let node = data as Record<string | number, unknown>;
  for (const part of path.slice(0, -1)) node = node[part] as Record<string | number, unknown>;
  node[path[path.length - 1]!] = value;
}

function getIn(data: unknown, path: Path): unknown {
  return path.reduce<unknown>((node, part) => (node && typeof node === "object" ? (node as Record<string | number, unknown>)[part] : undefined), data);
}

/**
 * Validates, letting values that came whole from ${NAME} be read as numbers or booleans where the schema
 * wants one (`port: ${PORT}`); a literal "8080" in the file stays a string and is refused as one.
 */
function parseWithEnvTypes<S extends z.ZodType>(schema: S, data: unknown, whole: Set<string>): ReturnType<S["safeParse"]> {
  for (;;) {
    const parsed = schema.safeParse(data) as ReturnType<S["safeParse"]>;
    if (parsed.success) return parsed;
    let changed = false;
    for (const issue of parsed.error!.issues) {
      const path = issue.path.filter((p): p is string | number => typeof p !== "symbol");
      if (issue.code !== "invalid_type" || !whole.has(keyOf(path))) continue;
      const value = coerced(getIn(data, path), issue.expected);
      if (value === undefined) continue;
      setIn(data, path, value);
      changed = true;
    }
    if (!changed) return parsed;
  }
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** Keys whose ${VAR} references are left as they are (resolved later, e.g. only when a target uses them). */
  substitute?: boolean;
  /** Keys whose strings are never substituted (credential fields name variables; they never hold values). */
  literal?: (path: Path) => boolean;
  /**
   * Settings the schema no longer has that older files may still set: answers why one has no effect. Each
   * found is taken out before validation and told to `warn`, so the file still loads.
   */
  retired?: (path: Path) => string | undefined;
  warn?: (issue: FileIssue) => void;
}

/** Takes the settings `retired` names out of `value` (in place); answers where each was and why it is ignored. */
function dropRetired(value: unknown, retired: (path: Path) => string | undefined, path: Path = []): { path: Path; message: string }[] {
  if (!value || typeof value !== "object") return [];
  const node = value as Record<string | number, unknown>;
  return Object.keys(node).flatMap((key) => {
    const at = [...path, Array.isArray(value) ? Number(key) : key];
    const why = retired(at);
    if (why === undefined) return dropRetired(node[key], retired, at);
    delete node[key];
    return [{ path: at, message: why }];
  });
}

/** Parses YAML text and validates it; `file` is only used in messages. */
export function parseYamlText<S extends z.ZodType>(text: string, file: string, schema: S, options: LoadOptions = {}): z.infer<S> {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new FileValidationError(
      doc.errors.map((error) => ({
        file,
        line: counter.linePos(error.pos[0]).line,
        key: "",
        message: `YAML syntax: ${error.message.split("\n")[0]}`,
      })),
    );
  }
  if (!isMap(doc.contents) && !isSeq(doc.contents) && doc.contents !== null) {
    throw new FileValidationError([{ file, line: 1, key: "", message: "expected a YAML mapping" }]);
  }
  const raw = doc.toJS() ?? {};
  const found: Substitution = { problems: [], whole: new Set() };
  const data = options.substitute === false ? raw : substituteEnv(raw, options.env ?? process.env, [], found, options.literal);
  const issues: FileIssue[] = found.problems.map(({ path, message }) => ({ file, line: lineOf(doc, counter, path), key: keyOf(path), message }));
  for (const { path, message } of options.retired ? dropRetired(data, options.retired) : [])
    options.warn?.({ file, line: lineOf(doc, counter, path), key: keyOf(path), message });
  const parsed = parseWithEnvTypes(schema, data, found.whole);
  if (!parsed.success) {
    for (const issue of parsed.error!.issues) {
      const path = issue.path.filter((p): p is string | number => typeof p !== "symbol");
      issues.push({ file, line: lineOf(doc, counter, path), key: keyOf(path), message: issue.message });
    }
  }
  if (issues.length > 0) throw new FileValidationError(issues);
  return (parsed as { data: z.infer<S> }).data;
}

export function loadYamlFile<S extends z.ZodType>(file: string, schema: S, options: LoadOptions = {}): z.infer<S> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new FileValidationError([{ file, key: "", message: `cannot read file: ${(error as NodeJS.ErrnoException).code ?? String(error)}` }]);
  }
  return parseYamlText(text, file, schema, options);
}
