/** `--since`: a time (2026-12-01, 2026-12-01T09:00:00Z) or an age (90m, 24h, 7d) before now. */
const AGE = /^(\d+)(s|m|h|d)$/;
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

export function parseSince(value: string, now = Date.now()): Date | undefined {
  const age = AGE.exec(value);
  if (age) return new Date(now - Number(age[1]) * UNIT_MS[age[2] as keyof typeof UNIT_MS]);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value)) return undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : new Date(at);
}
