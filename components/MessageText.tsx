import type { ComponentChildren, VNode } from "preact";
import { useMemo } from "preact/hooks";
import {
  type Block,
  type Inline,
  type MarkdownOptions,
  parseMarkdown,
} from "../lib/web/markdown.ts";

/** What a link from message text may do: open apart, tell nothing, vouch for nothing. */
export const LINK_REL = "noopener noreferrer nofollow ugc";

function inline(pieces: readonly Inline[]): ComponentChildren[] {
  return pieces.map((p, i) => {
    switch (p.kind) {
      case "text":
        return p.text;
      case "mark":
        return <span key={i} class="md-mark">{p.text}</span>;
      case "strong":
      case "em":
      case "strike": {
        const Tag = p.kind === "strong"
          ? "strong"
          : p.kind === "em"
          ? "em"
          : "s";
        return (
          <Tag key={i}>
            <span class="md-mark">{p.delimiter}</span>
            {inline(p.children)}
            <span class="md-mark">{p.delimiter}</span>
          </Tag>
        );
      }
      case "code":
        return <code key={i}>{p.text}</code>;
      case "link":
        return (
          <a key={i} href={p.href} target="_blank" rel={LINK_REL}>
            {p.text}
          </a>
        );
      case "mention":
        return (
          <span key={i} class={p.me ? "mention mention-me" : "mention"}>
            {p.text}
          </span>
        );
      default: {
        const _exhaustive: never = p;
        return null;
      }
    }
  });
}

function block(b: Block, i: number): ComponentChildren {
  switch (b.kind) {
    case "paragraph":
      return inline(b.children);
    case "break":
      return <span key={i} class="md-mark">{b.text}</span>;
    case "quote":
      return (
        <blockquote key={i} class="md-quote" dir="auto">
          {b.lines.map((line, n) => [
            n > 0 ? "\n" : null,
            <span key={`m${n}`} class="md-mark">{line.mark}</span>,
            inline(line.children),
          ])}
        </blockquote>
      );
    case "code":
      return (
        <pre key={i} class="md-code">
          <span class="md-mark">{b.open}</span>
          <code>{b.text}</code>
          <span class="md-mark">{b.close}</span>
        </pre>
      );
    default: {
      const _exhaustive: never = b;
      return null;
    }
  }
}

/**
 * Message text with markdown-lite (`lib/web/markdown.ts`) as Preact elements:
 * never parsed as HTML, links only for http(s). Formatting characters stay
 * in the element, hidden, so its `textContent` is the text as sent. The
 * direction follows the text (`dir="auto"`: Arabic and Hebrew lay out right
 * to left).
 *
 * @example
 * ```tsx
 * <MessageText text="**hi** @Ana" names={["Ana"]} me="Ben" />
 * ```
 */
export function MessageText(
  { text, names, me }: { text: string } & MarkdownOptions,
): VNode {
  const blocks = useMemo(
    () => parseMarkdown(text, { names, me }),
    [text, names, me],
  );
  return (
    <div class="message-text" dir="auto">
      {blocks.map(block)}
    </div>
  );
}
