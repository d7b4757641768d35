// A TCP relay to etcd that can stop relaying without closing anything: to the instance behind it,
// etcd simply goes silent, as in a network partition (its lease keepalives stop arriving).
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export class PausableProxy {
  private readonly sockets = new Set<Socket>();
  private paused = false;

  private constructor(private readonly server: Server) {}

  /** Listens on an ephemeral loopback port and relays to host:port. */
  static async start(target: URL): Promise<PausableProxy> {
    const server = createServer();
    const proxy = new PausableProxy(server);
    server.on('connection', (client) => proxy.relay(client, target));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get endpoint(): string {
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy is not listening');
    return `http://127.0.0.1:${address.port}`;
  }

  pause(): void {
    this.paused = true;
    for (const socket of this.sockets) socket.pause();
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private relay(client: Socket, target: URL): void {
    const upstream = createConnection(Number(target.port), target.hostname);
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => this.sockets.delete(socket));
      if (this.paused) socket.pause();
    }
    client.on('data', (chunk) => {
      if (!this.paused) upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (!this.paused) client.write(chunk);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }
}
