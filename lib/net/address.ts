/**
 * IP addresses as numbers: parsing IPv4 and IPv6 text (an IPv4-mapped IPv6
 * address as its IPv4 address), pure. For the trusted-proxy checks
 * (`lib/web/client_address.ts`) and the key an address counts under
 * (`addressKey`, `lib/net/budget.ts`).
 *
 * @module
 */

/** An IP address as a number, with its family. */
export interface Address {
  v6: boolean;
  value: bigint;
}

function parseV4(text: string): bigint | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  let value = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return null;
    value = (value << 8n) | BigInt(part);
  }
  return value;
}

function parseV6(text: string): bigint | null {
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groups = (half: string): bigint[] | null => {
    if (half === "") return [];
    const out: bigint[] = [];
    const parts = half.split(":");
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i];
      if (i === parts.length - 1 && part.includes(".")) {
        const v4 = parseV4(part);
        if (v4 === null) return null;
        out.push(v4 >> 16n, v4 & 0xffffn);
      } else if (/^[0-9a-f]{1,4}$/i.test(part)) {
        out.push(BigInt(parseInt(part, 16)));
      } else return null;
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (!head || !tail) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  let value = 0n;
  for (const g of [...head, ...Array(missing).fill(0n), ...tail]) {
    value = (value << 16n) | g;
  }
  return value;
}

/**
 * Parses an IPv4 or IPv6 address (brackets allowed); an IPv4-mapped IPv6
 * address, however written, is its IPv4 address. Null for anything else.
 *
 * @example
 * ```ts
 * parseAddress("::ffff:cb00:7109"); // { v6: false, value: 3405803785n } (203.0.113.9)
 * parseAddress("unknown");          // null
 * ```
 */
export function parseAddress(text: string): Address | null {
  const bare = text.trim().replace(/^\[|\]$/g, "");
  const v4 = parseV4(bare);
  if (v4 !== null) return { v6: false, value: v4 };
  const v6 = parseV6(bare);
  if (v6 === null) return null;
  if (v6 >> 32n === 0xffffn) return { v6: false, value: v6 & 0xffffffffn };
  return { v6: true, value: v6 };
}
