/**
 * Structured logs, one event per line on stderr: JSON objects for machines
 * (`LOG_FORMAT=json`, and by default when stderr is not a terminal), or
 * short human lines on a terminal. Callers pass identifiers and counts,
 * never message text or tokens.
 *
 * @module
 */

/** Severity, lowest first. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Fields attached to one log line. */
export type LogFields = Record<
  string,
  string | number | boolean | null | undefined
>;

/** A minimal structured logger. */
export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** How lines are written: JSON objects, human text, or text on a terminal and JSON elsewhere. */
export type LogFormat = "json" | "text" | "auto";

/**
 * The format `auto` stands for: text when stderr is a terminal (a person is
 * reading), JSON when it goes to a pipe or a file (a collector is).
 *
 * @example
 * ```ts
 * resolveLogFormat("auto", Deno.stderr.isTerminal()); // "text" in a terminal
 * resolveLogFormat("json", true);                     // "json"
 * ```
 */
export function resolveLogFormat(
  format: LogFormat,
  terminal: boolean,
): "json" | "text" {
  if (format !== "auto") return format;
  return terminal ? "text" : "json";
}

/** Whether stderr is a terminal (false where it cannot be asked). */
export function stderrIsTerminal(): boolean {
  try {
    return Deno.stderr.isTerminal();
  } catch {
    return false;
  }
}

/** A field value as text: bare when it is one word, JSON-quoted otherwise. */
function textValue(value: string | number | boolean | null): string {
  const s = String(value);
  return /^[^\s"=]+$/.test(s) ? s : JSON.stringify(s);
}

/**
 * One log line as a person reads it: time, level, event, then `key=value`.
 *
 * @example
 * ```ts
 * textLine(new Date("2026-01-01T10:00:00Z"), "warn", "ws.closed", { code: 1006 });
 * // "10:00:00.000 WARN  ws.closed code=1006"
 * ```
 */
export function textLine(
  at: Date,
  level: LogLevel,
  event: string,
  fields: LogFields = {},
): string {
  const parts = [
    at.toISOString().slice(11, 23),
    level.toUpperCase().padEnd(5),
    event,
  ];
  for (const [key, value] of Object.entries(fields)) {
    if (value !== undefined) parts.push(`${key}=${textValue(value)}`);
  }
  return parts.join(" ");
}

/**
 * Creates a logger writing to stderr at `level` and above, as JSON lines
 * (default) or human text (see {@link LogFormat}).
 *
 * @example
 * ```ts
 * const log = createLogger("info", "auto");
 * log.info("ws.open", { room: "general" });
 * ```
 */
export function createLogger(
  level: LogLevel = "info",
  format: LogFormat = "json",
): Logger {
  const min = RANK[level];
  const text = resolveLogFormat(format, stderrIsTerminal()) === "text";
  const write = (lvl: LogLevel) => (event: string, fields?: LogFields) => {
    if (RANK[lvl] < min) return;
    const at = new Date();
    console.error(
      text ? textLine(at, lvl, event, fields) : JSON.stringify({
        t: at.toISOString(),
        level: lvl,
        event,
        ...fields,
      }),
    );
  };
  return {
    debug: write("debug"),
    info: write("info"),
    warn: write("warn"),
    error: write("error"),
  };
}

/** A logger that reports errors only (tests and benchmarks). */
export const quietLogger: Logger = createLogger("error");

/**
 * An error as one short line for a log field; never carries message text.
 *
 * @example
 * ```ts
 * errorText(new TypeError("boom")); // "TypeError: boom"
 * ```
 */
export function errorText(err: unknown): string {
  const text = err instanceof Error
    ? `${err.name}: ${err.message}`
    : String(err);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
