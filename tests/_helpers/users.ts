/**
 * People known to a test server's directory, as a real sign-in makes them:
 * a session minted by `people.ts`, and the directory told (for "add by
 * name" and direct messages, which resolve people there).
 */
import type { ChatUser } from "../../lib/chat/types.ts";
import { googleUser, type Person } from "./people.ts";
import type { TestServer } from "./server.ts";

/** The Google user named `name`, id `google:<name lower case>` (test data, no session). */
export function googleChatUser(name: string): ChatUser {
  return { id: `google:${name.toLowerCase()}`, name, kind: "google" };
}

/** Signs the Google `user` in on `server`: a session cookie, and the directory knows them. */
export async function signIn(
  server: Pick<TestServer, "services">,
  user: ChatUser,
): Promise<Person> {
  const person = await googleUser(user.id.replace(/^google:/, ""), user.name);
  const { sessions, directory } = server.services;
  await directory.remember(person.user, sessions.ttlSeconds * 1000);
  return person;
}
