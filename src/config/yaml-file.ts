/**
 * Loading YAML files that people edit by hand (the bridge config, mapping files): parse, substitute
 * ${ENV_VAR} references, validate with a zod schema, and report every problem as `file:line: key: message`.
 */
import { readFileSync } from "node:fs";
import { isMap, isSeq, LineCounter, parseDocument, type Document } from "yaml";
import type { z } from "zod";

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

type Path = (string | number)[];

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

/**
 * Replaces ${NAME} (or ${NAME:-default}) in every string value. A reference to an unset variable with no
 * default is an issue at that key: the bridge never starts with a silently empty secret.
 */
export function substituteEnv(value: unknown, env: NodeJS.ProcessEnv, path: Path = [], missing: Path[] = []): unknown {
  if (typeof value === "string") {
    return value.replace(ENV_REFERENCE, (whole, name: string, fallback: string | undefined) => {
      const found = env[name];
      if (found !== undefined && found !== "") return found;
      if (fallback !== undefined) return fallback;
      missing.push([...path, `\${${name}}`]);
      return whole;
    });
  }
  if (Array.isArray(value)) return value.map((item, i) => substituteEnv(item, env, [...path, i], missing));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituteEnv(v, env, [...path, k], missing)]));
  }
  return value;
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** Keys whose ${VAR} references are left as they are (resolved later, e.g. only when a target uses them). */
  substitute?: boolean;
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
  const missing: Path[] = [];
  const data = options.substitute === false ? raw : substituteEnv(raw, options.env ?? process.env, [], missing);
  const issues: FileIssue[] = missing.map((path) => ({
    file,
    line: lineOf(doc, counter, path.slice(0, -1)),
    key: keyOf(path.slice(0, -1)),
    message: `environment variable ${String(path[path.length - 1]).slice(2, -1)} is not set`,
  }));
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
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
