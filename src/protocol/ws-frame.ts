/**
 * Builds unmasked server-to-client WebSocket frames (RFC 6455 section 5.2) in one allocation,
 * so a publication is framed once and the same bytes go to every socket.
 */

const OPCODE_TEXT = 0x1;
const FIN = 0x80;

export function wsTextFrame(text: string): Buffer {
  const length = Buffer.byteLength(text);
  const frame = Buffer.allocUnsafe(headerLengthOf(length) + length);
  const headerLength = writeHeader(frame, length);
  frame.write(text, headerLength, 'utf8');
  return frame;
}

/** The header of a text frame whose payload of `length` bytes follows in other buffers. */
export function wsTextFrameHeader(length: number): Buffer {
  const header = Buffer.allocUnsafe(headerLengthOf(length));
  writeHeader(header, length);
  return header;
}

function headerLengthOf(length: number): number {
  return length < 126 ? 2 : length < 65536 ? 4 : 10;
}

/** Writes a text frame's header at the start of `frame`; answers its length. */
function writeHeader(frame: Buffer, length: number): number {
  frame[0] = FIN | OPCODE_TEXT;
  if (length < 126) {
    frame[1] = length;
  } else if (length < 65536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  return headerLengthOf(length);
}
