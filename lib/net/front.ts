/**
 * The guarded listener: Roomcast's public port, accepted with `Deno.listen`
 * so that the process decides what a connection may cost.
 *
 * - **A connection budget.** Connections beyond {@link FrontLimits} (client
 *   connections, and the descriptors they use) are refused — accepted and
 *   closed at once — while every open socket keeps working. Accepting that
 *   fails (`EMFILE`) is retried after a pause instead of ending the server.
 * - **Timeouts.** A connection must send a whole request head within
 *   `headersTimeoutMs`; a relayed HTTP connection is closed when idle for
 *   `idleTimeoutMs` or when a request goes unanswered for `requestTimeoutMs`.
 *   One sweep checks them all, every quarter of the shortest (at most 1 s).
 * - **WebSockets with a size limit.** An upgrade request is handed to the app
 *   in-process with an upgrader in its environment (`lib/ws/upgrade.ts`); the
 *   socket reads frames itself and refuses a message over `maxMessageBytes`
 *   from its header, closing with 1009.
 * - **Everything else** is relayed, bytes as they are, to an in-process
 *   `Deno.serve` on a loopback port, which sees the client's address (not the
 *   relay's) in `remoteAddr`. That server refuses upgrades: a WebSocket must
 *   open its own connection, as browsers do.
 *
 * @module
 */

import type { Logger } from "../log.ts";
import {
  acceptKey,
  type FieldReader,
  hasToken,
  switchingProtocolsHead,
  upgradeProblem,
} from "../ws/handshake.ts";
import {
  GuardedWebSocket,
  ReadyState,
  type SocketOptions,
} from "../ws/socket.ts";
import type {
  UpgradeEnv,
  UpgradeOptions,
  Upgrader,
  UpgradeResult,
} from "../ws/upgrade.ts";
import { AddressBudget, addressKey, ConnectionBudget, Cost } from "./budget.ts";
import {
  headerField,
  type RequestHead,
  scanRequestHead,
  upgradeUrl,
} from "./http_head.ts";
import {
  closeQuietly,
  pipe,
  plainResponse,
  serializeResponse,
  writeAll,
} from "./wire.ts";

/** Limits of the guarded listener (see `lib/net/settings.ts` for the defaults and why). */
export interface FrontLimits {
  /** Client connections open at once. */
  maxConnections: number;
  /** Descriptors those connections may use together. */
  maxDescriptors: number;
  /** A new connection must send a whole request head within this, ms. */
  headersTimeoutMs: number;
  /** A relayed request must get its first answer byte within this, ms. */
  requestTimeoutMs: number;
  /** A relayed connection with no traffic for this long is closed, ms. */
  idleTimeoutMs: number;
  /** Longest request head, bytes. */
  maxHeadBytes: number;
  /** Longest WebSocket message, bytes; longer ones close the socket with 1009. */
  maxMessageBytes: number;
  /** Longest wait for a peer's close frame after ours, ms. */
  closeTimeoutMs: number;
  /** Client connections one address (an IPv6 /64) may hold at once; 0: no cap. */
  maxConnectionsPerAddress: number;
}

/** What the app's handler gets as its environment (Hono's `c.env`). */
export interface FrontEnv extends UpgradeEnv {
  /** The client's address (as `Deno.ServeHandlerInfo.remoteAddr`). */
  remoteAddr: Deno.NetAddr;
}

/**
 * An upgrade request as the listener read it, for an {@link UpgradeLane}:
 * no `Request` is built for it.
 */
export interface LaneRequest {
  readonly method: string;
  /** The request target as sent: path and query. */
  readonly target: string;
  /** The absolute URL, the `Host` and the target (as `upgradeUrl` builds it). */
  readonly url: string;
  /** The value of field `name` (lower case) as `Headers.get` gives it, or null. */
  header(name: string): string | null;
  /** The client's address (as `Deno.ServeHandlerInfo.remoteAddr`). */
  readonly remoteAddr: Deno.NetAddr;
  /** Accepts the upgrade (once), as the upgrader in a request's environment does. */
  upgrade(options: UpgradeOptions): UpgradeResult;
}

/**
 * Answers the upgrade requests an app can answer without a `Request` and its
 * router (answered as `handler`'s would be: a `2xx` after `upgrade` opens
 * the socket), or null for the usual way, a `Request` to `handler`. In a
 * reconnect storm's profile the `Request` and Hono's dispatch were ~15 % of
 * the main thread per reconnect (see `lib/web/socket_lane.ts`).
 */
export type UpgradeLane = (request: LaneRequest) => Promise<Response> | null;

/** Why a connection was refused or cut, for metrics. */
export type FrontDrop =
  | "budget"
  | "address_budget"
  | "head_timeout"
  | "head_too_large"
  | "relay_timeout"
  | "answer_timeout"
  | "ws_too_big";

/** Options of {@link startFront}. */
export interface FrontOptions {
  hostname: string;
  port: number;
  reusePort?: boolean;
  /** The listen queue's length (Deno's default, 511, when absent). */
  tcpBacklog?: number;
  /** The app (`app.fetch`). */
  handler: (req: Request, env: FrontEnv) => Response | Promise<Response>;
  limits: FrontLimits;
  log: Logger;
  /** Counts refusals and cuts (metrics). */
  onDrop?: (reason: FrontDrop) => void;
  /**
   * Addresses many clients share (trusted proxies): not held to
   * `maxConnectionsPerAddress`, which the app's own per-client limits stand
   * in for behind them.
   */
  sharedAddress?: (hostname: string) => boolean;
  /** Upgrades answered before a `Request` is built (see {@link UpgradeLane}). */
  upgradeLane?: UpgradeLane;
}

/** Counters of a running front. */
export interface FrontStats {
  connections: number;
  descriptors: number;
  webSockets: number;
  relays: number;
}

/** A running guarded listener. */
export interface Front {
  addr: Deno.NetAddr;
  stats(): FrontStats;
  /** Stops accepting, lets the HTTP server finish in-flight requests, closes what is left. */
  shutdown(): Promise<void>;
}

/** Pause before accepting again after accepting failed (out of descriptors), ms. */
export const ACCEPT_RETRY_MS = 100;
/** At most one log line per this many ms for a repeated refusal, so an attack cannot flood the log. */
const LOG_EVERY_MS = 5_000;
/**
 * First buffer for a request head (doubled up to the limit as needed): small,
 * because a silent connection holds it until its head timeout.
 */
const HEAD_BUFFER_BYTES = 1024;

const encoder = new TextEncoder();

/** One relayed HTTP connection. */
interface Relay {
  client: Deno.Conn;
  upstream: Deno.Conn;
  /** When the client's unanswered request began (ms), or 0 when nothing is awaited. */
  awaitingSince: number;
  lastActivity: number;
  closed: boolean;
}

/**
 * The relay whose upstream connection `peer` is, as the in-process HTTP
 * server sees it: `relays` are keyed by that connection's local port, and the
 * address must match too — a local process connecting from 127.0.0.2 with a
 * live relay's port number was taken for it (and given its client's address).
 *
 * @example
 * ```ts
 * relayFrom(relays, info.remoteAddr); // undefined: not one of ours
 * ```
 */
export function relayFrom<R extends { upstream: Deno.Conn }>(
  relays: ReadonlyMap<number, R>,
  peer: Deno.NetAddr,
): R | undefined {
  const relay = relays.get(peer.port);
  if (!relay) return undefined;
  const own = relay.upstream.localAddr as Deno.NetAddr;
  return own.hostname === peer.hostname ? relay : undefined;
}

/**
 * Starts the guarded listener on `hostname:port` and its in-process HTTP
 * server.
 *
 * @example
 * ```ts
 * const front = await startFront({
 *   hostname: "0.0.0.0", port: 8000, handler: app.fetch, limits, log,
 * });
 * // …
 * await front.shutdown();
 * ```
 */
export function startFront(options: FrontOptions): Front {
  return new GuardedListener(options);
}

class GuardedListener implements Front {
  readonly addr: Deno.NetAddr;
  readonly #options: FrontOptions;
  readonly #limits: FrontLimits;
  readonly #log: Logger;
  readonly #listener: Deno.TcpListener;
  readonly #budget: ConnectionBudget;
  /** Relays by the local port of their upstream connection: the HTTP server's `remoteAddr.port`. */
  readonly #relays = new Map<number, Relay>();
  /** Open sockets, with the client connection each is on. */
  readonly #sockets = new Map<GuardedWebSocket, Deno.Conn>();
  readonly #perAddress: AddressBudget;
  /** The address key of each open client connection held to its address's share. */
  readonly #addressKeys = new Map<Deno.Conn, string>();
  /**
   * Connections whose request head has not all come, with the time (ms since
   * the epoch) they must have it by: the sweep closes them after it, so a
   * connect needs no timer of its own (a timer, set and cleared, was ~9 µs of
   * the main thread per connect in a reconnect storm's profile).
   */
  readonly #pendingHeads = new Map<Deno.Conn, number>();
  /**
   * Connections being sent the app's answer to an upgrade it refused (any
   * request saying `Upgrade: websocket` comes this way, a page or a file
   * too), with the time it must be written by: a peer that does not read
   * must not hold the answer, and its connection, for ever.
   */
  readonly #answering = new Map<Deno.Conn, number>();
  readonly #sweep: ReturnType<typeof setInterval>;
  readonly #lastLogged = new Map<string, number>();
  /** Socket options by idle timeout (ms): one object for all sockets alike. */
  readonly #socketOptions = new Map<number, SocketOptions>();
  #internal!: Deno.HttpServer<Deno.NetAddr>;
  #internalPort = 0;
  #closing = false;
  /** Set by a shutdown that waits for the last socket. */
  #allClosed: (() => void) | null = null;

  constructor(options: FrontOptions) {
    this.#options = options;
    this.#limits = options.limits;
    this.#log = options.log;
    this.#budget = new ConnectionBudget({
      connections: options.limits.maxConnections,
      descriptors: options.limits.maxDescriptors,
    });
    this.#perAddress = new AddressBudget(
      options.limits.maxConnectionsPerAddress,
    );
    this.#listener = Deno.listen({
      hostname: options.hostname,
      port: options.port,
      reusePort: options.reusePort,
      tcpBacklog: options.tcpBacklog,
    } as Deno.TcpListenOptions);
    this.addr = this.#listener.addr;
    this.#startInternal();
    const { idleTimeoutMs, requestTimeoutMs, headersTimeoutMs } = this.#limits;
    const period = Math.max(
      50,
      Math.min(
        1_000,
        Math.min(idleTimeoutMs, requestTimeoutMs, headersTimeoutMs) / 4,
      ),
    );
    this.#sweep = setInterval(() => this.#sweepOnce(), period);
    this.#acceptLoop();
  }

  stats(): FrontStats {
    return {
      connections: this.#budget.connections,
      descriptors: this.#budget.descriptors,
      webSockets: this.#sockets.size,
      relays: this.#relays.size,
    };
  }

  async shutdown(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    clearInterval(this.#sweep);
    try {
      this.#listener.close();
    } catch { /* closed */ }
    for (const waiting of [this.#pendingHeads, this.#answering]) {
      for (const conn of waiting.keys()) closeQuietly(conn);
    }
    await this.#internal.shutdown().catch(() => {});
    for (const relay of this.#relays.values()) this.#closeRelay(relay);
    for (const socket of this.#sockets.keys()) {
      socket.close(1001, "server stopping");
    }
    // Each closing socket ends within its close timeout: wait for the last.
    if (this.#sockets.size > 0) {
      await new Promise<void>((resolve) => this.#allClosed = resolve);
    }
  }

  /** Logs `event` at most once per {@link LOG_EVERY_MS}, with how many were skipped. */
  #warnSometimes(event: string, fields: Record<string, string | number> = {}) {
    const now = Date.now();
    const last = this.#lastLogged.get(event) ?? 0;
    if (now - last < LOG_EVERY_MS) return;
    this.#lastLogged.set(event, now);
    this.#log.warn(event, { ...fields, ...this.stats() });
  }

  #drop(reason: FrontDrop): void {
    this.#options.onDrop?.(reason);
  }

  #startInternal(): void {
    const server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      onListen: () => {},
    }, (req, info) => {
      const relay = relayFrom(this.#relays, info.remoteAddr);
      // Only the relay talks to this server: anyone else on this host is turned away.
      if (!relay) return new Response("not found", { status: 404 });
      const env: FrontEnv = {
        remoteAddr: relay.client.remoteAddr as Deno.NetAddr,
        upgradeWebSocket: refuseUpgrade,
      };
      return this.#options.handler(req, env);
    });
    this.#internal = server;
    this.#internalPort = server.addr.port;
    // Deno.serve's accept loop ends on an accept error (e.g. out of descriptors): start another.
    server.finished.catch((err) => {
      if (this.#closing) return;
      this.#log.error("net.http_server_failed", { error: String(err) });
      this.#startInternal();
    });
  }

  async #acceptLoop(): Promise<void> {
    while (!this.#closing) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch (err) {
        if (this.#closing || err instanceof Deno.errors.BadResource) return;
        // Out of descriptors (EMFILE) or a transient error: keep serving, try again shortly.
        this.#warnSometimes("net.accept_failed", { error: String(err) });
        await new Promise((r) => setTimeout(r, ACCEPT_RETRY_MS));
        continue;
      }
      if (!this.#admit(conn)) continue;
      this.#serve(conn).catch((err) => {
        this.#log.error("net.connection_failed", { error: String(err) });
      });
    }
  }

  /**
   * Counts `conn` against the budget and its address's share, or closes it:
   * refused connections are accepted and closed at once.
   */
  #admit(conn: Deno.TcpConn): boolean {
    const hostname = (conn.remoteAddr as Deno.NetAddr).hostname;
    const key = this.#options.sharedAddress?.(hostname)
      ? null
      : addressKey(hostname);
    if (key !== null && !this.#perAddress.take(key)) {
      closeQuietly(conn);
      this.#drop("address_budget");
      this.#warnSometimes("net.refused_address_budget");
      return false;
    }
    if (!this.#budget.admit()) {
      if (key !== null) this.#perAddress.give(key);
      closeQuietly(conn);
      this.#drop("budget");
      this.#warnSometimes("net.refused_budget");
      return false;
    }
    if (key !== null) this.#addressKeys.set(conn, key);
    return true;
  }

  /** A client connection that used `descriptors` closed. */
  #release(conn: Deno.Conn, descriptors: number): void {
    this.#budget.release(descriptors);
    const key = this.#addressKeys.get(conn);
    if (key === undefined) return;
    this.#addressKeys.delete(conn);
    this.#perAddress.give(key);
  }

  /** Reads the first request head, then upgrades or relays. */
  async #serve(conn: Deno.TcpConn): Promise<void> {
    this.#pendingHeads.set(conn, Date.now() + this.#limits.headersTimeoutMs);
    let buffer = new Uint8Array(HEAD_BUFFER_BYTES);
    let length = 0;
    let head: RequestHead | null = null;
    let relay = false;
    try {
      while (true) {
        if (length === buffer.length) {
          const bigger = new Uint8Array(
            Math.min(buffer.length * 2, this.#limits.maxHeadBytes),
          );
          bigger.set(buffer);
          buffer = bigger;
        }
        const n = await conn.read(buffer.subarray(length));
        if (n === null) break;
        length += n;
        const scan = scanRequestHead(
          buffer.subarray(0, length),
          this.#limits.maxHeadBytes,
          length - n,
        );
        if (scan.kind === "incomplete") continue;
        if (scan.kind === "too_large") {
          this.#drop("head_too_large");
          await writeAll(
            conn,
            plainResponse(431, "Request Header Fields Too Large"),
          )
            .catch(() => {});
          break;
        }
        if (scan.kind === "complete" && isUpgrade(scan.head)) head = scan.head;
        // Anything else — plain HTTP, HTTP/2, garbage — is the HTTP server's to answer.
        else relay = true;
        break;
      }
    } catch {
      // Closed by the sweep (no whole head in time), or reset by the peer.
    } finally {
      this.#pendingHeads.delete(conn);
    }
    if (head) {
      await this.#upgrade(conn, head, buffer.subarray(head.length, length));
    } else if (relay) {
      await this.#relay(conn, buffer.subarray(0, length));
    } else {
      closeQuietly(conn);
      this.#release(conn, Cost.socket);
    }
  }

  /**
   * Hands an upgrade request to the app — its lane, or a `Request` to its
   * handler — with a way to accept it; writes its answer, or the `101` and
   * starts the socket.
   */
  async #upgrade(
    conn: Deno.TcpConn,
    head: RequestHead,
    rest: Uint8Array,
  ): Promise<void> {
    const url = upgradeUrl(head);
    const remoteAddr = conn.remoteAddr as Deno.NetAddr;
    let socket: GuardedWebSocket | null = null;
    const accept: Accept = (fields, method, options) => {
      if (socket) return { ok: false, problem: "already upgraded" };
      const problem = upgradeProblem(fields, method);
      if (problem) return { ok: false, problem };
      socket = this.#newSocket(options.idleTimeout * 1000);
      return { ok: true, socket, response: new Response(null) };
    };
    let response: Response;
    try {
      const answer = url === null
        ? null
        : this.#viaLane(head, url, remoteAddr, accept);
      if (answer) response = await answer;
      else {
        const request = url === null ? null : requestOf(head, url);
        if (request === null) {
          await writeAll(conn, plainResponse(400, "Bad Request")).catch(
            () => {},
          );
          closeQuietly(conn);
          this.#release(conn, Cost.socket);
          return;
        }
        response = await this.#options.handler(request, {
          remoteAddr,
          upgradeWebSocket: (req, options) =>
            req === request
              ? accept(req.headers, req.method, options)
              : { ok: false, problem: "not this request" },
        });
      }
    } catch (err) {
      this.#log.error("net.upgrade_handler_failed", { error: String(err) });
      response = new Response(null, { status: 500 });
    }
    const accepted = socket as GuardedWebSocket | null;
    if (accepted && accepted.readyState !== ReadyState.connecting) {
      // The app closed it before it opened.
      closeQuietly(conn);
      this.#release(conn, Cost.socket);
      return;
    }
    if (accepted && response.status < 300 && !this.#closing) {
      response.body?.cancel();
      const key = acceptKey(headerField(head, "sec-websocket-key") ?? "");
      conn.setNoDelay(true);
      this.#sockets.set(accepted, conn);
      // The 101 is the socket's first write, so it opens without waiting for it.
      accepted.attach(
        conn,
        rest.length > 0 ? rest.slice() : undefined,
        encoder.encode(switchingProtocolsHead(key, response.headers)),
      );
      return;
    }
    accepted?.abort();
    this.#answering.set(conn, Date.now() + this.#limits.requestTimeoutMs);
    try {
      await writeAll(conn, await serializeResponse(response));
    } catch {
      // The peer went, the sweep gave up on it, or the answer's body failed.
    } finally {
      this.#answering.delete(conn);
      closeQuietly(conn);
      this.#release(conn, Cost.socket);
    }
  }

  /**
   * The lane's answer to an upgrade, or null when there is no lane, it
   * declines, or a field holds a byte a `Request` would refuse (that request
   * goes the usual way, to its 400).
   */
  #viaLane(
    head: RequestHead,
    url: string,
    remoteAddr: Deno.NetAddr,
    accept: Accept,
  ): Promise<Response> | null {
    const lane = this.#options.upgradeLane;
    if (!lane || !head.fields.every(([, value]) => !BAD_VALUE.test(value))) {
      return null;
    }
    const fields: FieldReader = { get: (name) => headerField(head, name) };
    return lane({
      method: head.method,
      target: head.target,
      url,
      header: fields.get,
      remoteAddr,
      upgrade: (options) => accept(fields, head.method, options),
    });
  }

  /** A socket with the options shared by every socket of its idle timeout. */
  #newSocket(idleTimeoutMs: number): GuardedWebSocket {
    let options = this.#socketOptions.get(idleTimeoutMs);
    if (!options) {
      options = {
        maxMessageBytes: this.#limits.maxMessageBytes,
        idleTimeoutMs,
        closeTimeoutMs: this.#limits.closeTimeoutMs,
        onFail: (socket, code, reason, bytes) => {
          if (code === 1009) this.#drop("ws_too_big");
          // The size and the address, never the content.
          this.#log.warn("ws.refused_frame", {
            code,
            reason,
            bytes,
            limit: this.#limits.maxMessageBytes,
            ip: socket.remoteAddr?.hostname ?? "unknown",
          });
        },
        onFinished: (socket) => {
          // Released once the socket was attached (a socket that never opened is released by #upgrade).
          const conn = this.#sockets.get(socket);
          if (conn && this.#sockets.delete(socket)) {
            this.#release(conn, Cost.socket);
          }
          if (this.#sockets.size === 0) this.#allClosed?.();
        },
      };
      this.#socketOptions.set(idleTimeoutMs, options);
    }
    return new GuardedWebSocket(options);
  }

  /** Relays `conn` to the in-process HTTP server, starting with the bytes already read. */
  async #relay(conn: Deno.TcpConn, initial: Uint8Array): Promise<void> {
    if (!this.#budget.grow(Cost.relayed - Cost.socket)) {
      this.#drop("budget");
      this.#warnSometimes("net.refused_budget");
      await writeAll(conn, plainResponse(503, "Service Unavailable")).catch(
        () => {},
      );
      closeQuietly(conn);
      this.#release(conn, Cost.socket);
      return;
    }
    let upstream: Deno.TcpConn;
    try {
      upstream = await Deno.connect({
        hostname: "127.0.0.1",
        port: this.#internalPort,
      });
    } catch (err) {
      this.#warnSometimes("net.relay_connect_failed", { error: String(err) });
      await writeAll(conn, plainResponse(503, "Service Unavailable")).catch(
        () => {},
      );
      closeQuietly(conn);
      this.#release(conn, Cost.relayed);
      return;
    }
    const port = (upstream.localAddr as Deno.NetAddr).port;
    const now = Date.now();
    const relay: Relay = {
      client: conn,
      upstream,
      awaitingSince: now,
      lastActivity: now,
      closed: false,
    };
    this.#relays.set(port, relay);
    // A direction that fails (a reset, a timeout's close) ends both.
    const cut = () => this.#closeRelay(relay);
    const toServer = pipe(conn, upstream, initial, () => {
      relay.lastActivity = Date.now();
      if (relay.awaitingSince === 0) relay.awaitingSince = relay.lastActivity;
    }).catch(cut);
    const toClient = pipe(upstream, conn, null, () => {
      relay.lastActivity = Date.now();
      relay.awaitingSince = 0;
    }).catch(cut);
    await Promise.all([toServer, toClient]);
    this.#closeRelay(relay);
    this.#relays.delete(port);
    this.#release(conn, Cost.relayed);
  }

  #closeRelay(relay: Relay): void {
    if (relay.closed) return;
    relay.closed = true;
    closeQuietly(relay.client);
    closeQuietly(relay.upstream);
  }

  /** Closes the connections of `deadlines` past theirs at `now`, counted as `reason`. */
  #closeLate(
    deadlines: Map<Deno.Conn, number>,
    now: number,
    reason: FrontDrop,
  ): void {
    for (const [conn, deadline] of deadlines) {
      if (now < deadline) continue;
      deadlines.delete(conn);
      this.#drop(reason);
      closeQuietly(conn);
    }
  }

  #sweepOnce(): void {
    const now = Date.now();
    this.#closeLate(this.#pendingHeads, now, "head_timeout");
    this.#closeLate(this.#answering, now, "answer_timeout");
    const { idleTimeoutMs, requestTimeoutMs } = this.#limits;
    for (const relay of this.#relays.values()) {
      const late = relay.awaitingSince > 0
        ? now - relay.awaitingSince > requestTimeoutMs
        : now - relay.lastActivity > idleTimeoutMs;
      if (late) {
        if (relay.awaitingSince > 0) this.#drop("relay_timeout");
        this.#closeRelay(relay);
      }
    }
    for (const socket of this.#sockets.keys()) socket.heartbeat(now);
  }
}

/** Accepts an upgrade whose fields and method are these, once: its socket, or why not. */
type Accept = (
  fields: FieldReader,
  method: string,
  options: UpgradeOptions,
) => UpgradeResult;

/** What a `Request`'s header value may not hold (after the head's own trimming and line split). */
const BAD_VALUE = /[\0\r\n]/;

/**
 * The `Request` of an upgrade's head, or null when a `Request` refuses it (a
 * field value with a byte a header may not hold).
 */
function requestOf(head: RequestHead, url: string): Request | null {
  try {
    const request = new Request(url, { method: head.method });
    // Appended one by one to the request's own headers: the same checks
    // as a `headers` init, without WebIDL converting the list of pairs
    // first (a storm's heap profile: 8 KiB of garbage per upgrade in
    // `Request` alone; 6.7–7.1 µs against 9.3–12.6 for a browser's 13
    // fields, and a `Headers` init was four times the pairs' cost).
    const headers = request.headers;
    for (const [name, value] of head.fields) headers.append(name, value);
    return request;
  } catch {
    return null;
  }
}

/** The in-process HTTP server's upgrader: a WebSocket must come on a connection of its own. */
const refuseUpgrade: Upgrader = () => ({
  ok: false,
  problem: "a WebSocket must open its own connection",
});

function isUpgrade(head: RequestHead): boolean {
  return hasToken(headerField(head, "upgrade"), "websocket");
}
