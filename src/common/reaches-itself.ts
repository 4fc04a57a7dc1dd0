/**
 * Whether a TCP server on this host is what a connection to its own address reaches. It need not
 * be: a container engine forwards a published port with a NAT rule on the host's OUTPUT chain
 * (Podman's CNI portmap: `-d 127.0.0.1 --dport P -j DNAT --to <container>:<port>`), which takes a
 * local connection to P before any socket on P sees it, and a rule can outlive its container when
 * the container dies without the engine's teardown. The kernel, which knows nothing of the rule,
 * then hands P to the next program that listens on port 0, and every connection to that program
 * goes to a dead container address instead: refused, while the program listens. Seen here: herd's
 * own registry, on a port a killed container's rule still held, refused podman's pulls.
 *
 * The check connects to the address and waits for the server to accept that very connection (the
 * client's local port is the accepted socket's remote port).
 */
import { connect, type Server, type Socket } from 'node:net';

export async function reachesItself(
  server: Server,
  address: { host: string; port: number },
  options: { timeoutMs?: number } = {},
): Promise<boolean> {
  const host = address.host === '0.0.0.0' ? '127.0.0.1' : address.host === '::' ? '::1' : address.host;
  return new Promise<boolean>((resolve) => {
    let localPort: number | undefined;
    const accepted = new Set<number>();
    let settled = false;
    const finish = (reached: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      server.off('connection', onConnection);
      client.destroy();
      resolve(reached);
    };
    const onConnection = (socket: Socket) => {
      if (socket.remotePort === undefined) return;
      accepted.add(socket.remotePort);
      if (socket.remotePort === localPort) finish(true);
    };
    server.on('connection', onConnection);
    const timer = setTimeout(() => finish(false), options.timeoutMs ?? 2000);
    const client = connect({ host, port: address.port });
    client.once('connect', () => {
      localPort = client.localPort;
      if (localPort !== undefined && accepted.has(localPort)) finish(true);
    });
    client.once('error', () => finish(false));
  });
}
