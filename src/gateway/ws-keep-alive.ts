import type { WebSocket } from 'ws';

/**
 * Pings `ws` every `interval` ms and terminates it when a ping is still unanswered at the next
 * one, so a peer that vanished without closing (a dead host, a cut network) is noticed; 0: no pings.
 */
export function keepAlive(ws: WebSocket, interval: number): void {
  if (interval <= 0) return;
  let answered = true;
  const timer = setInterval(() => {
    if (!answered) {
      ws.terminate();
      return;
    }
    answered = false;
    ws.ping();
  }, interval);
  timer.unref();
  ws.on('pong', () => (answered = true));
  ws.once('close', () => clearInterval(timer));
}
