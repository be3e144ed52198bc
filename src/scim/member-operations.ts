/**
 * A group PATCH's operations applied without coercing the whole member list: scimmy coerces every member
 * of the view it is given, several times over (seconds for 20,000 members, in one go). So scimmy, still the
 * judge of what each operation means, is given the group without its members for the other attributes, and
 * for an operation on members only the members it can touch, a chunk at a time, the event loop given back
 * in between:
 *
 * - members added (`add` to `members`, or a path-less `add`/`replace` whose value has `members`: scimmy
 *   appends for both) are the request's entries, read by scimmy a chunk at a time, after the list;
 * - `replace` of `members` is those entries instead of the list; `remove` of `members` takes the list away;
 * - anything else acts on each member by itself: the members its value filter matches (scimmy's Filter, on
 *   the members as read), the members a `remove` lists by value, or every member when the path has neither.
 *   A chunk the operation finds no target in (noTarget) keeps what the operation's removal left of it; only
 *   when no chunk had one is it the request's error, as it is scimmy's for the whole list.
 *
 * The operations keep their order and their numbers in scimmy's messages, and scimmy's difference between
 * a group without `members` and one with an empty list. The members scimmy wrote are validated at the end,
 * as the request's whole group would be; the members read were valid when stored. The caller stores the
 * difference between the list that comes out and the one read.
 */
import SCIMMY from "scimmy";
import type { PatchOperation } from "./compat";
import { validated } from "./documents";
import { scimmyTarget } from "./patch-steps";
import { yieldToOthers } from "../store/resources/scan";
import type { Json } from "../lib/json";

/** How long one call of scimmy may hold the event loop: its chunks of members are sized from the last one's time. */
const APPLY_MS = 10;
const APPLY_CHUNK = { first: 25, min: 5, max: 500 };
/** Members a filter is matched against in one go (a few ms). */
const MATCH_CHUNK = 2_000;

/** A group's members as scimmy holds them: no `members` at all, or a list (which may be empty). */
type Members = Json[] | undefined;

/** What a group PATCH leaves: the group's document (validated, without members) and its member list. */
export interface PatchedGroup {
  document: unknown;
  members: Json[];
}

/** One normalised operation with its number in the message (scimmy's errors name it). */
interface Numbered {
  op: PatchOperation;
  index: number;
}

/** One PATCH's work: the group without members, and every member entry scimmy wrote (validated at the end). */
interface Run {
  base: Json;
  written: Set<Json>;
}

const isObject = (value: unknown): value is Json => !!value && typeof value === "object" && !Array.isArray(value);
const isMemberPath = (path: string) => /^members(?:$|[.[])/.test(path);

/** An operation scimmy does nothing for: it stands in for the operations before one sent alone, so scimmy numbers it as the request does. */
const NOTHING: PatchOperation = { op: "add", value: {} };

function messageOf({ op, index }: Numbered): Json {
  return { schemas: [SCIMMY.Messages.PatchOp.id], Operations: [...Array<PatchOperation>(index - 1).fill(NOTHING), op] };
}

/** The JSON of a scimmy instance (its members as plain entries). */
const plain = (instance: unknown): Json => JSON.parse(JSON.stringify(instance)) as Json;

/** An operation split into its part on members and its part on the rest of the group (a path-less value may have both). */
function split(op: PatchOperation): { members?: PatchOperation; rest?: PatchOperation } {
  if (op.path !== undefined) return isMemberPath(op.path) ? { members: op } : { rest: op };
  if (!isObject(op.value) || !Object.hasOwn(op.value, "members")) return { rest: op };
  const { members, ...rest } = op.value;
  return { members: { op: op.op, value: { members } }, ...(Object.keys(rest).length > 0 ? { rest: { op: op.op, value: rest } } : {}) };
}

/** The members scimmy leaves after one operation on the group with `members`. */
async function membersAfter(run: Run, members: Members, step: Numbered): Promise<Members> {
  const patched = plain(await scimmyTarget("Group", members === undefined ? run.base : { ...run.base, members }, messageOf(step)));
  if (!Array.isArray(patched.members)) return undefined;
  const after = patched.members as Json[];
  after.forEach((m) => run.written.add(m));
  return after;
}

/**
 * `work` for each chunk of `list` (one empty chunk for an empty list), each sized to take about APPLY_MS by
 * the time the one before took, the event loop given back after each.
 */
async function inChunks<T>(list: T[], work: (chunk: T[]) => Promise<void>): Promise<void> {
  let size = APPLY_CHUNK.first;
  let start = 0;
  do {
    const chunk = list.slice(start, start + size);
    const began = performance.now();
    await work(chunk);
    const took = Math.max(performance.now() - began, 0.1);
    size = Math.min(APPLY_CHUNK.max, size * 2, Math.max(APPLY_CHUNK.min, Math.round((size * APPLY_MS) / took)));
    start += chunk.length;
    await yieldToOthers();
  } while (start < list.length);
}

/** The request's entries as scimmy reads them into a group without members (an empty list of them is a list too). */
async function entriesOf(run: Run, step: Numbered): Promise<Json[]> {
  const { op } = step;
  const pathless = op.path === undefined;
  const entries = ((pathless ? (op.value as Json).members : op.value) ?? []) as unknown[];
  const out: Json[] = [];
  await inChunks(entries, async (chunk) => {
    out.push(...((await membersAfter(run, undefined, { ...step, op: { ...op, value: pathless ? { members: chunk } : chunk } })) ?? []));
  });
  return out;
}

/** scimmy's value filter on the path's first segment (`members[display eq "x"].value` → `display eq "x"`), split as scimmy splits it. */
function filterOf(path: string): string | undefined {
  const first = path.split(/(?<![^\w]\d)\.(?!\d[^\w]|[^[]*])/g).find((p) => p) ?? "";
  const filter = /^(.+?)(\[(?:.*?)])?$/.exec(first)?.[2];
  return filter?.slice(1, -1);
}

/** The members an operation can change: matched by its value filter, listed by its value, or all of them. */
async function candidatesOf(members: Json[], op: PatchOperation): Promise<Json[]> {
  const filter = op.path === undefined ? undefined : filterOf(op.path);
  if (filter !== undefined) {
    let matcher: InstanceType<typeof SCIMMY.Types.Filter>;
    try {
      matcher = new SCIMMY.Types.Filter(filter);
    } catch {
      return []; // scimmy matches nothing with a filter it cannot read
    }
    const out: Json[] = [];
    for (let i = 0; i < members.length; i += MATCH_CHUNK) {
      out.push(...(matcher.match(members.slice(i, i + MATCH_CHUNK)) as Json[]));
      await yieldToOthers();
    }
    return out;
  }
  const listed = op.op === "remove" && op.path === "members" && Array.isArray(op.value) ? op.value.map((v) => (v as Json | undefined)?.value) : undefined;
  if (listed?.every((v): v is string => typeof v === "string")) {
    const ids = new Set<unknown>(listed);
    return members.filter((m) => ids.has(m.value));
  }
  return members;
}

function isNoTarget(error: unknown): boolean {
  return error instanceof SCIMMY.Types.Error && (error as { scimType?: string }).scimType === "noTarget";
}

/** An entry's JSON with its keys in order: scimmy writes an entry it keeps with its keys in the schema's order. */
const canonical = (entry: Json) =>
  JSON.stringify(
    Object.keys(entry)
      .sort()
      .map((k) => [k, entry[k]]),
  );

/**
 * Each entry of `chunk` paired with what scimmy left of it (undefined: removed). scimmy changes entries in
 * place or removes some (keeping the others' order), never both in one operation.
 */
function pairs(chunk: Json[], result: Json[]): [Json, Json | undefined][] {
  if (result.length === chunk.length) return chunk.map((entry, i) => [entry, result[i]]);
  let next = 0;
  return chunk.map((entry) => [entry, next < result.length && canonical(result[next]!) === canonical(entry) ? result[next++] : undefined]);
}

/**
 * An operation on each member by itself, applied to the members it can touch a chunk at a time; each member
 * becomes what scimmy left of it. With nothing to touch, scimmy is shown one member it does not touch: it then
 * says what the operation means for a list where nothing matches (nothing, an error, or an append). A
 * `replace` of whole members (`members[…]`) appends its value after removing them, as scimmy does: once, at
 * the end. A list left empty is as scimmy leaves it: gone where it removed the members, empty where it wrote
 * an empty list.
 */
async function eachMember(run: Run, members: Members, step: Numbered): Promise<Members> {
  if (!members || members.length === 0) return membersAfter(run, members, step);
  const { op } = step;
  const appended = op.op === "replace" && op.path?.endsWith("]") ? (Array.isArray(op.value) ? op.value.length : 1) : 0;
  const candidates = await candidatesOf(members, op);
  const after = new Map<Json, Json | undefined>();
  let tail: Json[] = [];
  let missed: unknown;
  let applied = false;
  let written = false;
  await inChunks(candidates.length > 0 ? candidates : members.slice(0, 1), async (chunk) => {
    let result: Members;
    try {
      result = await membersAfter(run, chunk, step);
      if (!applied) tail = result?.slice(result.length - appended) ?? [];
      result = result?.slice(0, result.length - appended);
      applied = true;
    } catch (error) {
      if (!isNoTarget(error)) throw error;
      missed ??= error;
      // scimmy's replace is a removal and then an add: the removal stands where the add finds no target.
      const removal: Numbered = { ...step, op: { op: "remove", path: op.path } };
      result = op.op === "replace" ? await membersAfter(run, chunk, removal) : chunk;
    }
    written ||= result !== undefined;
    for (const [entry, left] of pairs(chunk, result ?? [])) after.set(entry, left);
  });
  if (!applied) throw missed;
  const list = [...members.flatMap((m) => (!after.has(m) ? [m] : after.get(m) ? [after.get(m)!] : [])), ...tail];
  return list.length > 0 || written ? list : undefined;
}

async function applyToMembers(run: Run, members: Members, step: Numbered): Promise<Members> {
  const { op } = step;
  const appends = op.path === undefined || (op.path === "members" && op.op === "add");
  // scimmy cannot append to a list an earlier operation left empty (it refuses): it is shown that list.
  if (appends && members?.length === 0) return membersAfter(run, members, step);
  if (appends) return [...(members ?? []), ...(await entriesOf(run, step))];
  if (op.path === "members" && op.op === "replace") return entriesOf(run, step);
  if (op.path === "members" && op.op === "remove" && op.value === undefined) return undefined;
  return eachMember(run, members, step);
}

/** The entries scimmy wrote that are still in the list, validated as the request's group would be (a chunk at a time). */
async function validateWritten(run: Run, members: Json[]): Promise<void> {
  const written = members.filter((m) => run.written.has(m));
  if (written.length === 0) return;
  await inChunks(written, async (chunk) => {
    validated("Group", { ...run.base, members: chunk });
  });
}

/**
 * A normalised PatchOp applied to a group (`base`: its view without members) and its members as read, its
 * operations in order; scimmy's refusal of the message or of any operation is thrown as it would be for the
 * whole group.
 */
export async function applyGroupOperations(base: Json, members: Json[], message: Json): Promise<PatchedGroup> {
  const operations = new SCIMMY.Messages.PatchOp(message as never).Operations as PatchOperation[];
  const run: Run = { base, written: new Set() };
  let view = base;
  let list: Members = members.length > 0 ? members : undefined;
  for (const [i, operation] of operations.entries()) {
    const parts = split(operation);
    if (parts.rest) view = plain(await scimmyTarget("Group", view, messageOf({ op: parts.rest, index: i + 1 })));
    if (parts.members) list = await applyToMembers(run, list, { op: parts.members, index: i + 1 });
  }
  const document = validated("Group", view);
  await validateWritten(run, list ?? []);
  return { document, members: list ?? [] };
}
