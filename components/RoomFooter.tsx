import type { VNode } from "preact";
import { useEffect, useRef } from "preact/hooks";
import SignIn from "../islands/SignIn.tsx";
import type { RoomStatus } from "../lib/chat/client/room_client.ts";
import type { ChatUser } from "../lib/chat/types.ts";
import type { StandingView } from "../lib/chat/protocol.ts";
import { Composer, type ComposerProps } from "./Composer.tsx";
import { MutedNotice } from "./MutedNotice.tsx";

interface RoomFooterProps {
  room: string;
  status: RoomStatus;
  /** Messages written and not yet sent (kept while signed out). */
  unsent: number;
  /** False for a guest when only signed-in users may post. */
  mayPost: boolean;
  /** Whether the signed-out panel offers guest sign-in. */
  allowGuests: boolean;
  googleClientId: string | null;
  /** Signed in again from the signed-out panel. */
  onSignedIn: (user: ChatUser) => void;
  /** Rejoin after being removed from the room. */
  onRejoin: () => void;
  /** The composer's props, while it is shown. */
  composer: ComposerProps;
  /** A moderator's mute in force: shown (why, until when) in place of the composer. */
  muted?: StandingView["mute"];
}

/**
 * The bottom of the room, by connection status: the composer (or sign-in for
 * a guest who may not post), the signed-out panel, Rejoin once removed, the
 * way out once the room is for its members only without them, or nothing
 * once banned. Whoever had the focus in it when it changed under them
 * gets it back on the new footer, not on `<body>`.
 */
export function RoomFooter(
  {
    room,
    status,
    unsent,
    mayPost,
    allowGuests,
    googleClientId,
    onSignedIn,
    onRejoin,
    composer,
    muted = null,
  }: RoomFooterProps,
): VNode | null {
  /** What takes the focus when the composer goes away under it (signed out, removed). */
  const footerFocus = useRef<HTMLElement>(null);
  // Whoever was typing or signing in when the footer changed under them is
  // not left on <body>: the panel's heading, Rejoin, or the composer again.
  const footerKind = status === "signed-out" || status === "kicked" ||
      status === "banned" || status === "no-access"
    ? status
    : "composer";
  const lastFooter = useRef(footerKind);
  useEffect(() => {
    if (lastFooter.current === footerKind) return;
    lastFooter.current = footerKind;
    const active = document.activeElement;
    if (active && active !== document.body) return;
    const target = footerFocus.current ??
      document.querySelector<HTMLElement>("form.composer textarea");
    target?.focus();
  }, [footerKind]);

  switch (status) {
    case "signed-out":
      return (
        <section
          class="signed-out-panel composer border-top p-3"
          aria-labelledby="signed-out-title"
          data-testid="signed-out"
        >
          <h2
            id="signed-out-title"
            class="h6 mb-1"
            tabIndex={-1}
            ref={(el) => {
              footerFocus.current = el;
            }}
          >
            You're signed out
          </h2>
          <p class="small text-body-secondary mb-2">
            {unsent > 0
              ? `Sign in to keep chatting: ${unsent} unsent ${
                unsent === 1 ? "message is" : "messages are"
              } kept and sent once you are back.`
              : "Sign in to keep chatting."}
          </p>
          <SignIn
            next={`/chat/${room}`}
            allowGuests={allowGuests}
            googleClientId={googleClientId}
            onSignedIn={onSignedIn}
          />
        </section>
      );
    case "kicked":
      return (
        <div class="composer border-top p-3">
          <button
            type="button"
            class="btn btn-primary btn-sm"
            ref={(el) => {
              footerFocus.current = el;
            }}
            onClick={() => onRejoin()}
          >
            Rejoin #{room}
          </button>
        </div>
      );
    case "banned":
      return null;
    case "no-access":
      // Terminal: the page, loaded again, is the room if they were let back in, or a 404.
      return (
        <div
          class="composer border-top p-3 d-flex gap-2"
          data-testid="no-access"
        >
          <a
            class="btn btn-primary btn-sm"
            href="/"
            ref={(el) => {
              footerFocus.current = el;
            }}
          >
            Choose another room
          </a>
          <a class="btn btn-outline-secondary btn-sm" href={`/chat/${room}`}>
            Try #{room} again
          </a>
        </div>
      );
    case "connecting":
    case "live":
    case "reconnecting":
    case "offline":
      return mayPost
        ? (muted ? <MutedNotice mute={muted} /> : <Composer {...composer} />)
        : (
          <div class="composer border-top p-3">
            <SignIn
              next={`/chat/${room}`}
              allowGuests={false}
              googleClientId={googleClientId}
            />
          </div>
        );
    default: {
      const _exhaustive: never = status;
      return null;
    }
  }
}
