import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { wsTextFrame } from '../../src/protocol/ws-frame.js';

interface Decoded {
  fin: boolean;
  opcode: number;
  masked: boolean;
  headerLength: number;
  payloadLength: number;
  text: string;
}

/** A tiny reader for one RFC 6455 frame. */
function decode(frame: Buffer): Decoded {
  const fin = (frame[0]! & 0x80) !== 0;
  const opcode = frame[0]! & 0x0f;
  const masked = (frame[1]! & 0x80) !== 0;
  let payloadLength = frame[1]! & 0x7f;
  let headerLength = 2;
  if (payloadLength === 126) {
    payloadLength = frame.readUInt16BE(2);
    headerLength = 4;
  } else if (payloadLength === 127) {
    payloadLength = frame.readUInt32BE(2) * 2 ** 32 + frame.readUInt32BE(6);
    headerLength = 10;
  }
  assert.equal(frame.length, headerLength + payloadLength, 'frame length is header plus payload');
  return { fin, opcode, masked, headerLength, payloadLength, text: frame.subarray(headerLength).toString('utf8') };
}

describe('WebSocket frame encoding', () => {
  const cases: [bytes: number, headerLength: number][] = [
    [0, 2],
    [1, 2],
    [125, 2],
    [126, 4],
    [127, 4],
    [65535, 4],
    [65536, 10],
    [70000, 10],
  ];
  for (const [bytes, headerLength] of cases) {
    it(`frames a ${bytes}-byte text with a ${headerLength}-byte header`, () => {
      const text = 'x'.repeat(bytes);
      const decoded = decode(wsTextFrame(text));
      assert.deepEqual(decoded, { fin: true, opcode: 1, masked: false, headerLength, payloadLength: bytes, text });
    });
  }

  it('counts the payload length in UTF-8 bytes, not characters', () => {
    const text = 'é'.repeat(63) + '🙂';
    assert.equal(text.length, 65);
    const decoded = decode(wsTextFrame(text));
    assert.equal(decoded.payloadLength, 126 + 4);
    assert.equal(decoded.headerLength, 4);
    assert.equal(decoded.text, text);
  });

  it('switches header size exactly at the UTF-8 byte boundary', () => {
    const at125 = 'é'.repeat(62) + 'x';
    assert.equal(Buffer.byteLength(at125), 125);
    assert.equal(decode(wsTextFrame(at125)).headerLength, 2);
    assert.equal(decode(wsTextFrame(`${at125}y`)).headerLength, 4);
  });
});
