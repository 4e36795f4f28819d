/**
 * The local stack's stand-in for the watch WebSocket API: WebSocket upgrades of `/v1/watch` on the
 * HTTP server's port, each message handed to the very handler of `functions/watch-topics.ts` as
 * API Gateway hands it, and a {@link ConnectionPoster} that the handler and the dispatcher's
 * notifier post through, as they post through API Gateway's management API in AWS. Connections
 * close as API Gateway closes them: after 10 minutes without a message from the client, and after
 * 2 hours in any case, so clients meet the same reconnects locally.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import type { WatchHandler } from '../functions/watch-topics.js';
import type { ConnectionPoster, PostOutcome } from '../shared/ports/topic-watch.js';

/** The path of the watch WebSocket on the local stack's port. */
export const WATCH_PATH = '/v1/watch';

/** API Gateway's limits on a WebSocket connection. */
export const CONNECTION_LIMITS = {
  idleMsMax: 10 * 60 * 1000,
  lifetimeMsMax: 2 * 60 * 60 * 1000,
  messageBytesMax: 128 * 1024,
} as const;

/** Messages and connections counted, as API Gateway bills them. */
export interface WatchTraffic {
  messagesIn: number;
  messagesOut: number;
  connections: number;
  /** Time the handler took over all messages (what Lambda would bill, before rounding up per ms). */
  handlerMs: number;
}

/** See the module comment. */
export interface LocalWatchServer {
  /** Posts down this server's connections (the handler's and the notifier's poster). */
  readonly poster: ConnectionPoster;
  readonly traffic: WatchTraffic;
  /** Serves upgrades of {@link WATCH_PATH} on `server` with `handler`. */
  attach(
    server: Server,
    handler: WatchHandler,
    accept: (request: IncomingMessage) => string | undefined,
  ): void;
  close(): void;
}

export function createLocalWatchServer(limits: Partial<typeof CONNECTION_LIMITS> = {}): LocalWatchServer {
  const { idleMsMax, lifetimeMsMax, messageBytesMax } = { ...CONNECTION_LIMITS, ...limits };
  const sockets = new Map<string, WebSocket>();
  const traffic: WatchTraffic = { messagesIn: 0, messagesOut: 0, connections: 0, handlerMs: 0 };
  const wss = new WebSocketServer({ noServer: true, maxPayload: messageBytesMax });

  const poster: ConnectionPoster = {
    async post(connectionId: string, text: string): Promise<PostOutcome> {
      const socket = sockets.get(connectionId);
      if (socket === undefined || socket.readyState !== socket.OPEN) return 'gone';
      traffic.messagesOut++;
      await new Promise<void>((resolve, reject) =>
        socket.send(text, (error) => (error ? reject(error) : resolve())),
      );
      return 'sent';
    },
  };

  const serve = (socket: WebSocket, handler: WatchHandler) => {
    const connectionId = randomBytes(12).toString('base64url');
    sockets.set(connectionId, socket);
    traffic.connections++;
    let idle = setTimeout(() => socket.close(1001, 'Going away: idle'), idleMsMax);
    const lifetime = setTimeout(() => socket.close(1001, 'Going away: lifetime'), lifetimeMsMax);
    socket.on('message', (data, isBinary) => {
      traffic.messagesIn++;
      clearTimeout(idle);
      idle = setTimeout(() => socket.close(1001, 'Going away: idle'), idleMsMax);
      if (isBinary) return;
      const body = Buffer.isBuffer(data) ? data.toString('utf8') : String(data);
      const startedAt = performance.now();
      handler({ requestContext: { connectionId, eventType: 'MESSAGE' }, body })
        .catch((error: unknown) => console.error(`[shoal] watch message on ${connectionId} failed:`, error))
        .finally(() => {
          traffic.handlerMs += Math.ceil(performance.now() - startedAt);
        });
    });
    socket.on('close', () => {
      clearTimeout(idle);
      clearTimeout(lifetime);
      sockets.delete(connectionId);
    });
  };

  return {
    poster,
    traffic,
    attach(server, handler, accept) {
      server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
        const path = new URL(request.url ?? '/', 'http://localhost').pathname;
        const refusal = path === WATCH_PATH ? accept(request) : `No WebSocket at ${path}`;
        if (refusal !== undefined) {
          socket.end(
            `HTTP/1.1 ${path === WATCH_PATH ? 403 : 404} ${refusal.replace(/[\r\n]/g, ' ')}\r\n\r\n`,
          );
          return;
        }
        wss.handleUpgrade(request, socket, head, (ws) => serve(ws, handler));
      });
    },
    close() {
      for (const socket of sockets.values()) socket.terminate();
      sockets.clear();
      wss.close();
    },
  };
}
