import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FrameError, errorReply, maxBatchFrames, parseClientMessage } from '../../src/protocol/frames.js';
import { SwitchboardError } from '../../src/protocol/errors.js';

function one(text: string) {
  const frames = parseClientMessage(text, 64);
  assert.equal(frames.length, 1);
  return frames[0]!;
}

function error(text: string): FrameError {
  const frame = one(text);
  assert.ok(frame instanceof FrameError, `expected an error for ${text}`);
  return frame;
}

describe('client frame parsing', () => {
  it('accepts every client frame type with its required fields', () => {
    const frames = [
      { type: 'subscribe', id: 1, channel: 'news' },
      { type: 'unsubscribe', id: 'u1', channel: 'news' },
      { type: 'publish', channel: 'chat:1', data: { text: 'hi' } },
      { type: 'publish', channel: 'chat:1', data: null },
      { type: 'send', data: [1, 2] },
      { type: 'rpc', id: 3, method: 'getUser', data: { id: 7 } },
      { type: 'refresh', token: 'jwt' },
      { type: 'ping' },
    ];
    for (const frame of frames) assert.deepEqual(one(JSON.stringify(frame)), frame);
  });

  it('accepts a batch as a JSON array and parses each frame on its own', () => {
    const result = parseClientMessage(
      JSON.stringify([
        { type: 'ping', id: 1 },
        { type: 'bogus', id: 2 },
        { type: 'subscribe', channel: 'a' },
      ]),
      64,
    );
    assert.equal(result.length, 3);
    assert.deepEqual(result[0], { type: 'ping', id: 1 });
    assert.ok(result[1] instanceof FrameError);
    assert.equal((result[1] as FrameError).frameId, 2);
    assert.deepEqual(result[2], { type: 'subscribe', channel: 'a' });
  });

  it('rejects an empty batch and a batch over the limit', () => {
    assert.equal(error('[]').code, 'bad_request');
    const full = JSON.stringify(Array.from({ length: maxBatchFrames }, () => ({ type: 'ping' })));
    assert.equal(parseClientMessage(full, 64).length, maxBatchFrames);
    const over = JSON.stringify(Array.from({ length: maxBatchFrames + 1 }, () => ({ type: 'ping' })));
    const err = error(over);
    assert.equal(err.code, 'too_large');
    assert.match(err.message, new RegExp(`at most ${maxBatchFrames} frames`));
  });

  it('answers text that is not JSON with bad_request', () => {
    for (const text of ['', '{', 'subscribe news', '{"type":"ping",}', "{'type':'ping'}"]) {
      const err = error(text);
      assert.equal(err.code, 'bad_request');
      assert.equal(err.message, 'frame is not valid JSON');
    }
  });

  it('answers JSON that is not an object with bad_request', () => {
    for (const text of ['null', '1', '"ping"', 'true', '[[]]']) {
      const frames = parseClientMessage(text, 64);
      assert.ok(
        frames.every((f) => f instanceof FrameError && f.code === 'bad_request' && f.message === 'frame must be a JSON object'),
        text,
      );
    }
  });

  it('answers a frame without a type or with an unknown type, keeping its id', () => {
    assert.deepEqual(pick(error('{"id":4}')), { code: 'bad_request', message: 'frame needs a type', frameId: 4 });
    assert.deepEqual(pick(error('{"id":"x","type":"teleport"}')), { code: 'bad_request', message: 'unknown frame type "teleport"', frameId: 'x' });
    assert.ok(error(JSON.stringify({ type: 'z'.repeat(500) })).message.length < 120);
  });

  it('answers missing required fields, naming the field', () => {
    const expected: [object, string][] = [
      [{ type: 'subscribe', id: 1 }, 'subscribe needs a channel'],
      [{ type: 'subscribe', channel: 5 }, 'subscribe needs a channel'],
      [{ type: 'unsubscribe' }, 'unsubscribe needs a channel'],
      [{ type: 'publish', data: 1 }, 'publish needs a channel'],
      [{ type: 'publish', channel: 'a' }, 'publish needs data'],
      [{ type: 'send' }, 'send needs data'],
      [{ type: 'rpc', data: 1 }, 'rpc needs a method'],
      [{ type: 'refresh' }, 'refresh needs a token'],
    ];
    for (const [frame, message] of expected) {
      const err = error(JSON.stringify(frame));
      assert.equal(err.code, 'bad_request');
      assert.equal(err.message, message);
    }
    assert.equal(error('{"type":"subscribe","id":1}').frameId, 1);
  });

  it('accepts ids that are numbers or short strings and rejects others', () => {
    assert.deepEqual(one('{"type":"ping","id":"' + 'a'.repeat(64) + '"}'), { type: 'ping', id: 'a'.repeat(64) });
    for (const id of ['"' + 'a'.repeat(65) + '"', '{}', '[1]', 'true', 'null']) {
      const err = error(`{"type":"ping","id":${id}}`);
      assert.equal(err.code, 'bad_request');
      assert.match(err.message, /id must be a number or a string of at most 64 characters/);
      assert.equal(err.frameId, undefined);
    }
  });

  it('builds error replies in the documented shape', () => {
    assert.deepEqual(errorReply(new SwitchboardError('forbidden', 'no'), 7), { type: 'reply', id: 7, error: { code: 'forbidden', message: 'no' } });
  });
});

function pick(err: FrameError) {
  return { code: err.code, message: err.message, frameId: err.frameId };
}
