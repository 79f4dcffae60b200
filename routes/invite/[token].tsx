import type { AppEnv, AppVariables } from "../../lib/context.ts";
import type { Handlers, PageProps } from "../../lib/web/types.ts";
import { mayJoin } from "../../lib/chat/access.ts";
import { tellStanding } from "../../lib/chat/moderation.ts";
import { enterRoom } from "../../lib/chat/room_gate.ts";
import { INVITE_REFUSALS, isInviteToken } from "../../lib/chat/invites.ts";
import { inviteRefusal } from "../../lib/store/invites.ts";
import SignIn from "../../islands/SignIn.tsx";

/** What the invite page shows: a refusal, or (signed out) whom the link invites to sign in first. */
type InviteData =
  | { state: "refused"; reason: keyof typeof INVITE_REFUSALS }
  | { state: "sign-in"; room: string; guests: boolean };

export const title = ({ data }: PageProps<InviteData>) =>
  data.state === "refused" ? "Invitation refused" : `Join #${data.room}`;

/**
 * `GET /invite/:token`: signed in, takes one use of the link, makes you a
 * member of its room and redirects there (already able to enter: no use is
 * taken); signed out, offers sign-in and comes back here. A link that is
 * unknown, expired, used up or revoked — or a guest where the room takes
 * none — gets a page that says so.
 */
export const handler: Handlers<AppEnv> = {
  async GET(c, render) {
    const services = c.get("services");
    const user = c.get("user");
    const token = c.req.param("token") ?? "";
    const refuse = (reason: keyof typeof INVITE_REFUSALS) =>
      render({ state: "refused", reason } satisfies InviteData, {
        status: INVITE_REFUSALS[reason].status,
      });
    if (!isInviteToken(token)) return refuse("not_found");
    const invite = await services.invites.get(token);
    if (!invite) return refuse("not_found");
    const { room } = invite;
    // Someone who can already enter (a member, an open room) is only sent there.
    if (user && await enterRoom(services.rooms, room, user)) {
      return c.redirect(`/chat/${room}`, 303);
    }
    const now = Date.now();
    const unusable = inviteRefusal(invite, now);
    if (unusable) return refuse(unusable);
    const info = await services.rooms.get(room);
    if (!user) {
      return render(
        {
          state: "sign-in",
          room,
          guests: services.config.allowGuests &&
            (info?.settings.guestsAllowed ?? true),
        } satisfies InviteData,
      );
    }
    if (!mayJoin(info, user)) return refuse("guests");
    const standing = await services.rooms.standing(
      room,
      user.id,
      c.get("client").address,
      now,
    );
    if (standing.ban) return refuse("banned");
    const redeemed = await services.invites.redeem(token, now);
    if (!redeemed.ok) return refuse(redeemed.reason);
    const joiner = { id: user.id, name: user.name };
    await services.rooms.setRole(room, joiner, "member");
    await tellStanding(services, room, joiner.id);
    await services.rooms.audit(room, {
      ts: now,
      actor: joiner,
      action: "join",
      detail: `invite by ${invite.by.name}`,
    });
    services.log.info("invite.redeemed", { room, user: user.id });
    return c.redirect(`/chat/${room}`, 303);
  },
};

export default function InvitePage(
  { data, url, state }: PageProps<InviteData, AppVariables>,
) {
  const { services } = state;
  return (
    <main class="container py-4">
      <div class="row justify-content-center">
        <div class="col-lg-6 col-md-8">
          {data.state === "refused"
            ? (
              <div class="card" data-testid="invite-refused">
                <div class="card-body">
                  <h1 class="h4">This invitation cannot be used</h1>
                  <p class="mb-3" data-reason={data.reason}>
                    {INVITE_REFUSALS[data.reason].message}
                  </p>
                  <a class="btn btn-primary" href="/">Go to the lobby</a>
                </div>
              </div>
            )
            : (
              <div class="card" data-testid="invite-sign-in">
                <div class="card-body">
                  <h1 class="h4">You are invited to #{data.room}</h1>
                  <p>
                    Sign in to join. You will be taken to the room once you are
                    in.
                  </p>
                  <SignIn
                    next={url.pathname}
                    allowGuests={data.guests}
                    googleClientId={services.config.googleClientIds[0] ??
                      null}
                  />
                </div>
              </div>
            )}
        </div>
      </div>
    </main>
  );
}
