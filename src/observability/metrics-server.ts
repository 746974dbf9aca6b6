import { createServer, type Server } from 'node:http';

/** The Prometheus exposition, as /metrics answers it. */
export interface MetricsSource {
  contentType: string;
  render(): Promise<string>;
}

/** A separate admin port (metrics.port) that serves only GET /metrics, so the client port need not expose it. */
export class MetricsServer {
  private readonly server: Server;

  constructor(source: MetricsSource) {
    this.server = createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics is served on this port\n');
        return;
      }
      source.render().then(
        (text) => res.writeHead(200, { 'content-type': source.contentType }).end(text),
        () => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics could not be read\n'),
      );
    });
  }

  async listen(host: string, port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
