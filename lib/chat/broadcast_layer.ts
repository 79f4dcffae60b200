/**
 * Group layer backend on `BroadcastChannel`: spans the workers of one
 * process (`WORKERS`, `deno serve --parallel`). Deploy Classic carried it
 * between isolates; the new Deno Deploy's instances are isolated and it
 * promises no such thing, so `lib/config.ts` refuses it there (and wherever
 * `BroadcastChannel` does not exist).
 *
 * One `BroadcastChannel` per group per instance, open only while the instance
 * has a local member. Delivery between instances is best-effort; clients
 * repair gaps from the store by `seq`.
 *
 * @module
 */

import {
  type Channel,
  type ChannelLayer,
  type ChatEvent,
  LocalGroups,
} from "./layer.ts";
import { encodeServerFrame } from "./protocol.ts";

/** Prefix of the BroadcastChannel names, so other users of the API never collide. */
export const BROADCAST_PREFIX = "roomcast:group:";

/** The channel each layer keeps open for its life (outside the group names; nothing is sent on it). */
export const ANCHOR_CHANNEL = "roomcast:anchor";

/** Options for {@link BroadcastLayer}. */
export interface BroadcastLayerOptions {
  /** Namespace for channel names; lets tests run isolated layers in one process. */
  prefix?: string;
}

/** The `broadcast` backend. */
export class BroadcastLayer implements ChannelLayer {
  readonly #local = new LocalGroups();
  readonly #buses = new Map<string, BroadcastChannel>();
  readonly #prefix: string;
  /**
   * Open from start to close, so this isolate never has zero channels. Deno
   * unsubscribes when the last channel closes and forgets the subscription
   * only once its receive loop ends; a channel opened in between posts with
   * no subscription ("TypeError: expected i32"), which lost presence diffs
   * when a room's last socket left and another joined at once.
   */
  readonly #anchor: BroadcastChannel;

  constructor(options: BroadcastLayerOptions = {}) {
    this.#prefix = options.prefix ?? BROADCAST_PREFIX;
    this.#anchor = new BroadcastChannel(ANCHOR_CHANNEL);
  }

  groupAdd(group: string, channel: Channel): Promise<void> {
    if (this.#local.add(group, channel)) {
      const bus = new BroadcastChannel(this.#prefix + group);
      bus.onmessage = (e: MessageEvent) => {
        if (typeof e.data === "string") this.#local.deliver(group, e.data);
      };
      this.#buses.set(group, bus);
    }
    return Promise.resolve();
  }

  groupDiscard(group: string, channel: Channel): Promise<void> {
    if (this.#local.discard(group, channel)) {
      this.#buses.get(group)?.close();
      this.#buses.delete(group);
    }
    return Promise.resolve();
  }

  groupSend(group: string, event: ChatEvent): Promise<void> {
    const frame = encodeServerFrame(event);
    this.#local.deliver(group, frame);
    const bus = this.#buses.get(group);
    if (bus) {
      bus.postMessage(frame);
    } else {
      // No local member (e.g. an HTTP post): publish through a short-lived channel.
      const once = new BroadcastChannel(this.#prefix + group);
      once.postMessage(frame);
      once.close();
    }
    return Promise.resolve();
  }

  localMembers(group: string): number {
    return this.#local.size(group);
  }

  localGroups(): number {
    return this.#local.groupCount;
  }

  close(): Promise<void> {
    for (const bus of this.#buses.values()) bus.close();
    this.#anchor.close();
    this.#buses.clear();
    this.#local.clear();
    return Promise.resolve();
  }
}
