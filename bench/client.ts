/**
 * The benchmark's WebSocket clients, the counters they feed and the paced
 * sender.
 *
 * Every benchmark message carries its own tag in its text:
 * `bench <phase><step> <sentAt> <clientId>` padded with `x` to `--size`, where
 * phase is `w` (warm-up) or `m` (measured), step is the ramp step (0 outside
 * the ramp) and sentAt is `performance.now()` at the send. All clients live in
 * this process, so one monotonic clock stamps both ends, and a message that
 * arrives after its step has ended is counted as stray, never as a delivery of
 * the next step.
 *
 * With `--reactions=P`, P % of the sends are reactions instead (a toggle of
 * 👍 on the newest message the sender has seen): a `react` frame whose
 * `clientId` carries the same tag, `bench_<phase><step>_<sentAt µs>_<id>_<k>`,
 * measured when its `event` comes back like a message.
 *
 * @module
 */

import { withTimeout } from "../lib/async.ts";
import { Samples, sleep } from "./common.ts";

/** `w`: warm-up (unmeasured); `m`: measured. */
export type Phase = "w" | "m";

/** Default longest wait from opening a socket to its `welcome`. */
export const WELCOME_TIMEOUT_MS = 10_000;
const CLOSE_TIMEOUT_MS = 5_000;
/** Frames recognized without a JSON parse (the hot path of the client). */
const MESSAGE_PREFIX = '{"type":"message"';
const PRESENCE_PREFIX = '{"type":"presence"';
const TEXT_KEY = '"text":"bench ';
const EVENT_PREFIX = '{"type":"event"';
/** The bare server relays our `react` frame as is. */
const REACT_PREFIX = '{"type":"react"';
const REACTION_KEY = '"clientId":"bench_';
const SEQ_KEY = '"seq":';

/** The text of one benchmark message (see the module doc). */
export function benchText(
  phase: Phase,
  step: number,
  sentAt: number,
  id: string,
  size: number,
): string {
  const head = `bench ${phase}${step} ${sentAt.toFixed(3)} ${id}`;
  return head.length >= size
    ? head
    : head + " " + "x".repeat(size - head.length - 1);
}

/**
 * The `clientId` of one benchmark reaction: the tag of {@link benchText} in
 * the characters a `clientId` allows (letters, digits, `_`, `-`), unique per
 * send.
 */
export function reactionClientId(
  phase: Phase,
  step: number,
  sentAt: number,
  id: string,
  k: number,
): string {
  return `bench_${phase}${step}_${Math.round(sentAt * 1000)}_${id}_${k}`;
}

/** Reads the tag from a reaction's `clientId` at `start` (after `bench_`); null if malformed. */
export function parseReactionTag(s: string, start: number): BenchTag | null {
  const us1 = s.indexOf("_", start);
  const us2 = us1 < 0 ? -1 : s.indexOf("_", us1 + 1);
  if (us2 < 0) return null;
  const phase = s[start];
  const step = Number(s.slice(start + 1, us1));
  const sentAtUs = Number(s.slice(us1 + 1, us2));
  if (
    (phase !== "w" && phase !== "m") || us1 === start + 1 ||
    !Number.isInteger(step) || !Number.isInteger(sentAtUs)
  ) return null;
  return { phase, step, sentAt: sentAtUs / 1000 };
}

/** What a delivered benchmark message says about itself. */
export interface BenchTag {
  phase: Phase;
  step: number;
  /** `performance.now()` at the send. */
  sentAt: number;
}

/** Reads the tag from a message text; null if it is not a benchmark message. */
export function parseBenchText(text: unknown): BenchTag | null {
  if (typeof text !== "string" || !text.startsWith("bench ")) return null;
  return parseTagAt(text, 6);
}

function parseTagAt(s: string, start: number): BenchTag | null {
  const sp1 = s.indexOf(" ", start);
  if (sp1 < 0) return null;
  const sp2 = s.indexOf(" ", sp1 + 1);
  if (sp2 < 0) return null;
  const phase = s[start];
  const step = Number(s.slice(start + 1, sp1));
  const sentAt = Number(s.slice(sp1 + 1, sp2));
  if (
    (phase !== "w" && phase !== "m") || sp1 === start + 1 ||
    !Number.isInteger(step) || !Number.isFinite(sentAt)
  ) return null;
  return { phase, step, sentAt };
}

/** One received frame, as far as the benchmark cares. */
export type FrameKind =
  /** A measured delivery: a message, or a reaction's event. */
  | { kind: "message"; tag: BenchTag | null }
  | { kind: "presence" }
  /** `process`: the bare server's pid, which a room's broadcast does not leave. */
  | { kind: "welcome"; process?: number }
  | { kind: "error"; code: string }
  | { kind: "resync" }
  | { kind: "other" }
  | { kind: "bad" };

/**
 * Classifies a text frame. `message` and `presence` frames — nearly all the
 * traffic — are recognized by prefix and the tag read by string search,
 * without a JSON parse, so the client keeps up with the servers; anything
 * else is parsed. Roomcast nests the stored message; the bare server relays
 * ours as is: both keep `"text":"bench …"` verbatim (the text has nothing to
 * escape). A reaction comes back as Roomcast's `event` or as our own `react`
 * relayed by the bare server, its tag in `"clientId":"bench_…"`.
 */
export function classifyFrame(data: string): FrameKind {
  if (data.startsWith(MESSAGE_PREFIX)) {
    const i = data.indexOf(TEXT_KEY);
    if (i >= 0) {
      return { kind: "message", tag: parseTagAt(data, i + TEXT_KEY.length) };
    }
  } else if (data.startsWith(PRESENCE_PREFIX)) {
    return { kind: "presence" };
  } else if (data.startsWith(EVENT_PREFIX) || data.startsWith(REACT_PREFIX)) {
    const i = data.indexOf(REACTION_KEY);
    if (i >= 0) {
      return {
        kind: "message",
        tag: parseReactionTag(data, i + REACTION_KEY.length),
      };
    }
  }
  let frame;
  try {
    frame = JSON.parse(data);
  } catch {
    return { kind: "bad" };
  }
  switch (frame?.type) {
    case "message":
      return {
        kind: "message",
        tag: parseBenchText(frame.message?.text ?? frame.text),
      };
    case "presence":
      return { kind: "presence" };
    case "welcome":
      return typeof frame.process === "number"
        ? { kind: "welcome", process: frame.process }
        : { kind: "welcome" };
    case "error":
      return { kind: "error", code: String(frame.code) };
    case "resync":
      return { kind: "resync" };
    default:
      return { kind: "other" }; // history pages, typing, others' events…: not measured
  }
}

/**
 * Counters of one measurement (a fanout run, a ramp step, the idle liveness
 * check), shared by all clients. Deliveries of another step are `stray`;
 * measured deliveries after `deadline` are `late` (they still count as
 * delivered, not lost, and their latency is sampled).
 */
export class Tally {
  readonly latencies = new Samples();
  /** Send time of each latency sample (same index), for the timeline. */
  readonly sentAt = new Samples();
  /** Measured deliveries per room that arrived by `deadline`. */
  readonly received: number[];
  /** Measured sends per room. */
  readonly sent: number[];
  /** `rate_limited` replies to measured sends, per room. */
  readonly rateLimited: number[];
  /** Measured deliveries after `deadline`. */
  late = 0;
  /** `performance.now()` after which measured deliveries are late. */
  deadline = Infinity;
  /** `presence` frames received while `measuring`. */
  presenceFrames = 0;
  measuring = false;
  warmupReceived = 0;
  warmupRateLimited = 0;
  /** Benchmark messages of another step (late arrivals from an earlier one). */
  stray = 0;
  readonly otherErrors = new Map<string, number>();
  resyncs = 0;
  badFrames = 0;
  readonly unexpectedCloses = new Map<number, number>();
  sendFailures = 0;
  lastDeliveryAt = 0;
  /** Time of the last benchmark message of any step or phase. */
  lastBenchFrameAt = 0;

  constructor(readonly step: number, rooms: number) {
    this.received = new Array(rooms).fill(0);
    this.sent = new Array(rooms).fill(0);
    this.rateLimited = new Array(rooms).fill(0);
  }

  /** Counts one delivered benchmark message in `room`, received at `now`. */
  deliver(tag: BenchTag, room: number, now: number): void {
    this.lastBenchFrameAt = now;
    if (tag.step !== this.step) {
      this.stray++;
    } else if (tag.phase === "w") {
      this.warmupReceived++;
    } else {
      if (now > this.deadline) this.late++;
      else {
        this.received[room]++;
        this.lastDeliveryAt = now;
      }
      this.latencies.push(now - tag.sentAt);
      this.sentAt.push(tag.sentAt);
    }
  }

  /** Measured deliveries, in time or late. */
  get delivered(): number {
    let n = this.late;
    for (const r of this.received) n += r;
    return n;
  }

  /** Deliveries owed: (sent − rate_limited) × members, per room. */
  expected(members: (room: number) => number): number {
    let n = 0;
    for (let r = 0; r < this.sent.length; r++) {
      n += (this.sent[r] - this.rateLimited[r]) * members(r);
    }
    return n;
  }

  /** `performance.now()` of the first and last close nobody asked for (0: none). */
  firstUnexpectedCloseAt = 0;
  lastUnexpectedCloseAt = 0;

  /** Records a close nobody asked for. */
  closedUnexpectedly(code: number, now: number = performance.now()): void {
    this.unexpectedCloses.set(code, (this.unexpectedCloses.get(code) ?? 0) + 1);
    if (this.firstUnexpectedCloseAt === 0) this.firstUnexpectedCloseAt = now;
    this.lastUnexpectedCloseAt = now;
  }

  /** Counts an `error` frame; `rate_limited` is attributed to the sender's last phase. */
  error(code: string, lastPhase: Phase, room: number): void {
    if (code === "rate_limited") {
      if (lastPhase === "m") this.rateLimited[room]++;
      else this.warmupRateLimited++;
    } else {
      this.otherErrors.set(code, (this.otherErrors.get(code) ?? 0) + 1);
    }
  }
}

/** Where clients report: the tally of the current measurement, swapped between steps. */
export interface Sink {
  tally: Tally;
}

/** One benchmark client: a real WebSocket in a room. */
export class BenchClient {
  /** Phase of this client's last send, to attribute `rate_limited` replies. */
  lastPhase: Phase = "w";
  /** The newest message this client has seen (1 on the bare server, which has no `seq`); 0: none yet. */
  lastSeq = 0;
  /** The bare server process this client's welcome named; null for Roomcast (whose layer spans processes). */
  process: number | null = null;
  /** Whether this client's next reaction puts 👍 on (else takes it back). */
  private reactOn = true;
  closing = false;
  readonly welcome: Promise<void>;
  readonly closed: Promise<void>;

  constructor(
    readonly socket: WebSocket,
    readonly room: number,
    readonly id: string,
    sink: Sink,
  ) {
    let welcomed: () => void;
    let failed: (err: Error) => void;
    this.welcome = new Promise<void>((resolve, reject) => {
      welcomed = resolve;
      failed = reject;
    });
    this.welcome.catch(() => {});
    this.closed = new Promise<void>((resolve) => {
      socket.addEventListener("close", (e: CloseEvent) => {
        if (!this.closing) sink.tally.closedUnexpectedly(e.code);
        failed(new Error(`socket closed (${e.code}) before welcome`));
        resolve();
      });
    });
    socket.addEventListener("error", () => {
      failed(new Error("socket error before welcome"));
    });
    socket.addEventListener("message", (e: MessageEvent) => {
      const now = performance.now();
      const tally = sink.tally;
      if (typeof e.data !== "string") {
        tally.badFrames++;
        return;
      }
      const data: string = e.data;
      const frame = classifyFrame(data);
      switch (frame.kind) {
        case "message":
          if (frame.tag) tally.deliver(frame.tag, room, now);
          else tally.badFrames++;
          if (data.startsWith(MESSAGE_PREFIX)) this.lastSeq = seqOf(data);
          return;
        case "presence":
          if (tally.measuring) tally.presenceFrames++;
          return;
        case "welcome":
          this.process = frame.process ?? null;
          welcomed();
          return;
        case "error":
          tally.error(frame.code, this.lastPhase, room);
          return;
        case "resync":
          tally.resyncs++;
          return;
        case "bad":
          tally.badFrames++;
          return;
        default:
          return;
      }
    });
  }

  get open(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  /**
   * Connects and waits for `welcome` (at most `timeoutMs`); through
   * `httpClient` (e.g. `Deno.createHttpClient({ localAddress })`) when given.
   */
  static async connect(
    url: string,
    headers: Record<string, string>,
    room: number,
    id: string,
    sink: Sink,
    timeoutMs: number = WELCOME_TIMEOUT_MS,
    httpClient?: Deno.HttpClient,
  ): Promise<BenchClient> {
    // Deno's constructor takes `{ headers, client }`; the DOM lib only knows protocols.
    const socket = new WebSocket(
      url,
      { headers, client: httpClient } as unknown as string[],
    );
    const client = new BenchClient(socket, room, id, sink);
    try {
      await withTimeout(
        client.welcome,
        timeoutMs,
        `welcome on ${url}`,
      );
    } catch (err) {
      await client.close();
      throw err;
    }
    return client;
  }

  /**
   * Sends one benchmark message stamped `sentAt` (this process' clock unless
   * told otherwise); false if the socket is not open.
   */
  sendBench(
    phase: Phase,
    step: number,
    k: number,
    size: number,
    sentAt: number = performance.now(),
  ): boolean {
    if (this.socket.readyState !== WebSocket.OPEN) return false;
    const text = benchText(phase, step, sentAt, this.id, size);
    this.lastPhase = phase;
    // The text and the id need no JSON escaping.
    this.socket.send(
      `{"type":"message","text":"${text}","clientId":"${this.id}-${phase}${step}-${k}"}`,
    );
    return true;
  }

  /**
   * Sends one benchmark reaction (a toggle of 👍 on the newest message seen),
   * or a message while none has been seen; false if the socket is not open.
   */
  sendReaction(phase: Phase, step: number, k: number, size: number): boolean {
    if (this.lastSeq === 0) return this.sendBench(phase, step, k, size);
    if (this.socket.readyState !== WebSocket.OPEN) return false;
    const clientId = reactionClientId(
      phase,
      step,
      performance.now(),
      this.id,
      k,
    );
    this.lastPhase = phase;
    this.socket.send(
      `{"type":"react","target":${this.lastSeq},"emoji":"👍","on":${this.reactOn},"clientId":"${clientId}"}`,
    );
    this.reactOn = !this.reactOn;
    return true;
  }

  /** Closes (as expected) and waits for the close, at most a few seconds. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.socket.readyState === WebSocket.CLOSED) return;
    try {
      this.socket.close(1000, "bench over");
    } catch { /* closing */ }
    await withTimeout(this.closed, CLOSE_TIMEOUT_MS, "close").catch(() => {});
  }
}

/** The `seq` of a Roomcast message frame; 1 for the bare server's (which has none). */
function seqOf(data: string): number {
  const i = data.indexOf(SEQ_KEY);
  if (i < 0) return 1;
  const n = parseInt(data.slice(i + SEQ_KEY.length, i + SEQ_KEY.length + 16));
  return Number.isSafeInteger(n) && n > 0 ? n : 1;
}

/** Whether send `k` is a reaction when `percent` % of sends are: spread evenly, exactly that share. */
export function isReaction(k: number, percent: number): boolean {
  return Math.floor(((k + 1) * percent) / 100) >
    Math.floor((k * percent) / 100);
}

/**
 * Sends `floor(rate × seconds)` messages spread evenly over `seconds`, round
 * robin over `senders`, counting measured sends per room in `tally`;
 * `reactionPercent` % of them are reactions instead. Returns the sends
 * actually made.
 */
export async function pace(
  senders: BenchClient[],
  rate: number,
  seconds: number,
  phase: Phase,
  step: number,
  size: number,
  tally: Tally,
  reactionPercent = 0,
): Promise<number> {
  const total = Math.floor(rate * seconds);
  const start = performance.now();
  let k = 0;
  let made = 0;
  while (k < total) {
    const due = Math.min(
      total,
      Math.floor(((performance.now() - start) * rate) / 1000) + 1,
    );
    for (; k < due; k++) {
      const sender = senders[k % senders.length];
      const sent = isReaction(k, reactionPercent)
        ? sender.sendReaction(phase, step, k, size)
        : sender.sendBench(phase, step, k, size);
      if (!sent) {
        tally.sendFailures++;
        continue;
      }
      made++;
      if (phase === "m") tally.sent[sender.room]++;
    }
    if (k >= total) break;
    await sleep(Math.max(0, start + (k * 1000) / rate - performance.now()));
  }
  return made;
}

/** Where a run of clients sits among all of a scenario's, and how it connects. */
export interface ConnectFrom {
  /** Number of the first client: client `k` of this run is number `first + k` (default 0). */
  first?: number;
  /** Connect through this client (e.g. one bound to a source address). */
  client?: Deno.HttpClient;
}

/**
 * Opens `headers.length` clients, `concurrency` at a time, each waiting for
 * its `welcome`: client number `i` joins room `i % rooms` (so rooms fill
 * evenly) with id `r<room>c<slot>`; numbers start at `from.first` (0). Every
 * client opened is also pushed onto `opened`, so the caller can close them
 * even when a later connect fails. A failed connect throws, unless `onError`
 * is given: then it is reported there (with its index in `headers`) and its
 * slot in the result stays empty.
 */
export async function connectAll(
  wsUrl: (room: string) => string,
  headers: Record<string, string>[],
  rooms: number,
  sink: Sink,
  concurrency: number,
  opened: BenchClient[],
  onError?: (index: number, err: Error) => void,
  timeoutMs: number = WELCOME_TIMEOUT_MS,
  from: ConnectFrom = {},
): Promise<BenchClient[]> {
  const out: BenchClient[] = new Array(headers.length);
  const first = from.first ?? 0;
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < headers.length) {
      const i = next++;
      const room = (first + i) % rooms;
      try {
        const client = await BenchClient.connect(
          wsUrl(`bench-${room}`),
          headers[i],
          room,
          `r${room}c${Math.floor((first + i) / rooms)}`,
          sink,
          timeoutMs,
          from.client,
        );
        opened.push(client);
        out[i] = client;
      } catch (err) {
        if (!onError) {
          failed = true; // the other workers stop taking new sockets
          throw err;
        }
        onError(i, err as Error);
      }
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(concurrency, headers.length) }, worker),
  );
  return out;
}

/** A short, stable key for a connect error's message (ports and paths vary), for counting. */
export const connectErrorKey = (err: Error): string =>
  err.message.replace(/ws:\/\/\S+/g, "<url>").replace(/\d{3,}/g, "N")
    .slice(0, 80);

/** Closes every client, as expected, in parallel. */
export async function closeAll(clients: BenchClient[]): Promise<void> {
  await Promise.all(clients.map((c) => c.close()));
}

/**
 * Opens and closes one probe socket (room `bench-probe`) with `headers`, so
 * lazy module loading and JIT of the WebSocket path are not counted as
 * per-socket memory, then waits `settleMs`. Call before reading the server's
 * RSS "before".
 */
export async function warmUpWithProbe(
  wsUrl: (room: string) => string,
  headers: Record<string, string>,
  settleMs: number,
): Promise<void> {
  const probeSink = { tally: new Tally(0, 1) };
  await closeAll(
    await connectAll(
      () => wsUrl("bench-probe"),
      [headers],
      1,
      probeSink,
      1,
      [],
    ),
  );
  await sleep(settleMs);
}
