/**
 * Group layer backend on Redis pub/sub, in the style of `channels_redis`'
 * `RedisPubSubChannelLayer`: spans any number of processes and hosts.
 *
 * - **Connections.** One publisher and one subscriber connection per layer
 *   (the subscriber is `publisher.duplicate()`).
 * - **Subscriptions.** One Redis channel per group, `${prefix}${group}`,
 *   subscribed only while this instance has a local member: the first local
 *   `groupAdd` subscribes and resolves once Redis confirmed the SUBSCRIBE; the
 *   last `groupDiscard` unsubscribes. Changes to one group's subscription are
 *   serialized and reconciled against the member count, so concurrent adds and
 *   discards never double-subscribe nor leak a subscription.
 * - **Self-echo.** `groupSend` serializes the event once, hands that string to
 *   the local members at once and publishes `<instance id>\n<frame>`. Every
 *   instance drops payloads carrying its own id, so the sender's local members
 *   never get the frame twice; the others deliver the frame part (one
 *   substring, the same string to every local member).
 * - **Outages.** Both connections reconnect with capped exponential backoff
 *   and jitter. node-redis re-subscribes the subscriber's channels before it
 *   reports `ready`; once both connections are ready again the layer
 *   reconciles every group (a SUBSCRIBE that died in flight is re-made) and
 *   sends `{"type":"resync"}` to the local members of every subscribed group,
 *   so clients ask the store for what they missed. A publish that failed
 *   during the outage is logged (never its content) and dropped — the message
 *   is already stored — and after recovery a `resync` is published to those
 *   groups, so members on other instances catch up too.
 *
 * Delivery is at-most-once, like every pub/sub bus; clients repair gaps from
 * the store by `seq`.
 *
 * @module
 */

import { createClient } from "redis";
import {
  type Channel,
  type ChannelLayer,
  type ChatEvent,
  LocalGroups,
  RESYNC_FRAME,
} from "./layer.ts";
import { backoffDelay } from "./backoff.ts";
import { encodeServerFrame } from "./protocol.ts";
import { withTimeout } from "../async.ts";
import { createLogger, errorText, type Logger } from "../log.ts";

/** Default prefix of the Redis channel names: one channel per group. */
export const REDIS_PREFIX = "roomcast:group:";
/** Default longest wait for a SUBSCRIBE/UNSUBSCRIBE before `groupAdd` fails (`groupDiscard` only stops waiting). */
export const REDIS_SUBSCRIBE_TIMEOUT_MS = 5_000;
/** Default longest wait for a PUBLISH reply before the publish is dropped. */
export const REDIS_PUBLISH_TIMEOUT_MS = 2_000;
/** Default longest time `connect` keeps trying to reach Redis at startup. */
export const REDIS_CONNECT_TIMEOUT_MS = 10_000;
/** Default first reconnect delay (before jitter). */
export const REDIS_RECONNECT_BASE_MS = 100;
/** Default longest reconnect delay (before jitter). */
export const REDIS_RECONNECT_MAX_MS = 5_000;

/** Length of an instance id (`crypto.randomUUID()`), the head of every published payload. */
const ORIGIN_CHARS = 36;
/** Separates the instance id from the frame; JSON text never contains a raw newline. */
const ORIGIN_SEPARATOR = "\n";
/** How long `close()` lets a connection drain before destroying it. */
const CLOSE_TIMEOUT_MS = 2_000;

type RedisClient = ReturnType<typeof createClient>;
type Connection = "publisher" | "subscriber";

/** Options for {@link RedisLayer.connect}. */
export interface RedisLayerOptions {
  /** Prefix of the Redis channel names (default {@link REDIS_PREFIX}); lets tests isolate layers on one server. */
  prefix?: string;
  /** Where connection trouble is reported (never message text). Default: an `info` logger on stderr. */
  log?: Logger;
  /** Longest wait for Redis to confirm a subscription change (default {@link REDIS_SUBSCRIBE_TIMEOUT_MS}). */
  subscribeTimeoutMs?: number;
  /** Longest wait for a PUBLISH (default {@link REDIS_PUBLISH_TIMEOUT_MS}). */
  publishTimeoutMs?: number;
  /** How long `connect` tries before it rejects (default {@link REDIS_CONNECT_TIMEOUT_MS}). */
  connectTimeoutMs?: number;
  /** First reconnect delay, doubled per attempt (default {@link REDIS_RECONNECT_BASE_MS}). */
  reconnectBaseMs?: number;
  /** Cap of the reconnect delay (default {@link REDIS_RECONNECT_MAX_MS}). */
  reconnectMaxMs?: number;
}

/** The `redis` backend. Create it with {@link RedisLayer.connect}. */
export class RedisLayer implements ChannelLayer {
  readonly #local = new LocalGroups();
  /** Groups whose SUBSCRIBE Redis confirmed and whose UNSUBSCRIBE it has not: mirrors node-redis' listeners. */
  readonly #subscribed = new Set<string>();
  /** Per-group tail of pending subscription changes. */
  readonly #pending = new Map<string, Promise<void>>();
  /** Groups whose publish was dropped while Redis was unreachable. */
  readonly #dropped = new Set<string>();
  /** Marks this instance's own publishes, so their echo is skipped. */
  readonly #id = crypto.randomUUID();
  readonly #prefix: string;
  readonly #log: Logger;
  readonly #subscribeTimeoutMs: number;
  readonly #connectTimeoutMs: number;
  readonly #reconnectBaseMs: number;
  readonly #reconnectMaxMs: number;
  readonly #publisher: RedisClient;
  readonly #subscriber: RedisClient;
  #openedAt = 0;
  #started = false;
  #closed = false;
  #closing: Promise<void> | null = null;
  /** A connection dropped and recovery has not run yet. */
  #down = false;
  /** Groups subscribed when the subscriber dropped: their local members may have missed events. */
  readonly #resync = new Set<string>();

  private constructor(url: string, options: RedisLayerOptions) {
    this.#prefix = options.prefix ?? REDIS_PREFIX;
    this.#log = options.log ?? createLogger();
    this.#subscribeTimeoutMs = options.subscribeTimeoutMs ??
      REDIS_SUBSCRIBE_TIMEOUT_MS;
    this.#connectTimeoutMs = options.connectTimeoutMs ??
      REDIS_CONNECT_TIMEOUT_MS;
    this.#reconnectBaseMs = options.reconnectBaseMs ?? REDIS_RECONNECT_BASE_MS;
    this.#reconnectMaxMs = options.reconnectMaxMs ?? REDIS_RECONNECT_MAX_MS;
    this.#publisher = createClient({
      url,
      // A publish while Redis is down fails at once instead of queueing.
      disableOfflineQueue: true,
      commandOptions: {
        timeout: options.publishTimeoutMs ?? REDIS_PUBLISH_TIMEOUT_MS,
      },
      // No Redis Enterprise maintenance handshake (it would resolve DNS).
      maintNotifications: "disabled",
      socket: { reconnectStrategy: this.#reconnectStrategy },
    });
    // The subscriber keeps its offline queue: a SUBSCRIBE issued during an
    // outage is sent once the connection is back.
    this.#subscriber = this.#publisher.duplicate({
      disableOfflineQueue: false,
    });
    this.#watch("publisher", this.#publisher);
    this.#watch("subscriber", this.#subscriber);
  }

  /**
   * Connects the publisher and the subscriber to `url` (`redis://` or
   * `rediss://`). Rejects when Redis cannot be reached within
   * `connectTimeoutMs`; after that, outages are survived by reconnecting.
   *
   * @example
   * ```ts
   * const layer = await RedisLayer.connect("redis://127.0.0.1:6379");
   * ```
   */
  static async connect(
    url: string,
    options: RedisLayerOptions = {},
  ): Promise<RedisLayer> {
    const layer = new RedisLayer(url, options);
    await layer.#open();
    return layer;
  }

  async #open(): Promise<void> {
    this.#openedAt = performance.now();
    // allSettled: both attempts end on their own (the reconnect strategy gives
    // up at the deadline), so no retry timer outlives a failed connect.
    const results = await Promise.allSettled([
      this.#publisher.connect(),
      this.#subscriber.connect(),
    ]);
    const failed = results.find((r) => r.status === "rejected");
    if (failed) {
      this.#closed = true;
      this.#publisher.destroy();
      this.#subscriber.destroy();
      throw new Error(
        `redis layer: cannot connect to Redis: ${errorText(failed.reason)}`,
      );
    }
    this.#started = true;
  }

  /** node-redis `reconnectStrategy`: capped exponential backoff with jitter; gives up only at startup. */
  #reconnectStrategy = (retries: number): number | Error => {
    const delay = backoffDelay(
      retries,
      this.#reconnectBaseMs,
      this.#reconnectMaxMs,
    );
    if (
      !this.#started &&
      performance.now() - this.#openedAt + delay > this.#connectTimeoutMs
    ) {
      return new Error(`no connection within ${this.#connectTimeoutMs} ms`);
    }
    return delay;
  };

  #watch(name: Connection, client: RedisClient): void {
    // node-redis emits `error` on every failed (re)connect attempt; an
    // EventEmitter without an `error` listener would throw.
    client.on("error", (err: unknown) => this.#onError(name, client, err));
    client.on("ready", () => this.#onReady());
  }

  #onError(name: Connection, client: RedisClient, err: unknown): void {
    if (this.#closed) return;
    const fields = { connection: name, error: errorText(err) };
    if (!this.#started) {
      this.#log.debug("redis.connect_failed", fields);
      return;
    }
    if (client.isReady) {
      // The connection survived (e.g. a failed PING); nothing to recover.
      this.#log.warn("redis.error", fields);
      return;
    }
    if (name === "subscriber") {
      for (const group of this.#subscribed) this.#resync.add(group);
    }
    if (this.#down) {
      this.#log.debug("redis.reconnect_failed", fields);
    } else {
      this.#down = true;
      this.#log.warn("redis.disconnected", fields);
    }
  }

  #onReady(): void {
    if (!this.#started || this.#closed || !this.#down) return;
    if (!this.#publisher.isReady || !this.#subscriber.isReady) return;
    this.#down = false;
    this.#log.info("redis.reconnected", { groups: this.#local.groupCount });
    this.#recover().catch((err) =>
      this.#log.error("redis.recover_failed", { error: errorText(err) })
    );
  }

  /** After an outage: make the subscriptions match the members, then tell clients to resync. */
  async #recover(): Promise<void> {
    // Only groups whose subscription spanned the outage: a group joined
    // during it was subscribed afterwards, before its member was welcomed.
    const affected = new Set(this.#resync);
    this.#resync.clear();
    const dropped = [...this.#dropped];
    this.#dropped.clear();
    const groups = new Set([...this.#local.groups(), ...this.#subscribed]);
    await Promise.all([...groups].map(async (group) => {
      try {
        await this.#reconcile(group);
      } catch (err) {
        // The subscriber dropped again: the next recovery retries.
        this.#log.warn("redis.resubscribe_failed", {
          group,
          error: errorText(err),
        });
        return;
      }
      if (affected.has(group) && this.#subscribed.has(group)) {
        this.#deliver(group, RESYNC_FRAME);
      }
    }));
    // Members on other instances missed what this one could not publish.
    await Promise.all(
      dropped.map((group) => this.#publish(group, RESYNC_FRAME)),
    );
  }

  /**
   * Queues a subscription change for `group` behind any pending one, and
   * makes the subscription match the local members when its turn comes.
   * The change runs to completion even if a caller stops waiting for it.
   */
  #reconcile(group: string): Promise<void> {
    const previous = this.#pending.get(group) ?? Promise.resolve();
    const run = previous.then(() => this.#applySubscription(group));
    const tail = run.catch(() => {});
    this.#pending.set(group, tail);
    tail.then(() => {
      if (this.#pending.get(group) === tail) this.#pending.delete(group);
    });
    return run;
  }

  async #applySubscription(group: string): Promise<void> {
    if (this.#closed) return;
    const wanted = this.#local.size(group) > 0;
    const subscribed = this.#subscribed.has(group);
    const channel = this.#prefix + group;
    if (wanted && !subscribed) {
      await this.#subscriber.subscribe(channel, this.#onMessage);
      this.#subscribed.add(group);
    } else if (!wanted && subscribed) {
      await this.#subscriber.unsubscribe(channel, this.#onMessage);
      this.#subscribed.delete(group);
    }
  }

  /** The one pub/sub listener, for every group's channel. */
  #onMessage = (payload: string, channel: string): void => {
    if (
      payload.length <= ORIGIN_CHARS ||
      payload[ORIGIN_CHARS] !== ORIGIN_SEPARATOR
    ) {
      this.#log.warn("redis.bad_payload", { channel, bytes: payload.length });
      return;
    }
    // Our own publish: the local members already have it.
    if (payload.startsWith(this.#id)) return;
    this.#deliver(
      channel.slice(this.#prefix.length),
      payload.slice(ORIGIN_CHARS + 1),
    );
  };

  #deliver(group: string, frame: string): void {
    try {
      this.#local.deliver(group, frame);
    } catch (err) {
      // Channel.send must not throw; never let it break the Redis connection.
      this.#log.error("redis.deliver_failed", { group, error: errorText(err) });
    }
  }

  async #publish(group: string, frame: string): Promise<void> {
    if (this.#closed) return;
    if (!this.#publisher.isReady) {
      this.#dropped.add(group);
      this.#log.warn("redis.publish_dropped", { group, reason: "offline" });
      return;
    }
    try {
      await this.#publisher.publish(
        this.#prefix + group,
        this.#id + ORIGIN_SEPARATOR + frame,
      );
    } catch (err) {
      if (this.#closed) return;
      this.#log.warn("redis.publish_dropped", {
        group,
        reason: errorText(err),
      });
      if (this.#publisher.isReady && frame !== RESYNC_FRAME) {
        // The connection still looks healthy, so no reconnect will send the
        // catch-up later: tell the other instances' members now.
        this.#publish(group, RESYNC_FRAME).catch(() => {});
      } else {
        this.#dropped.add(group);
      }
    }
  }

  /**
   * Adds `channel` to `group`. The first local member subscribes this
   * instance; resolves once Redis confirmed the subscription, so anything
   * published afterwards reaches `channel`. Rejects (and leaves the group
   * unchanged) if Redis does not confirm within `subscribeTimeoutMs`.
   */
  async groupAdd(group: string, channel: Channel): Promise<void> {
    if (this.#closed) throw new Error("redis layer is closed");
    const before = this.#local.size(group);
    this.#local.add(group, channel);
    const added = this.#local.size(group) > before;
    try {
      await withTimeout(
        this.#reconcile(group),
        this.#subscribeTimeoutMs,
        "redis subscribe",
      );
    } catch (err) {
      this.#log.warn("redis.subscribe_failed", {
        group,
        error: errorText(err),
      });
      if (added && this.#local.discard(group, channel)) {
        this.#reconcile(group).catch(() => {/* logged by recovery */});
      }
      throw err;
    }
  }

  /**
   * Removes `channel` from `group`; the last local member unsubscribes.
   * Idempotent. Never rejects: a failed or slow UNSUBSCRIBE is logged and
   * retried on recovery.
   */
  async groupDiscard(group: string, channel: Channel): Promise<void> {
    if (!this.#local.discard(group, channel) || this.#closed) return;
    try {
      await withTimeout(
        this.#reconcile(group),
        this.#subscribeTimeoutMs,
        "redis unsubscribe",
      );
    } catch (err) {
      this.#log.warn("redis.unsubscribe_failed", {
        group,
        error: errorText(err),
      });
    }
  }

  /**
   * Serializes `event` once, delivers it to the local members of `group` and
   * publishes it to the other instances. Never rejects: while Redis is
   * unreachable the publish is logged and dropped (the store has the message).
   */
  async groupSend(group: string, event: ChatEvent): Promise<void> {
    const frame = encodeServerFrame(event);
    this.#deliver(group, frame);
    await this.#publish(group, frame);
  }

  /** Local members of `group` (this instance only). */
  localMembers(group: string): number {
    return this.#local.size(group);
  }

  /** Groups with at least one local member. */
  /** Both Redis connections are up. */
  ready(): boolean {
    return this.#publisher.isReady && this.#subscriber.isReady;
  }

  localGroups(): number {
    return this.#local.groupCount;
  }

  /** Groups this instance is subscribed to on Redis (confirmed SUBSCRIBEs). */
  subscribedGroups(): number {
    return this.#subscribed.size;
  }

  /**
   * Forgets every member and closes both connections (pending commands
   * drain first; a connection that is down is destroyed). Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    this.#closed = true;
    this.#local.clear();
    this.#subscribed.clear();
    this.#dropped.clear();
    this.#resync.clear();
    await Promise.all([
      closeClient(this.#publisher),
      closeClient(this.#subscriber),
    ]);
  }
}

/** Closes gracefully when connected (`close()`, node-redis' successor of QUIT), else destroys. */
async function closeClient(client: RedisClient): Promise<void> {
  if (client.isReady) {
    try {
      await withTimeout(client.close(), CLOSE_TIMEOUT_MS, "redis close");
      return;
    } catch {
      // Fall through: tear it down.
    }
  }
  client.destroy();
}
