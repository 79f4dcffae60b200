/**
 * Settings of the listener, read from the environment (pure: the caller
 * passes the variables): which server listens, the connection budget, the
 * HTTP timeouts and the WebSocket message limit.
 *
 * | Variable                  | Default                | Meaning |
 * | ------------------------- | ---------------------- | ------- |
 * | `LISTENER`                | `guarded` (`deno` on Deno Deploy) | `guarded`: `lib/net/front.ts`; `deno`: plain `Deno.serve` (no message limit before buffering, no budget, no timeouts) |
 * | `MAX_CONNECTIONS`         | what the descriptors allow | client connections open at once |
 * | `WS_MAX_MESSAGE_BYTES`    | 1048576                | longest WebSocket message; longer → close 1009 |
 * | `HTTP_HEADERS_TIMEOUT_MS` | 5000                   | a new connection's first request head must arrive within this |
 * | `HTTP_IDLE_TIMEOUT_MS`    | 5000                   | an HTTP connection with no traffic is closed after this |
 * | `HTTP_REQUEST_TIMEOUT_MS` | 10000                  | a request unanswered (or its head unfinished) this long is closed |
 * | `MAX_CONNECTIONS_PER_IP`  | 1000                   | client connections one address (an IPv6 /64) may hold; trusted proxies exempt; 0 = no cap |
 *
 * @module
 */

import { reservedDescriptors } from "./budget.ts";
import type { FrontLimits } from "./front.ts";

/** Which server listens. */
export type ListenerKind = "guarded" | "deno";

/** The listener's settings. */
export interface ListenerSettings {
  kind: ListenerKind;
  limits: FrontLimits;
}

/**
 * Longest WebSocket message by default: 1 MiB. No peer can make the server
 * hold more than this (plus a 16 KiB read buffer) for one message, while
 * anything up to it — far over the protocol's 16 KiB `MAX_FRAME_BYTES` —
 * still gets the protocol's `frame_too_large` answer rather than a close, as
 * clients expect of a frame that is merely too long.
 */
export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;
/** A browser sends its request head at once; 5 s is generous for a slow link and short for an attacker. */
export const DEFAULT_HEADERS_TIMEOUT_MS = 5_000;
/** Browsers reopen an HTTP connection at no cost; an idle one only holds a descriptor. */
export const DEFAULT_IDLE_TIMEOUT_MS = 5_000;
/** Roomcast's requests are answered in milliseconds; 10 s also bounds a trickled second request. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/** Longest request head: cookies and all, a browser's is a few KiB. */
export const MAX_HEAD_BYTES = 32 * 1024;
/** Longest wait for a peer's close frame after the server's. */
export const CLOSE_TIMEOUT_MS = 2_000;
/**
 * Client connections one address may hold by default: twice the WebSockets
 * it may (`MAX_SOCKETS_PER_IP`, 500), so a NAT's sockets and their page loads
 * fit. Without it one address held the whole budget: 200 keep-alive
 * connections against `MAX_CONNECTIONS=200` cut every other client off, and
 * at the defaults ~6,300 relayed ones would.
 */
export const DEFAULT_MAX_CONNECTIONS_PER_IP = 1_000;
/**
 * Connections the kernel holds for the server before it accepts them (the
 * listen queue; Linux caps it at `net.core.somaxconn`, 4,096 by default since
 * 5.4). Deno's default, 511, overflowed in a reconnect storm: 10,000 clients
 * back within half a second, and every connection past the queue was dropped
 * by the kernel, its client trying again only after 1 s, then 3 s (a storm
 * took 7.4–8.4 s with this against 8.7 s with 511; `ListenOverflows` counted
 * the drops).
 */
export const LISTEN_BACKLOG = 4_096;
/** Descriptors assumed when the limit cannot be read (a common default soft limit). */
const FALLBACK_NOFILE = 1_024;

/** A setting with a bad value; the message names it. */
export class ListenerSettingsError extends Error {}

function positiveInt(
  env: Record<string, string | undefined>,
  name: string,
  fallback: number,
): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    throw new ListenerSettingsError(`${name} must be a positive integer`);
  }
  return n;
}

/**
 * The per-address cap, at most half of what the listener admits: one address
 * must never hold the whole budget, which a fixed 1,000 did where the budget is
 * smaller (960 with the fallback descriptor limit, or a low `MAX_CONNECTIONS`).
 */
function perAddressCap(cap: number, maxConnections: number): number {
  return cap === 0
    ? 0
    : Math.min(cap, Math.max(1, Math.floor(maxConnections / 2)));
}

function nonNegativeInt(
  env: Record<string, string | undefined>,
  name: string,
  fallback: number,
): number {
  return env[name] === "0" ? 0 : positiveInt(env, name, fallback);
}

/**
 * The listener's settings from `env`, for a process whose soft `nofile`
 * limit is `nofile` (null: unknown) shared by `workers` serving workers.
 *
 * @example
 * ```ts
 * const { kind, limits } = listenerSettings(Deno.env.toObject(), 65536, 1, false);
 * limits.maxDescriptors; // 65536 − 1024 reserved
 * ```
 */
export function listenerSettings(
  env: Record<string, string | undefined>,
  nofile: number | null,
  workers: number,
  onDeploy: boolean,
): ListenerSettings {
  const kindRaw = env.LISTENER || (onDeploy ? "deno" : "guarded");
  if (kindRaw !== "guarded" && kindRaw !== "deno") {
    throw new ListenerSettingsError("LISTENER must be guarded or deno");
  }
  const limit = nofile ?? FALLBACK_NOFILE;
  // Each worker gets its share of what the process may open.
  const maxDescriptors = Math.max(
    1,
    Math.floor((limit - reservedDescriptors(limit)) / Math.max(1, workers)),
  );
  const maxConnections = positiveInt(env, "MAX_CONNECTIONS", maxDescriptors);
  return {
    kind: kindRaw,
    limits: {
      maxConnections,
      maxDescriptors,
      maxMessageBytes: positiveInt(
        env,
        "WS_MAX_MESSAGE_BYTES",
        DEFAULT_MAX_MESSAGE_BYTES,
      ),
      headersTimeoutMs: positiveInt(
        env,
        "HTTP_HEADERS_TIMEOUT_MS",
        DEFAULT_HEADERS_TIMEOUT_MS,
      ),
      idleTimeoutMs: positiveInt(
        env,
        "HTTP_IDLE_TIMEOUT_MS",
        DEFAULT_IDLE_TIMEOUT_MS,
      ),
      requestTimeoutMs: positiveInt(
        env,
        "HTTP_REQUEST_TIMEOUT_MS",
        DEFAULT_REQUEST_TIMEOUT_MS,
      ),
      maxHeadBytes: MAX_HEAD_BYTES,
      closeTimeoutMs: CLOSE_TIMEOUT_MS,
      maxConnectionsPerAddress: perAddressCap(
        nonNegativeInt(
          env,
          "MAX_CONNECTIONS_PER_IP",
          DEFAULT_MAX_CONNECTIONS_PER_IP,
        ),
        maxConnections,
      ),
    },
  };
}
