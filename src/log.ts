/**
 * JSON logs on stdout through winston. Every entry passes through `redact`, so a password, token or secret
 * that reaches a log call by mistake is masked before it is written.
 */
import winston from "winston";

const SENSITIVE_KEY = /pass(word)?|secret|token|authorization|credential|signature|access[_-]?key|app[_-]?key|cookie/i;
const BEARER = /\b(Bearer|TC3-HMAC-SHA256|HMAC-SHA256|ACS3-HMAC-SHA256)\s+[^\s,"]+/gi;
export const MASK = "[redacted]";

/** Deep copy of `value` with sensitive keys masked and bearer-like strings cut. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8) return "[deep]";
  if (typeof value === "string") return value.replace(BEARER, `$1 ${MASK}`);
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value instanceof Error) return { name: value.name, message: redact(value.message, depth + 1) };
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = SENSITIVE_KEY.test(k) && v !== undefined && v !== null ? MASK : redact(v, depth + 1);
    return out;
  }
  return value;
}

// In place: winston keeps its own bookkeeping under Symbol keys of the same object.
const redactFormat = winston.format((info) => {
  for (const key of Object.keys(info)) {
    if (key === "level") continue;
    const value = info[key];
    info[key] = SENSITIVE_KEY.test(key) && value !== undefined && value !== null ? MASK : redact(value);
  }
  return info;
});

export type Logger = winston.Logger;

export function createLogger(level: string = "info", stream?: NodeJS.WritableStream): Logger {
  return winston.createLogger({
    level,
    format: winston.format.combine(redactFormat(), winston.format.timestamp(), winston.format.json()),
    transports: [stream ? new winston.transports.Stream({ stream }) : new winston.transports.Console()],
  });
}
