/**
 * A group-layer {@link Channel} for tests: records every frame it is sent and
 * lets a test await deliveries; and the message events the layer tests send.
 *
 * @module
 */
import {
  type Channel,
  type ChatEvent,
  newChannelName,
} from "../../lib/chat/layer.ts";
import type { ChatMessage } from "../../lib/chat/types.ts";
import { Signal } from "../../support/wait.ts";

/** A channel that records what it is sent and lets a test await deliveries. */
export class Recorder implements Channel {
  readonly name = newChannelName();
  readonly frames: string[] = [];
  readonly #signal = new Signal();

  /** `label` names the recorder in failure messages (e.g. `room@a`). */
  constructor(readonly label: string) {}

  send(frame: string): void {
    this.frames.push(frame);
    this.#signal.notify();
  }

  /** Resolves once `count` frames in total have arrived. */
  received(count = 1): Promise<void> {
    return this.#signal.until(
      () => this.frames.length >= count,
      () => `${this.label}: ${this.frames.length}/${count} frames`,
    );
  }

  /** Resolves once a frame equal to `frame` has arrived. */
  got(frame: string): Promise<void> {
    return this.#signal.until(
      () => this.frames.includes(frame),
      () => `${this.label}: ${frame} among ${this.texts().join(", ")}`,
    );
  }

  /** Message texts, other frames as `<type>`. */
  texts(): string[] {
    return this.frames.map((f) => {
      const frame = JSON.parse(f) as ChatEvent;
      return frame.type === "message" ? frame.message.text : `<${frame.type}>`;
    });
  }
}

/** A chat message with `text` (stored nowhere: a layer carries whatever it is given). */
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
