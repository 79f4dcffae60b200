import assert from "node:assert/strict";
import { type ComponentChildren, h } from "preact";
import { renderToString } from "preact-render-to-string";
import { registerIslands, serializeProps } from "../../lib/web/islands.tsx";
import { ISLAND_ATTR, PROPS_ATTR } from "../../lib/web/island_attrs.ts";

/** Props chosen to break out of an attribute, a script or JSON if anything is left unescaped. */
const HOSTILE = {
  text: "</script><script>alert(1)</script>",
  quotes: `"double" and 'single' and \`back\``,
  amp: "Tom & Jerry &amp; &lt;not an entity&gt; &#60;",
  lineSeparators: "a\u2028b\u2029c",
  emoji: "😀 👩‍💻 🇫🇷",
  attrBreak: '" onmouseover="alert(2)',
  comment: "<!-- --> <![CDATA[ ]]>",
  nested: { list: [1, "two", null, true], deep: { html: "<b>bold</b>" } },
  empty: "",
  number: 42.5,
};

function Greeting(props: { text: string }) {
  return h("p", { class: "greeting" }, props.text);
}

function Child(props: { label: string }) {
  return h("span", { class: "child" }, props.label);
}

function Parent(props: { title: string }) {
  return h(
    "section",
    null,
    h("h2", null, props.title),
    h(Child, { label: "inner" }),
  );
}

function Picker(
  props: { label: string; onPick: () => void; children?: ComponentChildren },
) {
  return h(
    "button",
    { type: "button", onClick: props.onPick },
    props.label,
    props.children,
  );
}

/** An island handing a nested island what only a parent can: a callback and children. */
function Toolbar() {
  return h(
    "nav",
    null,
    h(Picker, { label: "pick", onPick: () => {} }, h("em", null, "kid")),
  );
}

registerIslands({
  Greeting: { default: Greeting },
  Child: { default: Child },
  Parent: { default: Parent },
  Picker: { default: Picker },
  Toolbar: { default: Toolbar },
});

function page(...children: Parameters<typeof h>[2][]): string {
  return renderToString(h("main", { id: "page" }, ...children));
}

/** Decodes the entities an HTML serializer may produce in an attribute value. */
function decodeEntities(value: string): string {
  return value.replace(
    /&(#x[0-9a-f]+|#\d+|quot|amp|lt|gt|apos);/gi,
    (_, entity: string) => {
      const e = entity.toLowerCase();
      if (e.startsWith("#x")) {
        return String.fromCodePoint(parseInt(e.slice(2), 16));
      }
      if (e.startsWith("#")) {
        return String.fromCodePoint(parseInt(e.slice(1), 10));
      }
      return { quot: '"', amp: "&", lt: "<", gt: ">", apos: "'" }[e]!;
    },
  );
}

interface Marker {
  name: string;
  rawProps: string;
  /** Where the marker's opening tag starts and ends in the HTML. */
  start: number;
  end: number;
}

/** Every island marker element's opening tag. */
function markers(html: string): Marker[] {
  const found: Marker[] = [];
  // Attribute values are double-quoted, so `>` may appear inside them.
  const tag = /<div((?:\s+[\w-]+(?:="[^"]*")?)*)\s*>/g;
  for (const match of html.matchAll(tag)) {
    const attrs = match[1];
    const name = attrs.match(new RegExp(`(?:^|\\s)${ISLAND_ATTR}="([^"]*)"`));
    if (!name) continue;
    const props = attrs.match(new RegExp(`(?:^|\\s)${PROPS_ATTR}="([^"]*)"`));
    assert.ok(props, `marker ${name[1]} has no ${PROPS_ATTR}`);
    found.push({
      name: name[1],
      rawProps: props[1],
      start: match.index!,
      end: match.index! + match[0].length,
    });
  }
  return found;
}

Deno.test("islands: SSR wraps an island in a marker carrying its name and props", () => {
  const html = page(h("h1", null, "Title"), h(Greeting, { text: "hello" }));
  const found = markers(html);
  assert.equal(found.length, 1);
  assert.equal(found[0].name, "Greeting");
  assert.deepEqual(JSON.parse(decodeEntities(found[0].rawProps)), {
    text: "hello",
  });
  // The component's own output is inside the marker, so hydration finds it in place.
  assert.match(
    html,
    new RegExp(
      `<div ${ISLAND_ATTR}="Greeting" ${PROPS_ATTR}="[^"]*"><p class="greeting">hello</p></div>`,
    ),
  );
  // Non-island components are not wrapped.
  assert.ok(html.startsWith('<main id="page"><h1>Title</h1>'));
});

Deno.test("islands: hostile props cannot break out of the marker attribute", () => {
  const html = page(h(Greeting, HOSTILE as unknown as { text: string }));
  const found = markers(html);
  assert.equal(found.length, 1);
  const [marker] = found;

  // The attribute value holds no raw quote or `<`, and every `&` starts an
  // entity: it cannot end early or be read differently by the browser.
  assert.ok(!/["<]/.test(marker.rawProps), marker.rawProps);
  assert.ok(
    !/&(?!(?:quot|amp|lt|gt|apos|#\d+|#x[0-9a-f]+);)/i.test(marker.rawProps),
    marker.rawProps,
  );

  // Nowhere in the document is the payload live: not in the attribute and not
  // in the component's rendered text.
  assert.ok(!html.includes("</script><script>alert"));
  assert.ok(!html.includes("<script"));
  assert.ok(!html.includes('onmouseover="alert'));
  assert.ok(!html.includes("<b>bold</b>"));
  assert.equal(markers(html).length, 1);
  assert.equal(html.match(/<div/g)!.length, 1);

  // The rendered text of the component is escaped too.
  const body = html.slice(marker.end);
  assert.ok(
    body.startsWith('<p class="greeting">&lt;/script>') ||
      body.startsWith('<p class="greeting">&lt;/script&gt;'),
    body.slice(0, 60),
  );
});

Deno.test("islands: decoding the props attribute gives back exactly the original props", () => {
  const html = page(h(Greeting, HOSTILE as unknown as { text: string }));
  const [marker] = markers(html);
  const decoded = JSON.parse(decodeEntities(marker.rawProps));
  assert.deepEqual(decoded, HOSTILE);
  // Characters that are not escaped survive byte for byte.
  assert.equal(decoded.lineSeparators, "a\u2028b\u2029c");
  assert.equal(decoded.emoji, "😀 👩‍💻 🇫🇷");
  // Which is exactly what the browser does: the DOM unescapes, JSON.parse reads.
  assert.equal(decodeEntities(marker.rawProps), serializeProps(HOSTILE));
});

Deno.test("islands: children are not serialized as props", () => {
  const html = page(
    h(Greeting, { text: "with children" }, h("i", null, "child")),
  );
  const [marker] = markers(html);
  assert.deepEqual(JSON.parse(decodeEntities(marker.rawProps)), {
    text: "with children",
  });
});

Deno.test("islands: every island instance gets its own marker and props", () => {
  const html = page(
    h(Greeting, { text: "one" }),
    h("div", { class: "plain" }, "not an island"),
    h(Greeting, { text: "two" }),
  );
  const found = markers(html);
  assert.deepEqual(found.map((m) => m.name), ["Greeting", "Greeting"]);
  assert.deepEqual(
    found.map((m) => JSON.parse(decodeEntities(m.rawProps)).text),
    ["one", "two"],
  );
});

Deno.test("islands: an island inside an island is rendered by its parent, not wrapped again", () => {
  const html = page(h(Parent, { title: "outer" }));
  const found = markers(html);
  assert.deepEqual(found.map((m) => m.name), ["Parent"]);
  assert.ok(html.includes('<span class="child">inner</span>'));
  assert.equal(html.match(new RegExp(ISLAND_ATTR + "=", "g"))!.length, 1);

  // The same Child component outside an island is an island of its own.
  const alone = markers(page(h(Child, { label: "alone" })));
  assert.deepEqual(alone.map((m) => m.name), ["Child"]);
});

Deno.test("islands: a nested island may get callbacks and children from its parent", () => {
  const html = page(h(Toolbar, {}));
  assert.deepEqual(markers(html).map((m) => m.name), ["Toolbar"]);
  assert.ok(
    html.includes('<nav><button type="button">pick<em>kid</em></button></nav>'),
    html,
  );
});

Deno.test("serializeProps: JSON values pass, functions, symbols and bigints throw", () => {
  assert.equal(
    serializeProps({ a: 1, b: [null, "x"] }),
    '{"a":1,"b":[null,"x"]}',
  );
  assert.throws(() => serializeProps({ onClick: () => {} }), TypeError);
  assert.throws(() => serializeProps({ deep: { handler() {} } }), TypeError);
  assert.throws(() => serializeProps({ list: [1, () => 2] }), TypeError);
  assert.throws(() => serializeProps({ s: Symbol("x") }), TypeError);
  assert.throws(() => serializeProps({ n: 10n }), TypeError);
  // A page that passes a function to an island fails loudly instead of dropping it.
  assert.throws(
    () =>
      page(h(Greeting, { text: "x", onClick: () => {} } as { text: string })),
    TypeError,
  );
});
