/**
 * Hostile message text and display names in a real browser: an XSS corpus is
 * posted as messages (over the HTTP API and through the composer) by guests
 * whose names are themselves payloads, and must stay inert everywhere it is
 * shown: the live island, the server-rendered page after a reload, and the
 * signed-out page. Nothing runs, no element is injected, only http(s) text
 * becomes a link, and names lose their bidi overrides. Markdown-lite around
 * payloads makes only its own elements (strong, em, s, code, pre,
 * blockquote, mentions), and every character stays text.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import {
  confirmed,
  cspViolations,
  hydrated,
  joinWithCookie,
  postAs,
  send,
  statusIs,
  type Tab,
  withSession,
} from "./_browser.ts";
import { normalizeMessageText } from "../../lib/chat/protocol.ts";
import { LINK_REL } from "../../components/MessageText.tsx";
import { normalizeDisplayName } from "../../lib/chat/names.ts";
import { TestClient } from "../_helpers/ws_client.ts";

/** Display names that are payloads (each at most 32 characters). */
const NAMES: readonly string[] = [
  `<img src=x onerror=alert(1)>`,
  `<script>alert(1)</script>`,
  `<svg onload=alert(1)>`,
  `"><b onmouseover=alert(1)>x`,
  `javascript:alert(1)`,
  `\u202Eexe.gnp Mallory`,
  "</script>${1}{{7*7}}`x`",
  `&lt;b&gt;Ann&amp;co`,
];

/** A payload, and the links (href, text) it should produce: http(s) only. */
interface Payload {
  text: string;
  links?: { href: string; text: string }[];
}

const PWN = "window.__pwned=1";

const CORPUS: readonly Payload[] = [
  { text: `<script>${PWN};alert(1)</script>` },
  { text: `<img src=x onerror="${PWN};alert(1)">` },
  { text: `<svg onload="${PWN}"><circle r=9 /></svg>` },
  { text: `<svg><script>${PWN}</script></svg>` },
  { text: `<iframe src="javascript:parent.${PWN}"></iframe>` },
  { text: `<a href="javascript:${PWN}">click me</a>` },
  { text: `javascript:${PWN}` },
  { text: `JaVaScRiPt:alert(document.domain)` },
  { text: `javascript://example.com/%0A${PWN}` },
  { text: `[link](javascript:alert(1))` },
  { text: `data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==` },
  { text: `data:text/html,<script>${PWN}</script>` },
  { text: `" onmouseover="${PWN}" x="` },
  { text: `' onfocus='${PWN}' autofocus '` },
  { text: `&lt;script&gt;alert(1)&lt;/script&gt;` },
  {
    text:
      `&#60;img src=x onerror=alert(1)&#62; &#x3C;svg onload=alert(1)&#x3E;`,
  },
  { text: `</script><script>${PWN}</script>` },
  {
    text: "${" + PWN +
      "} `${alert(1)}` {{constructor.constructor('alert(1)')()}} #{alert(1)}",
  },
  { text: `abc\u202Edef \u202Atxt.exe` },
  {
    text: `<math><mtext><table><mglyph><style><img src=x onerror=${PWN}>`,
  },
  // A URL inside markup is still just an http(s) URL in text: it becomes a link.
  {
    text:
      `<style>body{display:none}</style><base href="https://evil.example/">`,
    links: [{ href: "https://evil.example/", text: "https://evil.example/" }],
  },
  {
    text:
      `<form action="https://evil.example/"><input name=q autofocus onfocus=${PWN}></form>`,
    links: [{ href: "https://evil.example/", text: "https://evil.example/" }],
  },
  { text: `<meta http-equiv="refresh" content="0;url=javascript:${PWN}">` },
  {
    text:
      "jaVasCript:/*-/*`/*\\`/*'/*\"/**/(/* */oNcliCk=alert() )//%0D%0A//</stYle/</titLe/</teXtarEa/</scRipt/--!>\\x3csVg/<sVg/oNloAd=alert()//>\\x3e",
  },
  {
    text: `https://example.com/" onmouseover="${PWN}`,
    links: [{ href: "https://example.com/", text: "https://example.com/" }],
  },
  {
    text: `https://example.com/a"><img src=x onerror=${PWN}>`,
    links: [{ href: "https://example.com/a", text: "https://example.com/a" }],
  },
  {
    text: `see https://example.com/path?q=<script>${PWN}</script>`,
    links: [{
      href: "https://example.com/path?q=",
      text: "https://example.com/path?q=",
    }],
  },
  {
    text: `HTTPS://EXAMPLE.COM/UPPER and http://example.org/page.`,
    links: [
      { href: "https://example.com/UPPER", text: "HTTPS://EXAMPLE.COM/UPPER" },
      { href: "http://example.org/page", text: "http://example.org/page" },
    ],
  },
  // Markdown-lite: formatting around payloads makes elements, never markup.
  { text: `**<img src=x onerror="${PWN}">** and __<b onclick=${PWN}>__` },
  { text: "`<script>" + PWN + "</script>` ``<svg onload=" + PWN + ">``" },
  {
    text: "```html\n<svg onload=" + PWN + '>\n<a href="javascript:' + PWN +
      '">x</a>\n```\nafter the block',
  },
  {
    text:
      `> <iframe src="javascript:parent.${PWN}"></iframe>\n> **quoted** https://example.com/q`,
    links: [{ href: "https://example.com/q", text: "https://example.com/q" }],
  },
  {
    text: `_[x](javascript:${PWN})_ ~~<b onclick=${PWN}>~~ *data:text/html,x*`,
  },
  { text: `@<img src=x onerror=alert(1)> @Viewer <svg onload=${PWN}>` },
  {
    text: `*https://example.com/em* **https://example.com/"><b>**`,
    links: [
      { href: "https://example.com/em", text: "https://example.com/em" },
      { href: "https://example.com/", text: "https://example.com/" },
    ],
  },
];

/** Sent through the composer, so the island's pending copy is rendered too. */
const TYPED: readonly string[] = [
  `<img src=x onerror="${PWN}"> typed`,
  `</script><svg onload=${PWN}> typed`,
];

/** What a page shows, gathered in the page. */
interface Audit {
  pwned: unknown;
  /** Elements that should never come out of text: anywhere in the body. */
  injected: string[];
  /** `on*` attributes anywhere in the document. */
  handlers: string[];
  /** Attribute values with a script or data URL, or the payload's marker (island props aside). */
  scriptyAttributes: string[];
  scripts: string[];
  anchors: {
    href: string | null;
    text: string | null;
    rel: string | null;
    target: string | null;
    attrs: string[];
  }[];
  texts: string[];
  authors: string[];
  /** Bidi overrides and embeddings anywhere in the body's text. */
  bidi: boolean;
}

function audit(page: Page): Promise<Audit> {
  return page.evaluate(() => {
    const list = document.querySelector(".message-list");
    const body = document.body;
    const all = [...document.querySelectorAll("*")];
    return {
      pwned: (window as unknown as { __pwned?: unknown }).__pwned,
      injected: [
        // Where user text is shown, only the components' own elements.
        ...[...document.querySelectorAll(
          ".message-list, [data-testid=presence-list], [data-testid=typing], [data-testid=activity]",
        )].flatMap((area) => [...area.querySelectorAll("*")])
          .filter((el) =>
            ![
              "LI",
              "DIV",
              "SPAN",
              "STRONG",
              "TIME",
              "A",
              // Markdown-lite's elements (components/MessageText.tsx).
              "EM",
              "S",
              "CODE",
              "PRE",
              "BLOCKQUOTE",
            ].includes(el.tagName)
          ),
        // Anywhere: nothing that runs, frames, styles or re-bases the page.
        ...body.querySelectorAll(
          "iframe, frame, object, embed, svg, math, base, meta, style, link, img:not(.avatar), script:not([src]):not([nonce])",
        ),
      ].map((el) => el.outerHTML.slice(0, 80)),
      handlers: all.flatMap((el) =>
        [...el.attributes].filter((a) => /^on/i.test(a.name)).map((a) =>
          `${el.tagName.toLowerCase()} ${a.name}`
        )
      ),
      scriptyAttributes: all.flatMap((el) =>
        [...el.attributes]
          .filter((a) => a.name !== "data-island-props")
          .filter((a) => /javascript:|^\s*data:|__pwned/i.test(a.value))
          .map((a) => `${el.tagName.toLowerCase()} ${a.name}=${a.value}`)
      ),
      scripts: [...document.scripts].map((s) =>
        s.src ? new URL(s.src).pathname : `inline nonce=${s.nonce !== ""}`
      ),
      anchors: [...(list?.querySelectorAll("a") ?? [])].map((a) => ({
        href: a.getAttribute("href"),
        text: a.textContent,
        rel: a.getAttribute("rel"),
        target: a.getAttribute("target"),
        attrs: [...a.attributes].map((x) => x.name).sort(),
      })),
      texts: [
        ...(list?.querySelectorAll("li.message[data-seq] .message-text") ?? []),
      ].map((e) => e.textContent ?? ""),
      authors: [...(list?.querySelectorAll(".message-author") ?? [])].map((e) =>
        e.textContent ?? ""
      ),
      bidi: /[\u202a-\u202e]/.test(body.textContent ?? ""),
    };
  });
}

/** Asserts everything shown on `tab` is inert, and the texts and names are exactly what was sent. */
async function assertInert(
  tab: Tab,
  where: string,
  expected: {
    texts: string[];
    names: Set<string>;
    scripts: string[];
    dialogs: string[];
  },
): Promise<Audit> {
  const a = await audit(tab.page);
  assert.equal(a.pwned, undefined, `${where}: a payload ran`);
  assert.deepEqual(expected.dialogs, [], `${where}: dialogs opened`);
  assert.deepEqual(a.injected, [], `${where}: injected elements`);
  assert.deepEqual(a.handlers, [], `${where}: event handler attributes`);
  assert.deepEqual(a.scriptyAttributes, [], `${where}: script-ish attributes`);
  assert.deepEqual(a.scripts, expected.scripts, `${where}: scripts changed`);
  assert.deepEqual(a.texts, expected.texts, `${where}: texts as sent`);
  for (const author of a.authors) {
    assert.ok(expected.names.has(author), `${where}: author ${author}`);
  }
  assert.ok(!a.bidi, `${where}: a bidi override reached the page`);
  const links = CORPUS.flatMap((p) => p.links ?? []);
  assert.deepEqual(
    a.anchors.map(({ href, text }) => ({ href, text })),
    links,
    `${where}: only http(s) text became links`,
  );
  for (const link of a.anchors) {
    assert.match(link.href ?? "", /^https?:\/\//);
    assert.equal(link.rel, LINK_REL);
    assert.equal(link.rel, "noopener noreferrer nofollow ugc");
    assert.equal(link.target, "_blank");
    assert.deepEqual(link.attrs, ["href", "rel", "target"]);
  }
  assert.deepEqual(await cspViolations(tab), [], `${where}: CSP violations`);
  assert.deepEqual(tab.watch.pageErrors, [], `${where}: page errors`);
  assert.deepEqual(
    tab.watch.foreignRequests,
    [],
    `${where}: requests off 127.0.0.1`,
  );
  return a;
}

/** Records every dialog (alert, confirm, prompt) a page opens, and dismisses it. */
function recordDialogs(page: Page): string[] {
  const dialogs: string[] = [];
  page.on("dialog", (d) => {
    dialogs.push(`${d.type()}: ${d.message()}`);
    d.dismiss().catch(() => {});
  });
  return dialogs;
}

Deno.test("an XSS corpus in messages and display names stays inert: live, server-rendered and signed out", async () => {
  await withSession("xss corpus", async (s) => {
    const room = "xss";
    const viewer = await s.open();
    const dialogs = recordDialogs(viewer.page);
    await joinWithCookie(viewer, s.server, "Viewer", room);
    // The scripts of a clean room page: nothing may add to them.
    const scripts = (await audit(viewer.page)).scripts;
    assert.ok(scripts.length >= 2, `page scripts: ${scripts}`);

    // The attackers sign in with payload names and stay in the room (presence, typing).
    const attackers = [];
    for (const raw of NAMES) {
      const guest = await s.server.guest(raw);
      assert.equal(guest.user.name, normalizeDisplayName(raw));
      assert.doesNotMatch(guest.user.name, /[\u202a-\u202e\u2066-\u2069]/);
      const socket = await TestClient.connect(s.server.wsUrl(room), {
        cookie: guest.cookie,
        origin: s.server.origin,
      });
      await socket.nextOf("welcome");
      attackers.push({ ...guest, socket });
    }
    const names = new Set(["Viewer", ...attackers.map((a) => a.user.name)]);
    assert.ok(names.has("exe.gnp Mallory"), "the override is stripped");
    try {
      // Every payload, from every attacker in turn, over the HTTP API.
      for (const [i, payload] of CORPUS.entries()) {
        const attacker = attackers[i % attackers.length];
        await postAs(s.server, attacker.cookie, room, payload.text);
      }
      // Two through the viewer's own composer.
      for (const text of TYPED) await send(viewer.page, text);
      const texts = [...CORPUS.map((p) => p.text), ...TYPED].map(
        normalizeMessageText,
      );
      await viewer.page.waitForFunction(
        (n) =>
          document.querySelectorAll("li.message[data-seq]").length === n &&
          document.querySelectorAll("li.message.pending").length === 0,
        texts.length,
      );
      // Two of them type: their names show in the typing line.
      attackers[0].socket.send({ type: "typing" });
      await viewer.page.getByTestId("typing").filter({
        hasText: attackers[0].user.name,
      }).waitFor();
      attackers[5].socket.send({ type: "typing" });
      const typingLine = viewer.page.getByTestId("typing").filter({
        hasText: attackers[5].user.name,
      });
      await typingLine.waitFor();
      assert.equal(
        await typingLine.textContent(),
        `${attackers[0].user.name} and ${attackers[5].user.name} are typing…`,
      );
      // Everyone is in the presence list, by their exact (normalized) name.
      const present = await viewer.page.getByTestId("presence-list")
        .locator("li span.text-truncate").allTextContents();
      assert.deepEqual(present.sort(), [...names].sort());

      const expected = { texts, names, scripts, dialogs };
      const live = await assertInert(viewer, "live island", expected);
      // The markdown payloads were formatted (so the corpus exercised it).
      const selectors = ["strong", "em", "s", "code", "pre", "blockquote"];
      const formatted = await viewer.page.evaluate(
        (sels) =>
          sels.map((sel) =>
            document.querySelectorAll(`.message-list .bubble ${sel}`).length
          ),
        [...selectors, ".mention", ".mention-me"],
      );
      assert.ok(
        formatted.every((n) => n > 0),
        `formatted elements: ${formatted}`,
      );
      assert.ok(live.authors.length >= attackers.length);

      // The server's rendering of the same history, hydrated.
      await viewer.page.reload();
      await hydrated(viewer.page);
      await statusIs(viewer.page, "live");
      await confirmed(viewer.page, texts.at(-1)!).waitFor();
      await assertInert(viewer, "server-rendered", expected);
      // And the raw HTML: no payload tag survives as markup.
      const html = await (await fetch(`${s.server.origin}/chat/${room}`))
        .text();
      assert.doesNotMatch(
        html,
        /<(img|svg|iframe|math|style|base|meta http|form action="https:\/\/evil)[^>]*(onerror|onload|evil|javascript)/i,
      );
      assert.equal(
        html.match(/<script\b/gi)?.length,
        scripts.length,
        "no script tag beyond the page's own",
      );

      // Signed out: the plain server-rendered list.
      const visitor = await s.open();
      const visitorDialogs = recordDialogs(visitor.page);
      await visitor.page.goto(`/chat/${room}`);
      await hydrated(visitor.page);
      await confirmed(visitor.page, texts.at(-1)!).waitFor();
      const visitorScripts = (await audit(visitor.page)).scripts;
      await assertInert(visitor, "signed out", {
        texts,
        names,
        scripts: visitorScripts,
        dialogs: visitorDialogs,
      });
      assert.deepEqual(visitorScripts, scripts);

      // Hovering and focusing the messages does nothing either.
      for (const el of await viewer.page.locator(".message-text").all()) {
        await el.hover();
      }
      assert.equal(
        await viewer.page.evaluate(() =>
          (window as unknown as { __pwned?: unknown }).__pwned
        ),
        undefined,
      );
      assert.deepEqual(dialogs, []);
    } finally {
      await Promise.all(attackers.map((a) => a.socket.close()));
    }
  });
});
