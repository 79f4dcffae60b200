/**
 * A real WebSocket client for tests: frames are queued as they arrive and
 * awaited by predicate, never by sleeping.
 */
import type { ServerFrame } from "../../lib/chat/protocol.ts";
import { Signal, WAIT_MS, type What } from "../../support/wait.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** How long a test waits for an expected frame before failing. */
export const FRAME_TIMEOUT_MS = 5_000;

export class TestClient {
  readonly frames: ServerFrame[] = [];
  /** The text of each frame as the server sent it, in step with `frames` (for byte-for-byte checks). */
  readonly texts: string[] = [];
  readonly socket: WebSocket;
  readonly closed: Promise<CloseEvent>;
  #waiters: {
    test: (f: ServerFrame) => boolean;
    resolve: (f: ServerFrame) => void;
  }[] = [];
  #cursor = 0;

  private constructor(socket: WebSocket) {
    this.socket = socket;
    this.closed = new Promise((resolve) =>
      socket.addEventListener("close", resolve)
    );
    socket.addEventListener("message", (e) => {
      const frame = JSON.parse(e.data) as ServerFrame;
      this.texts.push(e.data);
      this.frames.push(frame);
      this.#waiters = this.#waiters.filter((w) => {
        if (!w.test(frame)) return true;
        w.resolve(frame);
        return false;
      });
    });
  }

  /** Connects with the given cookie and Origin, and waits for the socket to open. */
  static async connect(
    url: string,
    { cookie, origin }: { cookie?: string; origin?: string },
  ): Promise<TestClient> {
    const headers: Record<string, string> = {};
    if (cookie) headers.cookie = cookie;
    if (origin) headers.origin = origin;
    // Deno's constructor takes `{ headers }`; the DOM lib (for islands) only knows protocols.
    const socket = new WebSocket(url, { headers } as unknown as string[]);
    const client = new TestClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.addEventListener("open", () => resolve(), { once: true });
      socket.addEventListener(
        "error",
        () => reject(new Error("connect failed")),
        { once: true },
      );
    });
    return client;
  }

  send(frame: unknown): void {
    this.socket.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /**
   * The next frame (after those already consumed by `next`) matching `test`.
   * Frames that do not match are skipped over.
   */
  next<T extends ServerFrame = ServerFrame>(
    test: (f: ServerFrame) => boolean = () => true,
    timeoutMs = FRAME_TIMEOUT_MS,
  ): Promise<T> {
    while (this.#cursor < this.frames.length) {
      const frame = this.frames[this.#cursor++];
      if (test(frame)) return Promise.resolve(frame as T);
    }
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(new Error(`no matching frame within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = {
        test,
        resolve: (f: ServerFrame) => {
          clearTimeout(timer);
          this.#cursor = this.frames.length;
          resolve(f as T);
        },
      };
      this.#waiters.push(waiter);
    });
  }

  /**
   * Resolves once `ready()` holds, re-checked after every frame this client
   * receives — after the listeners attached before the call, such as a
   * `RecoveringReader`'s bookkeeping. Rejects after `timeoutMs`, or as
   * soon as the socket closes with `ready()` still false.
   */
  async until(
    ready: () => boolean,
    what: What,
    timeoutMs: number = WAIT_MS,
  ): Promise<void> {
    const signal = new Signal();
    const notify = () => signal.notify();
    this.socket.addEventListener("message", notify);
    this.socket.addEventListener("close", notify);
    try {
      await signal.until(
        () => ready() || this.socket.readyState === WebSocket.CLOSED,
        what,
        timeoutMs,
      );
    } finally {
      this.socket.removeEventListener("message", notify);
      this.socket.removeEventListener("close", notify);
    }
    if (!ready()) {
      throw new Error(
        `socket closed before: ${typeof what === "function" ? what() : what}`,
      );
    }
  }

  /** Waits for a frame of `type`. */
  nextOf<K extends ServerFrame["type"]>(
    type: K,
  ): Promise<Extract<ServerFrame, { type: K }>> {
    return this.next((f) => f.type === type);
  }

  /** Closes and waits for the close to complete. */
  async close(): Promise<void> {
    if (this.socket.readyState !== WebSocket.CLOSED) this.socket.close();
    await this.closed;
  }
}

/** The text of a client WebSocket handshake for `url` with extra `headers`. */
export function handshakeRequest(
  url: URL,
  headers: Record<string, string>,
  key: string,
): string {
  return [
    `GET ${url.pathname}${url.search} HTTP/1.1`,
    `Host: ${url.host}`,
    "Upgrade: websocket",
    "Connection: Upgrade",
    "Sec-WebSocket-Version: 13",
    `Sec-WebSocket-Key: ${key}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    "",
    "",
  ].join("\r\n");
}

/** A WebSocket opened by hand over TCP: nothing reads it unless the test does. */
export interface RawSocket {
  conn: Deno.TcpConn;
  /** The handshake's HTTP status: 101, or the 4xx of a refused upgrade. */
  status: number;
  /** Bytes that came with the handshake response, after its header. */
  rest: Uint8Array;
}

/** Writes all of `data` to `conn` (a single write may take only part of it). */
export async function writeAll(
  conn: Deno.Conn,
  data: Uint8Array,
): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}

/**
 * Performs the client handshake by hand and returns the connection with the
 * answer's status, open (the caller closes it), for tests that read and
 * write raw frames or see what a refused upgrade answers.
 */
export async function openRawSocket(
  url: string,
  headers: Record<string, string>,
): Promise<RawSocket> {
  const u = new URL(url);
  const conn = await Deno.connect({
    hostname: u.hostname,
    port: Number(u.port),
  });
  const key = btoa(
    String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))),
  );
  await writeAll(conn, encoder.encode(handshakeRequest(u, headers, key)));
  let buf = new Uint8Array(0);
  for (let reads = 0; reads < 64; reads++) {
    const chunk = new Uint8Array(1024);
    const n = await conn.read(chunk);
    if (n === null) break;
    const next = new Uint8Array(buf.length + n);
    next.set(buf);
    next.set(chunk.subarray(0, n), buf.length);
    buf = next;
    const text = decoder.decode(buf);
    const end = text.indexOf("\r\n\r\n");
    if (end >= 0) {
      const headerBytes = encoder.encode(text.slice(0, end + 4)).length;
      return {
        conn,
        status: Number(text.split(" ")[1]),
        rest: buf.slice(headerBytes),
      };
    }
  }
  conn.close();
  throw new Error("no handshake response");
}

/**
 * Sends a WebSocket handshake by hand and returns the HTTP status and the
 * JSON body of a refused upgrade (`{error, message}`), read until it parses
 * or the server closes.
 */
export async function refusedHandshake(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: unknown }> {
  const { conn, status, rest } = await openRawSocket(url, headers);
  let text = decoder.decode(rest);
  try {
    for (let reads = 0; reads < 64; reads++) {
      try {
        return { status, body: JSON.parse(text) };
      } catch { /* not all of it yet */ }
      const chunk = new Uint8Array(1024);
      const n = await conn.read(chunk);
      if (n === null) break;
      text += decoder.decode(chunk.subarray(0, n));
    }
    throw new Error(`no JSON body after the handshake's ${status}: ${text}`);
  } finally {
    conn.close();
  }
}

/**
 * Sends a WebSocket handshake by hand and returns the HTTP status, so tests
 * can see the 400/401/403 a refused upgrade answers with.
 */
export async function handshakeStatus(
  url: string,
  headers: Record<string, string>,
): Promise<number> {
  const { conn, status } = await openRawSocket(url, headers);
  conn.close();
  return status;
}
