/**
 * A test reader that recovers like the ChatRoom island: it merges messages
 * by `seq` in a {@link Timeline} and asks the store (`resume` from its
 * contiguous seq) whenever it sees a gap or is told to `resync`. It can be
 * attached to a new {@link TestClient} after a reconnect, keeping what it
 * already knows.
 */
import type { ServerFrame } from "../../lib/chat/protocol.ts";
import { Timeline } from "../../lib/chat/timeline.ts";
import type { TestClient } from "./ws_client.ts";
import { Signal } from "../../support/wait.ts";

/** How long {@link RecoveringReader.whole} waits by default. */
export const WHOLE_TIMEOUT_MS = 10_000;

/** Mirrors the island's recovery: merge by seq, ask the store for any gap. */
export class RecoveringReader {
  readonly timeline = new Timeline();
  /** The `after` of every `resume` this reader sent, in order. */
  readonly resumes: number[] = [];
  /** `resync` frames received. */
  resyncs = 0;
  #resumeInFlight = false;
  /** A `resync` arrived while a resume was in flight: ask again once it is answered. */
  #resumeOwed = false;
  readonly #signal = new Signal();

  attach(client: TestClient): void {
    this.#resumeInFlight = false;
    this.#resumeOwed = false;
    const resume = () => {
      this.#resumeInFlight = true;
      this.#resumeOwed = false;
      this.resumes.push(this.timeline.contiguous);
      client.send({ type: "resume", after: this.timeline.contiguous });
    };
    const onFrame = (frame: ServerFrame) => {
      if (frame.type === "welcome") {
        this.timeline.welcome(frame.history, frame.lastSeq);
      } else if (frame.type === "message") this.timeline.add([frame.message]);
      else if (frame.type === "history" && frame.direction === "newer") {
        this.#resumeInFlight = false;
        this.timeline.addNewer(frame.messages, frame.hasMore);
      } else if (frame.type === "resync") {
        // Broadcasts may have been lost without a visible gap: ask anyway.
        this.resyncs++;
        this.#resumeOwed = true;
      }
      if (
        !this.#resumeInFlight && (this.timeline.hasGap || this.#resumeOwed)
      ) resume();
      this.#signal.notify();
    };
    // Frames that arrived with the open event are already queued on the client.
    const seen = client.frames.length;
    client.frames.slice(0, seen).forEach(onFrame);
    client.socket.addEventListener(
      "message",
      () => onFrame(client.frames[client.frames.length - 1]),
    );
  }

  /** Resolves once `count` messages are known with no gap; rejects after `timeoutMs`. */
  whole(count: number, timeoutMs = WHOLE_TIMEOUT_MS): Promise<void> {
    return this.#signal.until(
      () => this.timeline.messages.length >= count && !this.timeline.hasGap,
      () =>
        `reader: ${this.timeline.messages.length} of ${count} messages, contiguous ${this.timeline.contiguous}, highest ${this.timeline.highest}`,
      timeoutMs,
    );
  }
}
