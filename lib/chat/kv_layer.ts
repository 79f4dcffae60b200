/**
 * Group layer backend on Deno KV `watch`: spans every instance that shares
 * one KV database — the isolates of a Deno Deploy app, machines on one
 * self-hosted `denokv` (KV Connect), and the workers of one process on a
 * local KV file. Separate processes on one local file do NOT hear each other:
 * the CLI's SQLite backend notifies watchers only within its own process
 * (denoland/deno#21640); use `redis` there, or KV Connect.
 *
 * `watch` is a doorbell, never a queue: it may skip intermediate states
 * ("if a key is modified multiple times quickly, you may not receive a
 * notification for every single change"). So nothing travels in the watched
 * value itself:
 *
 * - **Writing.** `groupSend` serializes the event once, hands the string to
 *   the local members at once (as `memory` and `broadcast` do), and queues it.
 *   One writer commits the queue in batches (group commit, like the message
 *   store): one atomic write appends each event to its group's log
 *   (`[…, "event", group, seq, part]`, expiring after {@link EVENT_TTL_MS})
 *   and moves the group's head (`[…, "head", group]`) to the last `seq`,
 *   checked against the head's versionstamp so `seq` stays gapless across
 *   instances. The head is remembered from the last write or watch, so a lone
 *   sender writes without reading first; a lost race reads the heads, retries.
 * - **Reading.** An instance watches the heads of the groups it has local
 *   members in, and only those. When a head moves past what it delivered, it
 *   reads the log after its position (one range read for however many events
 *   the watch coalesced), skips its own events, and delivers the rest in
 *   `seq` order. A `seq` that expired before it was read becomes one `resync`
 *   frame (clients repair from the store). The sender skips reading its own
 *   writes when nothing else was written in between.
 * - **Watches.** One `kv.watch` stream per up to 10 groups (Deno KV's limit
 *   per call; {@link KeyWatches} keeps them). Joining or leaving a group re-opens its
 *   stream (changes in one tick coalesce); a re-opened stream first reports
 *   the current heads, and each group reads from where it was, so nothing is
 *   lost in between. A `groupAdd` resolves once the group's head has been
 *   read through its stream: anything sent afterwards has a higher `seq`.
 * - **Bounds.** At most {@link MAX_QUEUED_SENDS} unwritten sends (beyond
 *   that a send is dropped and its group gets a `resync`); a read holds at
 *   most {@link READ_LIMIT} parts; logs are cleaned by KV expiry; at most
 *   {@link MAX_CACHED_HEADS} heads remembered.
 *
 * Batching watches (measured: Deno 2.9.6, 2-core VM, one KV file, a
 * watcher on its own handle). A stream re-reads all its keys whenever one of
 * them changes (denokv's SQLite watch is a snapshot read of the stream's
 * keys), so a change costs a little more in a 10-key stream: delivery p50
 * 1.1 ms vs 0.8 ms, re-opening a stream 0.5 ms vs 0.1 ms. In exchange
 * 1,000 followed groups take 100 streams instead of 1,000: 5 MB of heap
 * instead of 11, 47 MB RSS instead of 61, 45 ms to open them all instead of
 * 113; and over KV Connect or on Deploy each stream is one long-lived
 * request, so remote streams drop tenfold. Joins and leaves made in one tick
 * re-open their stream once.
 *
 * Cost, measured (tests/chat/kv_layer_test.ts; two Workers of one process on
 * one KV file, Deno 2.9.6, 2-core VM):
 * - One `groupSend` from a lone sender: 1 atomic write (1 check, 2
 *   mutations: the event and the head) and no read on the sender (its own
 *   watch wakes once and reads nothing).
 * - Each other instance watching the group: 1 watch wake-up (a snapshot
 *   read of its stream's ≤ 10 heads) and 1 range read per wake-up, shared by
 *   the events written meanwhile: 1,000 sends one after another were 1,000
 *   writes and 515–980 range reads on the receiver (fewer the busier the
 *   machine); 1,000 sends made at once were 4 writes (group commit) and 2–4
 *   range reads.
 * - Every `groupSend` writes, even when no other instance follows the group.
 * - Delivered latency between the two Workers, one event at a time (200):
 *   p50 1.1–1.6 ms, p99 3.5–5 ms on an idle machine (p99 up to 10 ms while
 *   the whole test suite runs alongside).
 *
 * @module
 */

import { LruMap } from "../lru.ts";
import {
  type Channel,
  type ChannelLayer,
  type ChatEvent,
  LocalGroups,
  newInstanceId,
  RESYNC_FRAME,
} from "./layer.ts";
import { encodeServerFrame } from "./protocol.ts";
import {
  asLogHead,
  assembleEvents,
  batchSize,
  type EventPart,
  eventRange,
  headKey,
  MAX_EVENT_CHARS,
  partKey,
  type ReadPart,
  splitFrame,
} from "./kv_events.ts";
import { createLogger, errorText, type Logger } from "../log.ts";
import { openKv } from "../store/kv.ts";
import { backoffDelay } from "./backoff.ts";
import { KeyWatches } from "./kv_watch.ts";

/** Default key namespace (second key part); lets tests isolate layers on one KV. */
export const KV_LAYER_NAMESPACE = "roomcast";
/**
 * How long an event stays readable. An instance whose watch stalls longer
 * (a KV Connect reconnect that takes a minute) gets a `resync` instead of the
 * events; readers normally read within milliseconds.
 */
export const EVENT_TTL_MS = 60_000;
/** A group's head expires this long after its last event, so idle groups leave nothing behind. */
export const HEAD_TTL_MS = 24 * 3600 * 1000;
/** Unwritten sends held at most; beyond that a send is dropped (its group gets a resync). */
export const MAX_QUEUED_SENDS = 4_096;
/** Parts one range read returns at most (KV's limit is 1,000 entries per read). */
export const READ_LIMIT = 500;
/** Heads remembered for writing without a read (least recently used dropped first). */
export const MAX_CACHED_HEADS = 10_000;
/** Write attempts per batch before it is dropped (lost races and errors alike). */
export const MAX_WRITE_ATTEMPTS = 32;
/**
 * How long a batch keeps retrying KV errors before it is dropped: senders
 * wait for the write (a typing frame, a presence diff), so an outage must not
 * hold them longer than a Redis publish would.
 */
export const WRITE_TIMEOUT_MS = 5_000;
/** First retry delay after a KV read or write error, doubled per failure. */
export const RETRY_BASE_MS = 50;
/** Longest retry delay. */
export const RETRY_MAX_MS = 5_000;

/** Options for {@link KvLayer}. */
export interface KvLayerOptions {
  /** Key namespace (default {@link KV_LAYER_NAMESPACE}). */
  namespace?: string;
  /** Where KV trouble is reported (never message text). Default: `info` on stderr. */
  log?: Logger;
  /** Lifetime of an event record (default {@link EVENT_TTL_MS}). */
  eventTtlMs?: number;
}

/** A head as last written or seen: what the next write checks against. */
interface KnownHead {
  seq: number;
  epoch: string | null;
  versionstamp: string | null;
}

/** One unwritten send. */
interface Send {
  group: string;
  parts: string[];
  done: () => void;
}

/** This instance following one group's log (while it has local members there). */
interface Follow {
  group: string;
  /** Not yet read through a stream, reading it, or given up. */
  state: "pending" | "live" | "failed";
  settle: { resolve: () => void; reject: (err: unknown) => void };
  settled: Promise<void>;
  /** Every event up to this seq is delivered (or skipped as our own, or known lost). */
  last: number;
  epoch: string | null;
  /** Highest head seq seen. */
  target: number;
  /** A read loop is running. */
  reading: boolean;
  /** Reads that failed in a row (for the retry delay). */
  readFailures: number;
}

/** Delay before retry `failures` (1-based) after a KV error. */
function retryDelay(failures: number): number {
  return backoffDelay(failures - 1, RETRY_BASE_MS, RETRY_MAX_MS);
}

/**
 * The `kv` backend.
 *
 * @example
 * ```ts
 * const layer = await KvLayer.open("./data/roomcast.kv");
 * await layer.groupAdd("lobby", channel);
 * ```
 */
export class KvLayer implements ChannelLayer {
  readonly #kv: Deno.Kv;
  readonly #ownsKv: boolean;
  readonly #namespace: string;
  readonly #log: Logger;
  readonly #eventTtlMs: number;
  /** Marks this instance's events, so its own reads skip them. */
  readonly #id = newInstanceId();
  readonly #local = new LocalGroups();
  readonly #follows = new Map<string, Follow>();
  readonly #watches: KeyWatches;
  readonly #heads = new LruMap<string, KnownHead>(MAX_CACHED_HEADS);
  /** Groups with a write in flight, settled when it is: their reads wait for it. */
  readonly #writing = new Map<string, Promise<void>>();
  /** Groups that lost a send: a resync is written once the queue has room. */
  readonly #owed = new Set<string>();
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  /** Wakes the writer's retry pauses when the layer closes. */
  readonly #wakers = new Set<() => void>();
  readonly #reads = new Set<Promise<void>>();
  #queue: Send[] = [];
  #writer: Promise<void> | null = null;
  #writeFailing = false;
  #closed = false;
  #closing: Promise<void> | null = null;

  /**
   * A layer on `kv`; `ownsKv` makes {@link close} close it too. Prefer
   * {@link KvLayer.open}, which opens its own handle.
   */
  constructor(kv: Deno.Kv, options: KvLayerOptions = {}, ownsKv = false) {
    this.#kv = kv;
    this.#ownsKv = ownsKv;
    this.#namespace = options.namespace ?? KV_LAYER_NAMESPACE;
    this.#log = options.log ?? createLogger();
    this.#eventTtlMs = options.eventTtlMs ?? EVENT_TTL_MS;
    this.#watches = new KeyWatches(
      kv,
      (group) => headKey(this.#namespace, group),
      {
        onEntry: (group, entry) => {
          const follow = this.#follows.get(group);
          if (follow) this.#onHead(follow, entry);
        },
        onFailure: (groups, err) => {
          // Groups not yet live fail their `groupAdd`; the rest wait for the retry.
          for (const group of groups) {
            const follow = this.#follows.get(group);
            if (follow?.state !== "pending") continue;
            follow.state = "failed";
            follow.settle.reject(err);
          }
        },
      },
      this.#log,
    );
  }

  /**
   * Opens its own handle on the KV database at `path` (`undefined` = Deno
   * Deploy's, an `https://` URL = KV Connect), closed by {@link close}.
   */
  static async open(
    path: string | undefined,
    options: KvLayerOptions = {},
  ): Promise<KvLayer> {
    return new KvLayer(await openKv(path), options, true);
  }

  /**
   * Adds `channel` to `group`. The first local member starts watching the
   * group; resolves once its head was read through the watch, so anything
   * sent afterwards reaches `channel`. Rejects (and leaves the group
   * unchanged) if the watch fails first.
   */
  async groupAdd(group: string, channel: Channel): Promise<void> {
    if (this.#closed) throw new Error("kv layer is closed");
    const before = this.#local.size(group);
    this.#local.add(group, channel);
    const added = this.#local.size(group) > before;
    const follow = this.#follows.get(group) ?? this.#follow(group);
    try {
      await follow.settled;
    } catch (err) {
      if (added && this.#local.discard(group, channel)) {
        await this.#unfollow(group);
      }
      throw err;
    }
  }

  /**
   * Removes `channel` from `group`; the last local member stops watching it
   * (resolves once its stream was re-opened without it). Idempotent.
   */
  async groupDiscard(group: string, channel: Channel): Promise<void> {
    if (this.#local.discard(group, channel)) await this.#unfollow(group);
  }

  /**
   * Serializes `event` once, delivers it to the local members of `group`, and
   * resolves once it is written for the other instances. Never rejects: a
   * write KV keeps refusing is logged and dropped, and the group is sent a
   * `resync` once KV takes writes again.
   */
  groupSend(group: string, event: ChatEvent): Promise<void> {
    let frame = encodeServerFrame(event);
    this.#deliver(group, frame);
    if (this.#closed) return Promise.resolve();
    if (frame.length > MAX_EVENT_CHARS) {
      this.#log.warn("kv.event_too_big", { group, chars: frame.length });
      frame = RESYNC_FRAME;
    }
    if (this.#queue.length >= MAX_QUEUED_SENDS) {
      this.#log.warn("kv.send_dropped", { group, reason: "queue full" });
      this.#owe(group);
      return Promise.resolve();
    }
    return new Promise((done) => {
      this.#queue.push({ group, parts: splitFrame(frame), done });
      this.#writer ??= this.#write();
    });
  }

  /** Local members of `group` (this instance only). */
  localMembers(group: string): number {
    return this.#local.size(group);
  }

  /** Groups with at least one local member. */
  localGroups(): number {
    return this.#local.groupCount;
  }

  /** Groups whose head this instance watches. */
  watchedGroups(): number {
    return this.#watches.size;
  }

  /** Open `kv.watch` streams (each covers up to 10 groups). */
  watchStreams(): number {
    return this.#watches.streams();
  }

  /** Every watch stream is up and the last write went through. */
  ready(): boolean {
    return !this.#closed && !this.#watches.failing() && !this.#writeFailing;
  }

  /**
   * Forgets every member, stops every watch, lets the write in flight finish
   * (queued sends are dropped) and closes the KV handle if the layer opened
   * it. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    this.#closed = true;
    this.#local.clear();
    for (const follow of this.#follows.values()) follow.settle.resolve();
    this.#follows.clear();
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    for (const wake of this.#wakers) wake();
    for (const send of this.#queue.splice(0)) send.done();
    this.#owed.clear();
    await this.#watches.close();
    await this.#writer;
    await Promise.all(this.#reads);
    if (this.#ownsKv) this.#kv.close();
  }

  // ---- following groups -------------------------------------------------

  #follow(group: string): Follow {
    let settle!: Follow["settle"];
    const settled = new Promise<void>((resolve, reject) => {
      settle = { resolve, reject };
    });
    // A caller that gives up on the promise must not leave it unhandled.
    settled.catch(() => {});
    const follow: Follow = {
      group,
      state: "pending",
      settle,
      settled,
      last: -1,
      epoch: null,
      target: -1,
      reading: false,
      readFailures: 0,
    };
    this.#follows.set(group, follow);
    this.#watches.add(group);
    return follow;
  }

  /** Stops following `group`; resolves once its stream was re-opened without it. */
  #unfollow(group: string): Promise<void> {
    const follow = this.#follows.get(group);
    if (!follow) return Promise.resolve();
    this.#follows.delete(group);
    follow.settle.resolve();
    return this.#watches.remove(group);
  }

  /** A head as a stream reports it: go live, or read what is new. */
  #onHead(follow: Follow, entry: Deno.KvEntryMaybe<unknown>): void {
    const head = asLogHead(entry.value);
    const seq = head?.seq ?? 0;
    const epoch = head?.epoch ?? null;
    this.#learnHead(follow.group, {
      seq,
      epoch,
      versionstamp: entry.versionstamp,
    });
    if (follow.state !== "live") {
      if (follow.state === "failed") return;
      follow.state = "live";
      follow.last = follow.target = seq;
      follow.epoch = epoch;
      follow.settle.resolve();
      return;
    }
    if (epoch !== follow.epoch) {
      // The head expired and was recreated: its log starts over at 1.
      follow.epoch = epoch;
      follow.last = follow.target = 0;
    }
    if (seq > follow.target) follow.target = seq;
    if (follow.last < follow.target) this.#read(follow);
  }

  /** Reads and delivers `follow`'s events up to its target; one loop per group. */
  #read(follow: Follow): void {
    if (follow.reading) return;
    follow.reading = true;
    const run = this.#readLoop(follow).catch((err) => {
      if (this.#closed || this.#follows.get(follow.group) !== follow) return;
      this.#log.warn("kv.read_failed", {
        group: follow.group,
        error: errorText(err),
      });
      this.#later(retryDelay(++follow.readFailures), () => this.#read(follow));
    }).finally(() => {
      follow.reading = false;
      this.#reads.delete(run);
    });
    this.#reads.add(run);
  }

  async #readLoop(follow: Follow): Promise<void> {
    const current = () =>
      !this.#closed && this.#follows.get(follow.group) === follow;
    let waited = false;
    while (current() && follow.last < follow.target) {
      // Our own write in flight: once it settles we know its seqs and may not
      // need to read. Wait once per read, so a busy writer cannot starve it.
      const writing = this.#writing.get(follow.group);
      if (writing && !waited) {
        waited = true;
        await writing;
        continue;
      }
      waited = false;
      const { epoch, target } = follow;
      const parts: ReadPart[] = [];
      const entries = this.#kv.list<EventPart>(
        eventRange(this.#namespace, follow.group, follow.last, target),
        { limit: READ_LIMIT, batchSize: READ_LIMIT },
      );
      for await (const { key, value } of entries) {
        parts.push({
          seq: key[key.length - 2] as number,
          part: key[key.length - 1] as number,
          value,
        });
      }
      // The head was recreated meanwhile: these parts belong to the old log.
      if (!current() || follow.epoch !== epoch) continue;
      const read = assembleEvents(
        parts,
        follow.last,
        target,
        parts.length < READ_LIMIT,
      );
      if (read.missing > 0) {
        this.#log.warn("kv.events_lost", {
          group: follow.group,
          missing: read.missing,
        });
        this.#deliver(follow.group, RESYNC_FRAME);
      }
      for (const event of read.events) {
        if (event.from !== this.#id) this.#deliver(follow.group, event.frame);
      }
      follow.last = Math.max(follow.last, read.last);
      follow.readFailures = 0;
    }
  }

  // ---- writing ----------------------------------------------------------

  async #write(): Promise<void> {
    // Sends made in this tick go out together (and `#writer` is set before it resets).
    await Promise.resolve();
    try {
      while (this.#queue.length > 0 && !this.#closed) {
        const batch = this.#queue.splice(0, batchSize(this.#queue));
        await this.#commit(batch);
        this.#payDebts();
      }
    } finally {
      this.#writer = null;
    }
  }

  /** Writes `batch` in one atomic operation; retries lost races and errors, then gives up. */
  async #commit(batch: Send[]): Promise<void> {
    const groups = [...new Set(batch.map((s) => s.group))];
    let settle!: () => void;
    const settled = new Promise<void>((resolve) => settle = resolve);
    for (const group of groups) this.#writing.set(group, settled);
    try {
      let known = groups.map((g) => this.#heads.get(g));
      let failingSince: number | null = null;
      for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
        if (this.#closed) return;
        if (
          failingSince !== null &&
          performance.now() - failingSince > WRITE_TIMEOUT_MS
        ) break;
        try {
          if (known.some((h) => h === undefined)) {
            known = (await this.#kv.getMany(
              groups.map((g) => headKey(this.#namespace, g)),
            )).map((entry) => {
              const head = asLogHead(entry.value);
              return {
                seq: head?.seq ?? 0,
                epoch: head?.epoch ?? null,
                versionstamp: entry.versionstamp,
              };
            });
          }
          const written = await this.#tryCommit(
            batch,
            groups,
            known as KnownHead[],
          );
          if (written) {
            if (this.#writeFailing) {
              this.#writeFailing = false;
              this.#log.info("kv.write_recovered", {});
            }
            return;
          }
          // Another instance wrote one of the groups: read the heads and retry.
          known = groups.map(() => undefined);
          for (const group of groups) this.#heads.delete(group);
          if (attempt > 1) await this.#pause(retryDelay(attempt - 1));
        } catch (err) {
          if (this.#closed) return;
          failingSince ??= performance.now();
          if (!this.#writeFailing) {
            this.#writeFailing = true;
            this.#log.warn("kv.write_failed", { error: errorText(err) });
          }
          known = groups.map(() => undefined);
          await this.#pause(retryDelay(attempt));
        }
      }
      this.#log.warn("kv.send_dropped", {
        groups: groups.length,
        sends: batch.length,
        reason: "write attempts exhausted",
      });
      for (const group of groups) this.#owe(group);
    } finally {
      for (const group of groups) this.#writing.delete(group);
      settle();
      for (const send of batch) send.done();
    }
  }

  /** One attempt: true when written, false when a head check failed. */
  async #tryCommit(
    batch: Send[],
    groups: string[],
    known: KnownHead[],
  ): Promise<boolean> {
    const op = this.#kv.atomic();
    const next = new Map<string, { seq: number; epoch: string }>();
    groups.forEach((group, i) => {
      const head = known[i];
      op.check({
        key: headKey(this.#namespace, group),
        versionstamp: head.versionstamp,
      });
      next.set(group, {
        seq: head.seq,
        epoch: head.versionstamp === null || head.epoch === null
          ? newInstanceId()
          : head.epoch,
      });
    });
    for (const send of batch) {
      const head = next.get(send.group)!;
      head.seq++;
      send.parts.forEach((frame, part) => {
        const value: EventPart = {
          from: this.#id,
          frame,
          parts: send.parts.length,
        };
        op.set(partKey(this.#namespace, send.group, head.seq, part), value, {
          expireIn: this.#eventTtlMs,
        });
      });
    }
    for (const [group, head] of next) {
      op.set(headKey(this.#namespace, group), head, { expireIn: HEAD_TTL_MS });
    }
    const result = await op.commit();
    if (!result.ok) return false;
    groups.forEach((group, i) => {
      const head = next.get(group)!;
      this.#learnHead(group, { ...head, versionstamp: result.versionstamp });
      // Nothing else was written in between (the check passed): a reader
      // still where this write began steps over our own events without
      // reading them. (It may already have seen this write's new epoch.)
      const follow = this.#follows.get(group);
      const before = known[i];
      const epochBefore = before.versionstamp === null ? null : before.epoch;
      if (
        follow?.state === "live" && follow.last === before.seq &&
        (follow.epoch === epochBefore || follow.epoch === head.epoch)
      ) {
        follow.epoch = head.epoch;
        follow.last = head.seq;
        if (follow.target < head.seq) follow.target = head.seq;
      }
    });
    return true;
  }

  /** Remembers `head` for `group` unless a newer one is known. */
  #learnHead(group: string, head: KnownHead): void {
    const known = this.#heads.get(group);
    if (
      known?.versionstamp && head.versionstamp &&
      known.versionstamp > head.versionstamp
    ) return;
    this.#heads.set(group, head);
  }

  #owe(group: string): void {
    if (this.#owed.size < MAX_QUEUED_SENDS) this.#owed.add(group);
  }

  /** Queues a resync for each group that lost a send, while the queue has room. */
  #payDebts(): void {
    for (const group of this.#owed) {
      if (this.#queue.length >= MAX_QUEUED_SENDS) return;
      this.#owed.delete(group);
      this.#queue.push({ group, parts: [RESYNC_FRAME], done: () => {} });
    }
  }

  // ---- helpers ----------------------------------------------------------

  #deliver(group: string, frame: string): void {
    try {
      this.#local.deliver(group, frame);
    } catch (err) {
      // Channel.send must not throw; never let it break a watch or a read.
      this.#log.error("kv.deliver_failed", { group, error: errorText(err) });
    }
  }

  /** Runs `fn` after `ms` unless the layer closes first. */
  #later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (!this.#closed) fn();
    }, ms);
    this.#timers.add(timer);
  }

  /** Resolves after `ms`, or at once when the layer closes. */
  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#wakers.add(wake);
    });
  }
}
