/**
 * The backend of the routing benchmark: answers every POST with a small JSON body naming the
 * message it got. Called directly and through Switchboard's routing, in the same run.
 */
import http from 'node:http';
import { listenArgs, readBody } from './common.js';

const { host, port } = listenArgs(process.argv.slice(2));
const server = http.createServer(async (req, res) => {
  try {
    const body = JSON.parse(await readBody(req)) as { id?: string };
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(`{"ok":true,"id":${JSON.stringify(body.id ?? null)}}`);
  } catch {
    res.writeHead(400).end();
  }
});
server.keepAliveTimeout = 60_000;
server.listen(port, host);
