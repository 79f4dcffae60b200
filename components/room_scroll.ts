/**
 * Where the ChatRoom island's conversation is scrolled: pinned to the newest
 * message unless the reader scrolled up (then new messages are counted), kept
 * in place when a page of older messages loads above, and moved to a reply's
 * parent, loading older pages until it is shown. A Preact hook.
 *
 * @module
 */

import { type ReadonlySignal, useSignal } from "@preact/signals";
import type { RefObject } from "preact";
import { useEffect, useLayoutEffect, useRef } from "preact/hooks";
import type {
  RoomView,
  TimelineChange,
} from "../lib/chat/client/room_client.ts";

/** Pixels from the bottom within which new messages keep the view pinned. */
const STICK_THRESHOLD_PX = 80;
/** Scrolled this close to the top, the next page of older messages loads. */
const LOAD_OLDER_THRESHOLD_PX = 40;
/** How long a message jumped to stays highlighted. */
const HIGHLIGHT_MS = 2_000;

/** What {@link useRoomScroll} gives the island. */
export interface RoomScroll {
  /** For the scrolling element. */
  scroller: RefObject<HTMLDivElement>;
  /** New messages that arrived below the view since the reader scrolled up. */
  unseen: number;
  /** A timeline change, told before the view that carries it renders. */
  measure: (change: TimelineChange | undefined) => void;
  /** Brings the newest message into view on the next render (one you sent). */
  stickToBottom: () => void;
  /** For the scrolling element's `scroll` event. */
  onScroll: () => void;
  /** Scrolls to the newest message and clears the count. */
  jumpToLatest: () => void;
  /** Scrolls to message `seq` and highlights it, loading older pages until it is shown. */
  jumpTo: (seq: number) => void;
}

/**
 * Scroll management for the room's conversation, reading the latest `view`;
 * `loadOlder` asks for the next page of older messages; a change of
 * `relayout` re-renders every message (times in the reader's zone), and a
 * pinned view stays at the newest.
 *
 * @example
 * ```ts
 * const scroll = useRoomScroll(view, () => client.loadOlder());
 * client.subscribe((e) => e.type === "change" && scroll.measure(e.timeline));
 * ```
 */
export function useRoomScroll(
  view: ReadonlySignal<RoomView>,
  loadOlder: () => void,
  relayout?: unknown,
): RoomScroll {
  const unseen = useSignal(0);
  /** A message to scroll to once it is loaded (a reply's parent). */
  const jumpTarget = useRef<number | null>(null);
  const scroller = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  const keepOffset = useRef<number | null>(null);

  const nearBottom = () => {
    const el = scroller.current;
    return !el ||
      el.scrollHeight - el.scrollTop - el.clientHeight < STICK_THRESHOLD_PX;
  };

  const { messages, pending } = view.value;
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    if (keepOffset.current !== null) {
      el.scrollTop = el.scrollHeight - keepOffset.current;
      keepOffset.current = null;
    } else if (stick.current) {
      el.scrollTop = el.scrollHeight;
    }
  }, [messages, pending, relayout]);

  // The conversation's own box resized while pinned (the composer grew, the
  // window changed): the newest message stays in view.
  useEffect(() => {
    const el = scroller.current;
    if (!el || typeof ResizeObserver === "undefined") return;
    const observer = new ResizeObserver(() => {
      if (stick.current && keepOffset.current === null) {
        el.scrollTop = el.scrollHeight;
      }
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  /** Scrolls to the jump target if it is shown, else loads older pages towards it. */
  const tryJump = () => {
    const seq = jumpTarget.current;
    if (seq === null) return;
    const el = document.getElementById(`m${seq}`);
    if (el) {
      jumpTarget.current = null;
      stick.current = false;
      el.scrollIntoView({ block: "center" });
      el.classList.add("highlight");
      setTimeout(() => el.classList.remove("highlight"), HIGHLIGHT_MS);
      return;
    }
    const oldest = view.value.messages[0]?.seq ?? 0;
    if (view.value.olderAvailable && oldest > seq) loadOlder();
    else jumpTarget.current = null; // No longer stored.
  };
  useLayoutEffect(tryJump, [messages]);

  return {
    scroller,
    unseen: unseen.value,
    measure(change) {
      // Measured before the new messages render.
      if (change?.direction === "newer") {
        stick.current = nearBottom() || change.mine;
        if (!stick.current) unseen.value += change.added;
      } else if (change?.direction === "older") {
        const el = scroller.current;
        keepOffset.current = el ? el.scrollHeight - el.scrollTop : null;
      }
    },
    stickToBottom() {
      stick.current = true;
    },
    onScroll() {
      // Scrolled up by the reader: stay there; back at the bottom: pinned again.
      stick.current = nearBottom();
      if (stick.current) unseen.value = 0;
      const el = scroller.current;
      if (
        el && el.scrollTop < LOAD_OLDER_THRESHOLD_PX &&
        view.value.olderAvailable
      ) loadOlder();
    },
    jumpToLatest() {
      const el = scroller.current;
      if (el) el.scrollTop = el.scrollHeight;
      unseen.value = 0;
    },
    jumpTo(seq) {
      jumpTarget.current = seq;
      tryJump();
    },
  };
}
