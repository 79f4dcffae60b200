/**
 * The group layer: Django Channels' channel-layer contract in TypeScript.
 *
 * A {@link Channel} is one connection with a unique name. Groups are rooms.
 * `groupSend` serializes the event once and hands the same string to every
 * member, on this instance and (for the cross-instance backends) on the others.
 *
 * @module
 */

import {
  type ControlFrame,
  encodeServerFrame,
  type ServerFrame,
} from "./protocol.ts";

/**
 * An event sent to a group: the frames the server sends to clients, and
 * control frames between instances that connections act on themselves.
 */
export type ChatEvent = ServerFrame | ControlFrame;

/**
 * The frame a backend hands its members when broadcasts may have been lost
 * (a bus reconnected, events expired unread): clients then ask the store.
 */
export const RESYNC_FRAME: string = encodeServerFrame({ type: "resync" });

/** One connection's endpoint in the layer. */
export interface Channel {
  /** Unique per connection, across every instance. */
  readonly name: string;
  /** Delivers one already-serialized frame. Must not throw. */
  send(frame: string): void;
}

/** The contract every backend implements. */
export interface ChannelLayer {
  /** Adds `channel` to `group`; the first local member subscribes this instance to the group. */
  groupAdd(group: string, channel: Channel): Promise<void>;
  /** Removes `channel` from `group`; the last local member unsubscribes. Idempotent. */
  groupDiscard(group: string, channel: Channel): Promise<void>;
  /** Sends `event` to every member of `group` on every instance. */
  groupSend(group: string, event: ChatEvent): Promise<void>;
  /** Local members of `group` (this instance only). */
  localMembers(group: string): number;
  /** Groups with at least one local member. */
  localGroups(): number;
  /** Whether the bus is connected (readiness probe); absent means always. */
  ready?(): boolean;
  /** Releases subscriptions and connections. */
  close(): Promise<void>;
}

/** Names of the available backends, as `CHANNEL_LAYER` takes them. */
export type LayerKind = "memory" | "broadcast" | "redis" | "kv";
/** Every {@link LayerKind}, in the order settings and help texts list them. */
export const LAYER_KINDS: readonly LayerKind[] = [
  "memory",
  "broadcast",
  "redis",
  "kv",
];

/** This isolate's instance id, the default prefix of {@link newChannelName}. */
const PROCESS_INSTANCE = newInstanceId();
let channelCounter = 0;

/** A random 16-hex-digit id naming one instance (a process, a worker, a test server). */
export function newInstanceId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Returns a fresh channel name, unique across instances, shaped like Django
 * Channels' `specific.<instance>!<local>`: the instance part says which
 * instance holds the connection (presence uses it to spot a dead instance's
 * connections), the local part is a counter (short, and unique within it).
 *
 * @example
 * ```ts
 * newChannelName("3f2a9c01d4e5b6a7"); // "specific.3f2a9c01d4e5b6a7!1"
 * ```
 */
export function newChannelName(instance: string = PROCESS_INSTANCE): string {
  return `specific.${instance}!${++channelCounter}`;
}

/** The instance part of a name from {@link newChannelName}, or null for any other name. */
export function channelInstance(name: string): string | null {
  const bang = name.indexOf("!");
  return name.startsWith("specific.") && bang > 9 ? name.slice(9, bang) : null;
}

/**
 * Group → local channels bookkeeping shared by every backend. Pure and
 * synchronous; the backends add the bus on top.
 */
export class LocalGroups {
  #groups = new Map<string, Set<Channel>>();

  /** Adds a member; returns true when it is the group's first local member. */
  add(group: string, channel: Channel): boolean {
    let members = this.#groups.get(group);
    const first = members === undefined;
    if (!members) this.#groups.set(group, members = new Set());
    members.add(channel);
    return first;
  }

  /** Removes a member; returns true when the group has no local member left. */
  discard(group: string, channel: Channel): boolean {
    const members = this.#groups.get(group);
    if (!members || !members.delete(channel)) return false;
    if (members.size > 0) return false;
    this.#groups.delete(group);
    return true;
  }

  /** Sends one serialized frame to every local member of `group`. */
  deliver(group: string, frame: string): void {
    const members = this.#groups.get(group);
    if (!members) return;
    for (const channel of members) channel.send(frame);
  }

  /** Number of local members of `group`. */
  size(group: string): number {
    return this.#groups.get(group)?.size ?? 0;
  }

  /** Number of groups with local members. */
  get groupCount(): number {
    return this.#groups.size;
  }

  /** Names of groups with local members. */
  groups(): string[] {
    return [...this.#groups.keys()];
  }

  /** Forgets every member. */
  clear(): void {
    this.#groups.clear();
  }
}

/** The in-process backend: one process, no bus. The default. */
export class MemoryLayer implements ChannelLayer {
  readonly #local = new LocalGroups();

  groupAdd(group: string, channel: Channel): Promise<void> {
    this.#local.add(group, channel);
    return Promise.resolve();
  }

  groupDiscard(group: string, channel: Channel): Promise<void> {
    this.#local.discard(group, channel);
    return Promise.resolve();
  }

  groupSend(group: string, event: ChatEvent): Promise<void> {
    this.#local.deliver(group, encodeServerFrame(event));
    return Promise.resolve();
  }

  localMembers(group: string): number {
    return this.#local.size(group);
  }

  localGroups(): number {
    return this.#local.groupCount;
  }

  close(): Promise<void> {
    this.#local.clear();
    return Promise.resolve();
  }
}
