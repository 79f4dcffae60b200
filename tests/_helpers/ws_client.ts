/**
 * A real WebSocket client for tests: frames are queued as they arrive and
 * awaited by predicate, never by sleeping.
 */
import type { ServerFrame } from "../../lib/chat/protocol.ts";
import { Signal, WAIT_MS, type What } from "./wait.ts";

/** How long a test waits for an expected frame before failing. */
export const FRAME_TIMEOUT_MS = 5_000;

export class TestClient {
  readonly frames: ServerFrame[] = [];
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
    `GET ${url.pathname} HTTP/1.1`,
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

/**
 * Sends a WebSocket handshake by hand and returns the HTTP status, so tests
 * can see the 400/401/403 a refused upgrade answers with.
 */
export async function handshakeStatus(
  url: string,
  headers: Record<string, string>,
): Promise<number> {
  const u = new URL(url);
  const conn = await Deno.connect({
    hostname: u.hostname,
    port: Number(u.port),
  });
  try {
    await conn.write(
      new TextEncoder().encode(
        handshakeRequest(u, headers, btoa("0123456789abcdef")),
      ),
    );
    const buf = new Uint8Array(1024);
    const n = await conn.read(buf);
    const head = new TextDecoder().decode(buf.subarray(0, n ?? 0));
    return Number(head.split(" ")[1]);
  } finally {
    conn.close();
  }
}
