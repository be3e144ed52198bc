/**
 * The SCIM resource types the bridge serves, declared once in scimmy (whose registry is process-wide), and
 * helpers that read their schema definitions: attribute lookup, caseExact and types.
 */
import SCIMMY from "scimmy";
import type { ResourceKind } from "./kinds";
import { VendorLinkExtension } from "./vendor-extension";

export const CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User";
export const CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group";
export const ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

export const UserResource = SCIMMY.Resources.User.extend(SCIMMY.Schemas.EnterpriseUser, false).extend(VendorLinkExtension as never, false);
export const GroupResource = SCIMMY.Resources.Group;
export type ResourceClass = typeof UserResource | typeof GroupResource;

export function resourceClass(kind: ResourceKind): ResourceClass {
  return kind === "User" ? UserResource : GroupResource;
}

let declared = false;

/** Declares Users and Groups in scimmy's process-wide registry, once (discovery lists them from there). */
export function declareResources(): void {
  if (declared) return;
  declared = true;
  SCIMMY.Resources.declare(UserResource);
  SCIMMY.Resources.declare(GroupResource);
}

/** The schema URIs a resource of this kind may list in `schemas`. */
export function knownSchemas(kind: ResourceKind): string[] {
  return kind === "User" ? [CORE_USER, ENTERPRISE_USER] : [CORE_GROUP];
}

type Definition = InstanceType<typeof SCIMMY.Types.SchemaDefinition>;
type Attribute = InstanceType<typeof SCIMMY.Types.Attribute>;

export function definitionOf(kind: ResourceKind): Definition {
  return resourceClass(kind).schema.definition as Definition;
}

export interface AttributeInfo {
  /** The canonical name of the last path segment. */
  name: string;
  type: string;
  caseExact: boolean;
  multiValued: boolean;
  subAttributes?: Attribute[];
}

/** Resolves an attribute path (case-insensitive, URN-qualified or not); undefined when the schema has no such attribute. */
export function attributeInfo(kind: ResourceKind, path: string): AttributeInfo | undefined {
  try {
    const found = definitionOf(kind).attribute(path) as Attribute | Definition;
    if (found instanceof SCIMMY.Types.SchemaDefinition) return { name: found.id, type: "complex", caseExact: false, multiValued: false };
    const attr = found as Attribute;
    const config = attr.config as { caseExact?: boolean; multiValued?: boolean };
    return {
      name: attr.name,
      type: String(attr.type),
      caseExact: Boolean(config.caseExact),
      multiValued: Boolean(config.multiValued),
      subAttributes: attr.subAttributes as Attribute[] | undefined,
    };
  } catch {
    return undefined;
  }
}

/** The schema extensions of a kind, by URN (User: the enterprise extension and the read-only vendor link). */
export function extensionIds(kind: ResourceKind): string[] {
  let ids = EXTENSION_IDS.get(kind);
  if (!ids) {
    ids = (definitionOf(kind).attributes as unknown[]).filter((a): a is Definition => a instanceof SCIMMY.Types.SchemaDefinition).map((d) => d.id as string);
    EXTENSION_IDS.set(kind, ids);
  }
  return ids;
}

const EXTENSION_IDS = new Map<ResourceKind, string[]>();

/** Splits a URN-qualified attribute path into its schema URN and the rest; core URNs are dropped. */
export function splitUrn(kind: ResourceKind, path: string): { urn?: string; rest: string } {
  const lower = path.toLowerCase();
  const core = kind === "User" ? CORE_USER : CORE_GROUP;
  if (lower.startsWith(`${core.toLowerCase()}:`)) return { rest: path.slice(core.length + 1) };
  for (const urn of extensionIds(kind)) {
    if (lower === urn.toLowerCase()) return { urn, rest: "" };
    if (lower.startsWith(`${urn.toLowerCase()}:`)) return { urn, rest: path.slice(urn.length + 1) };
  }
  return { rest: path };
}

/**
 * The canonical spelling of an attribute path ("EMAILS.Value" → "emails.value"); the path as given when the
 * schema does not know it (scimmy then answers invalidPath).
 */
export function canonicalAttributePath(kind: ResourceKind, path: string): string {
  const { urn, rest } = splitUrn(kind, path);
  if (!rest) return urn ?? path;
  const parts = rest.split(".");
  const canonical: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const prefix = [...canonical, parts[i]].join(".");
    const info = attributeInfo(kind, urn ? `${urn}:${prefix}` : prefix);
    if (!info) return path;
    canonical.push(info.name);
  }
  return urn ? `${urn}:${canonical.join(".")}` : canonical.join(".");
}

/** Every attribute path a resource of this kind has ("name.givenName", "urn:…:User:manager.value"), for suggestions. */
export function attributePaths(kind: ResourceKind): string[] {
  const out: string[] = [];
  const walk = (attributes: Attribute[], prefix: string) => {
    for (const a of attributes) {
      out.push(`${prefix}${a.name}`);
      if (a.subAttributes) walk(a.subAttributes as Attribute[], `${prefix}${a.name}.`);
    }
  };
  walk(definitionOf(kind).attributes as Attribute[], "");
  if (kind === "User") walk(SCIMMY.Schemas.EnterpriseUser.definition.attributes as Attribute[], `${ENTERPRISE_USER}:`);
  return out;
}

/**
 * RFC 7643 §7: canonical values are suggestions. scimmy refuses any other value (and reads an empty list,
 * as on roles and x509Certificates, as "nothing allowed": Entra's `{"type": "WindowsAzureActiveDirectoryRole"}`),
 * so the `type` of every multi-valued attribute is taken as sent; /Schemas still lists the suggestions.
 */
function canonicalValuesAsSuggestions(definition: Definition): void {
  for (const attribute of definition.attributes as (Attribute | Definition)[]) {
    if (!(attribute instanceof SCIMMY.Types.Attribute) || !(attribute.config as { multiValued?: boolean }).multiValued) continue;
    const subs = attribute.subAttributes as Attribute[] | undefined;
    const index = subs?.findIndex((sub) => sub.name === "type") ?? -1;
    if (!subs || index < 0) continue;
    const type = subs[index]!;
    const config = type.config as Record<string, unknown>;
    if (Array.isArray(config.canonicalValues))
      subs[index] = new SuggestedValues(type.type as string, type.name, { ...config, canonicalValues: false }, config.canonicalValues as string[]);
  }
}

/** An attribute whose canonical values are listed in /Schemas but not enforced on input. */
class SuggestedValues extends SCIMMY.Types.Attribute {
  readonly #suggestions: string[];

  constructor(type: string, name: string, config: Record<string, unknown>, suggestions: string[]) {
    super(type as never, name, config as never);
    this.#suggestions = suggestions;
  }

  override toJSON() {
    const described = super.toJSON() as Record<string, unknown>;
    return (this.#suggestions.length > 0 ? { ...described, canonicalValues: this.#suggestions } : described) as never;
  }
}

canonicalValuesAsSuggestions(UserResource.schema.definition as never);
