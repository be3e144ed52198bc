/** A JSON object as parsed: what SCIM bodies, vendor parameters and vendor answers are before they are read. */
export type Json = Record<string, unknown>;
