/**
 * A group-layer channel that records what it is sent, and the events the
 * layer tests send: shared by the contract suite and the backends' own tests.
 */
import {
  type Channel,
  type ChatEvent,
  newChannelName,
} from "../../lib/chat/layer.ts";
import type { ChatMessage } from "../../lib/chat/types.ts";

/** How long a test waits for an expected delivery before failing. */
const DELIVERY_TIMEOUT_MS = 3_000;

/** A channel that records what it is sent and lets a test await deliveries. */
export class Recorder implements Channel {
  readonly name = newChannelName();
  readonly frames: string[] = [];
  #waiters: { count: number; resolve: () => void }[] = [];

  constructor(readonly label: string) {}

  send(frame: string): void {
    this.frames.push(frame);
    this.#waiters = this.#waiters.filter((w) => {
      if (this.frames.length < w.count) return true;
      w.resolve();
      return false;
    });
  }

  /** Resolves once `count` frames in total have arrived; rejects after a timeout. */
  received(count = 1): Promise<void> {
    if (this.frames.length >= count) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(
          new Error(
            `${this.label}: ${this.frames.length}/${count} frames after ${DELIVERY_TIMEOUT_MS} ms`,
          ),
        );
      }, DELIVERY_TIMEOUT_MS);
      const waiter = {
        count,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.#waiters.push(waiter);
    });
  }

  /** Message texts, other frames as `<type>`. */
  texts(): string[] {
    return this.frames.map((f) => {
      const frame = JSON.parse(f) as ChatEvent;
      return frame.type === "message" ? frame.message.text : `<${frame.type}>`;
    });
  }
}

/** A chat message with `text` (not stored anywhere: layers carry whatever they are given). */
export function message(text: string): ChatMessage {
  return {
    id: crypto.randomUUID(),
    seq: 1,
    room: "r",
    user: { id: "u1", name: "Ana", kind: "guest" },
    text,
    ts: 1_700_000_000_000,
    clientId: "c-1",
  };
}

/** A `message` frame carrying {@link message}(`text`). */
export const event = (text: string): ChatEvent => ({
  type: "message",
  message: message(text),
});
