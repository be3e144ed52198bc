/**
 * The vendors' official SDK models, read by program: Tencent's `.d.ts` request interfaces and Alibaba's Tea
 * models with the TypeScript compiler API, Volcengine's Go `*Input` structs and Tencent's Go per-action error
 * lists from their source text. Each answers the same shape, so one comparison serves every vendor.
 */
import { readFileSync } from "node:fs";
import ts from "typescript";
import type { ParamType } from "../../src/sandbox/sandbox";

/** One request parameter as an SDK model declares it. */
export interface SdkParam {
  type: ParamType;
  required: boolean;
  minLength?: number;
  maxLength?: number;
  minBytes?: number;
  maxBytes?: number;
  minimum?: number;
  maximum?: number;
  enum?: string[];
  items?: SdkParam;
  fields?: Record<string, SdkParam>;
}

/** An action's request model, and the error codes the SDK lists for it (where it lists any). */
export interface SdkAction {
  params: Record<string, SdkParam>;
  errors?: string[];
}

export const FIXTURES = "test/fixtures/vendor-models";

function parse(file: string): ts.SourceFile {
  return ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.ES2022, true);
}

function topLevel<T extends ts.Node>(source: ts.SourceFile, is: (node: ts.Node) => node is T): T[] {
  const out: T[] = [];
  source.forEachChild((node) => {
    if (is(node)) out.push(node);
  });
  return out;
}

// ---- Tencent: tencentcloud-sdk-nodejs .d.ts ------------------------------------------------------------

/** Limits Tencent's parameter descriptions state: "长度：最大 64 个字符", "取值范围：1~100". */
function tencentLimits(doc: string): Partial<SdkParam> {
  const chars = /最大\s*(\d+)\s*个字符/.exec(doc);
  const range = /取值范围[：:]\s*(\d+)\s*[~～-]\s*(\d+)/.exec(doc);
  return {
    ...(chars ? { maxLength: Number(chars[1]) } : {}),
    ...(range ? { minimum: Number(range[1]), maximum: Number(range[2]) } : {}),
  };
}

function docOf(node: ts.Node): string {
  return ts
    .getJSDocCommentsAndTags(node)
    .map((d) => (typeof d.comment === "string" ? d.comment : (d.comment ?? []).map((c) => c.text).join("")))
    .join(" ");
}

/** Every interface of a Tencent models `.d.ts`, each as its parameters (nested interfaces resolved). */
export function tencentModels(file: string): (name: string) => Record<string, SdkParam> {
  const interfaces = new Map(topLevel(parse(file), ts.isInterfaceDeclaration).map((i) => [i.name.text, i]));
  const typeOf = (node: ts.TypeNode, doc: string): Omit<SdkParam, "required"> => {
    if (node.kind === ts.SyntaxKind.StringKeyword) return { type: "string", ...tencentLimits(doc) };
    // Tencent's API 3.0 numbers are Integer (the docs' type column); none of the models read here has a Float.
    if (node.kind === ts.SyntaxKind.NumberKeyword) return { type: "integer", ...tencentLimits(doc) };
    if (node.kind === ts.SyntaxKind.BooleanKeyword) return { type: "boolean" };
    if (ts.isTypeReferenceNode(node) && node.typeName.getText() === "Array")
      return { type: "array", items: { ...typeOf(node.typeArguments![0]!, ""), required: false } };
    if (ts.isTypeReferenceNode(node)) return { type: "object", fields: fieldsOf(node.typeName.getText()) };
    throw new Error(`${file}: a type the reader does not know: ${node.getText()}`);
  };
  const fieldsOf = (name: string): Record<string, SdkParam> => {
    const declaration = interfaces.get(name);
    if (!declaration) throw new Error(`${file} has no interface ${name}`);
    const out: Record<string, SdkParam> = {};
    for (const member of declaration.members) {
      if (!ts.isPropertySignature(member) || !member.type) continue;
      out[member.name.getText()] = { ...typeOf(member.type, docOf(member)), required: !member.questionToken };
    }
    return out;
  };
  return fieldsOf;
}

/** Tencent's Go SDK client.go: for each action, the codes its "可能返回的错误码" comment lists. */
export function tencentErrors(file: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const text = readFileSync(file, "utf8");
  for (const block of text.split(/\n(?=\/\/ [A-Za-z]+\n)/)) {
    const action = /func \(c \*Client\) ([A-Za-z]+)\(request/.exec(block)?.[1];
    if (action) out[action] = [...block.matchAll(/^\/\/ {2}[A-Z_]+ = "([^"]+)"$/gm)].map((m) => m[1]!);
  }
  return out;
}

// ---- Alibaba: Tea models (names() and types()) ---------------------------------------------------------

function returnedObject(method: ts.MethodDeclaration): ts.ObjectLiteralExpression {
  const ret = method.body?.statements.find(ts.isReturnStatement);
  if (!ret?.expression || !ts.isObjectLiteralExpression(ret.expression)) throw new Error(`${method.name.getText()}() returns no object literal`);
  return ret.expression;
}

function literalValue(node: ts.Expression): unknown {
  if (ts.isStringLiteral(node)) return node.text;
  if (ts.isObjectLiteralExpression(node))
    return Object.fromEntries(
      node.properties.filter(ts.isPropertyAssignment).map((p) => [p.name.getText().replace(/^'|'$/g, ""), literalValue(p.initializer)]),
    );
  return node.getText();
}

function teaType(declared: unknown): Omit<SdkParam, "required"> {
  if (declared === "string") return { type: "string" };
  if (declared === "number") return { type: "integer" };
  if (declared === "boolean") return { type: "boolean" };
  if (declared && typeof declared === "object" && (declared as { type?: string }).type === "array")
    return { type: "array", items: { ...teaType((declared as { itemType: unknown }).itemType), required: false } };
  throw new Error(`a Tea type the reader does not know: ${JSON.stringify(declared)}`);
}

/** A Tea model class's parameters by wire name (the model marks none required). */
export function teaModel(file: string, className: string): Record<string, SdkParam> {
  const source = parse(file);
  const found = topLevel(source, ts.isClassDeclaration).find((c) => c.name?.text === className);
  if (!found) throw new Error(`${file} has no class ${className}`);
  const method = (name: string) => found.members.filter(ts.isMethodDeclaration).find((m) => m.name.getText() === name)!;
  const names = literalValue(returnedObject(method("names"))) as Record<string, string>;
  const types = literalValue(returnedObject(method("types"))) as Record<string, unknown>;
  return Object.fromEntries(Object.entries(names).map(([field, wire]) => [wire, { ...teaType(types[field]), required: false }]));
}

// ---- Volcengine: volcengine-go-sdk *Input structs --------------------------------------------------------

function goType(type: string): ParamType {
  if (type === "*string") return "string";
  if (type === "*bool") return "boolean";
  if (/^\*u?int(8|16|32|64)?$/.test(type)) return "integer";
  if (type.startsWith("[]")) return "array";
  return "object";
}

/** `<Action>Input` of a volcengine-go-sdk api_*.go file: fields, validation tags, enum constants. */
export function goInput(file: string, action: string): Record<string, SdkParam> {
  const text = readFileSync(file, "utf8");
  const body = new RegExp(`^type ${action}Input struct \\{\\n([\\s\\S]*?)^\\}`, "m").exec(text)?.[1];
  if (body === undefined) throw new Error(`${file} has no ${action}Input`);
  const out: Record<string, SdkParam> = {};
  for (const [, name, type, tags] of body.matchAll(/^\t([A-Z]\w*) (\S+) `([^`]*)`$/gm)) {
    const tag = (key: string) => new RegExp(`\\b${key}:"([^"]*)"`).exec(tags!)?.[1];
    const param: SdkParam = { type: goType(type!), required: tag("required") === "true" };
    // Go's len() of a string counts bytes: the SDK's min and max on strings are byte counts.
    const [min, max] = [tag("min"), tag("max")].map((v) => (v === undefined ? undefined : Number(v)));
    if (param.type === "string") Object.assign(param, min !== undefined && { minBytes: min }, max !== undefined && { maxBytes: max });
    if (param.type === "integer") Object.assign(param, min !== undefined && { minimum: min }, max !== undefined && { maximum: max });
    const enumType = tag("enum");
    if (enumType) param.enum = [...text.matchAll(new RegExp(`^\\t${enumType}\\w* = "([^"]*)"$`, "gm"))].map((m) => m[1]!);
    out[name!] = param;
  }
  return out;
}
