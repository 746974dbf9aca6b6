import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LongPollTransport } from '../../src/client/long-poll-transport.js';
import type { TransportClose } from '../../src/client/transport.js';
import { SwitchboardError } from '../../src/protocol/errors.js';
import { decodeCursor } from '../../src/protocol/cursor.js';

const good = ['', 'feed~0~e1', 'feed~4~439322b8', 'feed~4~439322b8,chat:1~12~', 'a~9007199254740991~Z'];
const bad = [
  'feed',
  'feed~1',
  'feed~x~e1',
  'feed~-1~e1',
  'feed~1.5~e1',
  'feed~1~e-1',
  'feed~1~e1~x',
  '~1~e1',
  'feed~1~e1,',
  'feed~1~e1,chat~NaN~e2',
  `feed~1~${'e'.repeat(16_384)}`,
];

/** What the SDK's long-poll transport makes of one poll answer carrying `cursor`. */
async function sdkReads(cursor: string): Promise<'taken' | 'refused'> {
  let polls = 0;
  const fetch = (async (_url: string, init: RequestInit) => {
    polls += 1;
    if (polls === 1) return new Response(JSON.stringify({ messages: [], cursor }), { status: 200 });
    // Later polls wait like a held request until the test closes the transport.
    return new Promise((_resolve, reject) => init.signal!.addEventListener('abort', () => reject(new Error('aborted'))));
  }) as typeof globalThis.fetch;
  return new Promise((resolve) => {
    const transport = new LongPollTransport({
      baseUrl: 'http://node.test',
      token: undefined,
      fetch,
      channels: () => [{ channel: 'feed' }],
      events: {
        frame: (frame) => {
          if (frame.type !== 'subscribed') return;
          transport.close();
          resolve('taken');
        },
        closed: (close: TransportClose) => {
          assert.equal(close.code, 1006);
          resolve('refused');
        },
      },
    });
  });
}

function serverReads(cursor: string): 'taken' | 'refused' {
  try {
    decodeCursor(cursor);
    return 'taken';
  } catch (err) {
    assert.ok(err instanceof SwitchboardError && err.code === 'bad_request');
    return 'refused';
  }
}

describe('a cursor is read by one rule on both sides', () => {
  it('the server takes well-formed cursors and refuses malformed or overlong ones with bad_request', () => {
    for (const cursor of good) assert.equal(serverReads(cursor), 'taken', cursor);
    for (const cursor of bad) assert.equal(serverReads(cursor), 'refused', cursor.slice(0, 40));
  });

  it('the SDK takes a poll answer exactly when the server would take its cursor, and drops the connection otherwise', async () => {
    for (const cursor of [...good, ...bad]) assert.equal(await sdkReads(cursor), serverReads(cursor), cursor.slice(0, 40));
  });
});
