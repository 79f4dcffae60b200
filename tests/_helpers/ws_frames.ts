/**
 * A client's side of the WebSocket wire format, by hand, for tests that must
 * send what a browser never would (huge or unfinished frames) and read the
 * server's close code exactly.
 */

/** A masked client frame header announcing `length` payload bytes. */
export function clientHeader(
  opcode: number,
  length: number,
  { fin = true, mask = new Uint8Array([1, 2, 3, 4]) } = {},
): Uint8Array {
  const ext = length < 126 ? 0 : length < 65_536 ? 2 : 8;
  const header = new Uint8Array(2 + ext + 4);
  header[0] = (fin ? 0x80 : 0) | opcode;
  if (ext === 0) header[1] = 0x80 | length;
  else if (ext === 2) {
    header[1] = 0x80 | 126;
    header[2] = length >> 8;
    header[3] = length & 0xff;
  } else {
    header[1] = 0x80 | 127;
    const view = new DataView(header.buffer, 2, 8);
    view.setUint32(0, Math.floor(length / 2 ** 32));
    view.setUint32(4, length >>> 0);
  }
  header.set(mask, 2 + ext);
  return header;
}

/** A whole masked client frame with `payload`. */
export function clientFrame(
  opcode: number,
  payload: Uint8Array,
  { fin = true } = {},
): Uint8Array {
  const mask = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);
  const header = clientHeader(opcode, payload.length, { fin, mask });
  const frame = new Uint8Array(header.length + payload.length);
  frame.set(header);
  for (let i = 0; i < payload.length; i++) {
    frame[header.length + i] = payload[i] ^ mask[i & 3];
  }
  return frame;
}

/** A frame from the server (unmasked). */
export interface ServerWireFrame {
  fin: boolean;
  opcode: number;
  payload: Uint8Array;
}

/** Reads unmasked server frames from a byte stream. */
export class ServerFrameReader {
  #buffer = new Uint8Array(0);

  push(chunk: Uint8Array): ServerWireFrame[] {
    const joined = new Uint8Array(this.#buffer.length + chunk.length);
    joined.set(this.#buffer);
    joined.set(chunk, this.#buffer.length);
    const frames: ServerWireFrame[] = [];
    let at = 0;
    while (joined.length - at >= 2) {
      let length = joined[at + 1] & 0x7f;
      let header = 2;
      if (length === 126) {
        if (joined.length - at < 4) break;
        length = (joined[at + 2] << 8) | joined[at + 3];
        header = 4;
      } else if (length === 127) {
        if (joined.length - at < 10) break;
        const view = new DataView(joined.buffer, at + 2, 8);
        length = view.getUint32(0) * 2 ** 32 + view.getUint32(4);
        header = 10;
      }
      if (joined.length - at < header + length) break;
      frames.push({
        fin: (joined[at] & 0x80) !== 0,
        opcode: joined[at] & 0x0f,
        payload: joined.slice(at + header, at + header + length),
      });
      at += header + length;
    }
    this.#buffer = joined.slice(at);
    return frames;
  }
}

/** The code of a close frame's payload (1005 when it has none). */
export function closeCodeOf(payload: Uint8Array): number {
  return payload.length >= 2 ? (payload[0] << 8) | payload[1] : 1005;
}
