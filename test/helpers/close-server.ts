/** Closing a loopback test server without waiting on the keep-alive connections its clients pool. */
import type { Server } from 'node:http';

/**
 * Closes `server` now: its open connections first (client-node, undici and node:http agents keep idle sockets
 * alive, and `close` alone waits for them), then the listener; resolves once it has stopped.
 */
export function closeServer(server: Pick<Server, 'close' | 'closeAllConnections'>): Promise<void> {
  return new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}
