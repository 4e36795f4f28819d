/**
 * What watching topics needs from the outside world: where the watches of open WebSocket
 * connections are kept, and a way to send a message down one connection. DynamoDB and API
 * Gateway's management API implement them in AWS; the local stack keeps the same DynamoDB items
 * and sends through its own WebSocket server.
 */

/** One connection watching one topic. */
export interface TopicWatch {
  readonly connectionId: string;
  /** The topic's name (the stream names topics by id only). */
  readonly topic: string;
}

/** The watches of open connections, one item per connection and topic, expiring with the connection. */
export interface WatchStore {
  /** Records (or renews) that `connectionId` watches the topic with id `topicId` until `expiresAtMs`. */
  put(topicId: string, watch: TopicWatch, expiresAtMs: number): Promise<void>;
  /** The unexpired watches of a topic, at most `limit`. */
  list(topicId: string, nowMs: number, limit: number): Promise<TopicWatch[]>;
  /** Forgets one watch (its connection is gone). */
  delete(topicId: string, connectionId: string): Promise<void>;
}

/** What became of one message sent down a connection. */
export type PostOutcome = 'sent' | 'gone';

/** Sends text down an open WebSocket connection. */
export interface ConnectionPoster {
  /** 'gone' when the connection no longer exists; throws on any other failure. */
  post(connectionId: string, text: string): Promise<PostOutcome>;
}
