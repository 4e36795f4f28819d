/**
 * Sends messages down the WebSocket connections of the watch API through API Gateway's management
 * API (`POST @connections/{id}`), the only way a function reaches a connection it is not answering.
 */
import {
  type ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import type { ConnectionPoster, PostOutcome } from '../../ports/topic-watch.js';
import { isGoneConnection } from '../sdk-errors.js';

/** See the module comment. */
export class ApiGatewayConnectionPoster implements ConnectionPoster {
  private readonly encoder = new TextEncoder();

  constructor(private readonly client: ApiGatewayManagementApiClient) {}

  async post(connectionId: string, text: string): Promise<PostOutcome> {
    try {
      await this.client.send(
        new PostToConnectionCommand({ ConnectionId: connectionId, Data: this.encoder.encode(text) }),
      );
      return 'sent';
    } catch (error) {
      if (isGoneConnection(error)) return 'gone';
      throw error;
    }
  }
}
