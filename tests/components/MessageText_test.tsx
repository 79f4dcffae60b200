import assert from "node:assert/strict";
import { renderToString } from "preact-render-to-string";
import { LINK_REL, MessageText } from "../../components/MessageText.tsx";

/** The text of rendered HTML: tags dropped, entities decoded (what textContent gives). */
function textOf(html: string): string {
  return html.replace(/<[^>]*>/g, "").replace(/&lt;/g, "<").replace(
    /&gt;/g,
    ">",
  ).replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, "&");
}

Deno.test("MessageText renders formatting as elements, marks hidden, direction automatic", () => {
  const html = renderToString(
    <MessageText text="**hi** @Ana `x`" names={["Ana"]} me="Ana" />,
  );
  assert.equal(
    html,
    '<div class="message-text" dir="auto"><strong><span class="md-mark">**</span>hi<span class="md-mark">**</span></strong> <span class="mention mention-me">@Ana</span> <span class="md-mark">`</span><code>x</code><span class="md-mark">`</span></div>',
  );
});

Deno.test("MessageText: markup in text stays text; only http(s) links, with the safe rel", () => {
  const text =
    '<img src=x onerror=alert(1)> **<b>** [x](javascript:alert(1)) https://example.com/a"b';
  const html = renderToString(<MessageText text={text} />);
  assert.doesNotMatch(html, /<img|<b>|href="javascript/);
  assert.equal(textOf(html), text);
  assert.match(
    html,
    new RegExp(
      `<a href="https://example.com/a" target="_blank" rel="${LINK_REL}">https://example.com/a</a>`,
    ),
  );
});

Deno.test("MessageText: code blocks and quotes", () => {
  const text = "```\n<script>\n```\n> quote";
  const html = renderToString(<MessageText text={text} />);
  assert.match(html, /<pre class="md-code">.*<code>&lt;script><\/code>/s);
  assert.match(html, /<blockquote class="md-quote" dir="auto">/);
  assert.equal(textOf(html), text);
});
