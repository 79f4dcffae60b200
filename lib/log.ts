/**
 * Structured JSON logs, one object per line. Callers pass identifiers and
 * counts, never message text or tokens.
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

/**
 * Creates a logger writing JSON lines to stderr at `level` and above.
 *
 * @example
 * ```ts
 * const log = createLogger("info");
 * log.info("ws.open", { room: "general" });
 * ```
 */
export function createLogger(level: LogLevel = "info"): Logger {
  const min = RANK[level];
  const write = (lvl: LogLevel) => (event: string, fields?: LogFields) => {
    if (RANK[lvl] < min) return;
    console.error(
      JSON.stringify({
        t: new Date().toISOString(),
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
