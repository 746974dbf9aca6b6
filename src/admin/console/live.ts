/**
 * The console's own session on the node's native WebSocket protocol (docs/protocol.md): it signs
 * in with a first `connect` frame (never a URL), subscribes to the channels the pages follow and
 * reconnects with a growing delay unless the node refuses it for good (close codes 4500-4999).
 */

export type LiveState = 'connecting' | 'live' | 'reconnecting' | 'refused';
export type ChannelHandler = (data: unknown) => void;

interface ServerFrame {
  type: string;
  channel?: string;
  data?: unknown;
  code?: number;
  reason?: string;
  error?: { code: string; message: string };
}

export class LiveConnection {
  private socket: WebSocket | undefined;
  private readonly handlers = new Map<string, Set<ChannelHandler>>();
  private nextId = 1;
  private retries = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  state: LiveState = 'connecting';
  /** Why the node refused the session, when it did. */
  refusal = '';

  constructor(
    private readonly credential: string,
    private readonly onState: (state: LiveState) => void,
  ) {
    this.open();
  }

  /** Follows a channel; answers the function that stops following it. */
  follow(channel: string, handler: ChannelHandler): () => void {
    let set = this.handlers.get(channel);
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
      if (this.state === 'live') this.send({ type: 'subscribe', channel });
    }
    set.add(handler);
    return () => {
      const current = this.handlers.get(channel);
      if (!current) return;
      current.delete(handler);
      if (current.size > 0) return;
      this.handlers.delete(channel);
      if (this.state === 'live') this.send({ type: 'unsubscribe', channel });
    };
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.socket?.close(1000, 'signed out');
  }

  private setState(state: LiveState): void {
    this.state = state;
    this.onState(state);
  }

  private send(frame: Record<string, unknown>): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify({ ...frame, id: this.nextId++ }));
  }

  private open(): void {
    // auth=frame: the node waits for the connect frame even where it would welcome anonymous clients.
    const socket = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws?auth=frame`);
    this.socket = socket;
    socket.onopen = () => socket.send(JSON.stringify({ type: 'connect', token: this.credential }));
    socket.onmessage = (event) => {
      const parsed = JSON.parse(String(event.data)) as ServerFrame | ServerFrame[];
      for (const frame of Array.isArray(parsed) ? parsed : [parsed]) this.receive(frame);
    };
    socket.onclose = (event) => {
      if (this.closed) return;
      if (event.code >= 4500 && event.code <= 4999) {
        this.refusal = event.reason || `closed with code ${event.code}`;
        this.setState('refused');
        return;
      }
      this.setState('reconnecting');
      const delay = Math.min(10_000, 500 * 2 ** this.retries++);
      this.timer = setTimeout(() => this.open(), delay);
    };
  }

  private receive(frame: ServerFrame): void {
    if (frame.type === 'welcome') {
      this.retries = 0;
      this.setState('live');
      for (const channel of this.handlers.keys()) this.send({ type: 'subscribe', channel });
      return;
    }
    if (frame.type === 'message' && frame.channel !== undefined) {
      for (const handler of this.handlers.get(frame.channel) ?? []) handler(frame.data);
    }
  }
}
