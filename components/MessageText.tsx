import type { VNode } from "preact";

const URL_PATTERN = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]}]/gi;

/**
 * Message text as text nodes, with http(s) links as safe anchors. Nothing is
 * ever parsed as HTML; other schemes (`javascript:`, `data:`) stay plain text.
 */
export function MessageText({ text }: { text: string }): VNode {
  const parts: (string | VNode)[] = [];
  let last = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    const href = match[0];
    let safe: string | null = null;
    try {
      const url = new URL(href);
      if (url.protocol === "http:" || url.protocol === "https:") {
        safe = url.href;
      }
    } catch { /* not a URL after all: plain text */ }
    if (!safe) continue;
    parts.push(text.slice(last, match.index));
    parts.push(
      <a href={safe} target="_blank" rel="noopener noreferrer nofollow">
        {href}
      </a>,
    );
    last = match.index! + href.length;
  }
  parts.push(text.slice(last));
  return <span class="message-text">{parts}</span>;
}
