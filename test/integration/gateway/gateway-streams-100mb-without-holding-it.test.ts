import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startProcess, type NodeProcess } from '../../helpers/node.js';
import { rssOf, startHttpUpstream, type HttpUpstream } from '../../helpers/upstreams.js';

const total = 100 * 1024 * 1024;
const chunk = Buffer.alloc(64 * 1024, 'z');
/** Growth of the node's resident memory allowed while 100 MB pass through it. */
const allowedGrowth = 12 * 1024 * 1024;

/** Writes `total` bytes of one reused buffer, waiting for drain: the test holds no more than a chunk either. */
function pump(out: NodeJS.WritableStream & { write(b: Buffer): boolean; end(): void }, done: () => void = () => {}): void {
  let sent = 0;
  const more = () => {
    while (sent < total) {
      sent += chunk.length;
      if (!out.write(chunk)) {
        (out as unknown as http.ServerResponse).once('drain', more);
        return;
      }
    }
    out.end();
    done();
  };
  more();
}

/** Peak RSS of a process while `work` runs, sampled every 20 ms. */
async function peakRss(pid: number, work: () => Promise<void>): Promise<{ before: number; peak: number }> {
  const before = rssOf(pid);
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 20);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return { before, peak: Math.max(peak, rssOf(pid)) };
}

/** POSTs `total` bytes through the node; resolves with the upstream's answer. */
function upload(): Promise<string> {
  return new Promise((resolve, reject) => {
    let answer = '';
    const req = http.request(`${node.url}/bulk`, { method: 'POST', headers: { 'transfer-encoding': 'chunked' } }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (d: string) => (answer += d));
      res.on('end', () => resolve(answer));
    });
    req.on('error', reject);
    pump(req);
  });
}

/** GETs `total` bytes through the node; resolves with the number received. */
function download(): Promise<number> {
  return new Promise((resolve, reject) => {
    let received = 0;
    http
      .get(`${node.url}/bulk`, (res) => {
        res.on('data', (c: Buffer) => (received += c.length));
        res.on('end', () => resolve(received));
      })
      .on('error', reject);
  });
}

let node: NodeProcess;

/** 100 MB request and response bodies pass through a node process as streams. */
describe('gateway streaming of large bodies', () => {
  let upstream: HttpUpstream;

  before(async () => {
    upstream = await startHttpUpstream('bulk', (req, res) => {
      if (req.method === 'POST') {
        let received = 0;
        req.on('data', (c: Buffer) => (received += c.length));
        req.on('end', () => res.end(JSON.stringify({ received })));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(total) });
      pump(res);
    });
    node = await startProcess([
      '--api.insecure',
      'true',
      '--gateway.enabled',
      'true',
      '--gateway.limits.maxBodyBytes',
      '0',
      '--gateway.services',
      JSON.stringify({ bulk: { instances: [upstream.url] } }),
      '--gateway.routes',
      JSON.stringify([{ name: 'bulk', service: 'bulk', path: '/bulk' }]),
    ]);
    // Warm up: the process's heap and allocator settle at their working size over the first
    // transfers (growth the next ones do not repeat); the measurement is of a transfer after that.
    for (let round = 0; round < 2; round++) {
      await upload();
      await download();
    }
  });
  after(async () => {
    node?.kill();
    await upstream?.kill();
  });

  it('streams a 100 MB request body to the upstream without the node holding it', async () => {
    let answer = '';
    const { before, peak } = await peakRss(node.child.pid!, async () => {
      answer = await upload();
    });
    assert.deepEqual(JSON.parse(answer), { received: total });
    assert.ok(peak - before < allowedGrowth, `RSS grew by ${((peak - before) / 1048576).toFixed(1)} MiB`);
  });

  it('streams a 100 MB response body to the client without the node holding it', async () => {
    let received = 0;
    const { before, peak } = await peakRss(node.child.pid!, async () => {
      received = await download();
    });
    assert.equal(received, total);
    assert.ok(peak - before < allowedGrowth, `RSS grew by ${((peak - before) / 1048576).toFixed(1)} MiB`);
  });
});
