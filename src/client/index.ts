/**
 * The Switchboard client SDK: ES modules without Node-only imports, for browsers
 * (`import { SwitchboardClient } from '/client/index.js'`) and Node (`switchboard/client`).
 */
export { SwitchboardClient } from './client.js';
export type {
  ClientEvents,
  ClientOptions,
  ConnectionState,
  DisconnectedEvent,
  PresenceMember,
  PublishResult,
  RequestOptions,
  SessionInfo,
  UnhandledMessage,
} from './client-types.js';
export { SwitchboardClientError, type ClientErrorCode } from './errors.js';
export {
  Subscription,
  type ChannelHandler,
  type ChannelMessage,
  type PresenceEvent,
  type SubscribeOptions,
  type SubscribedEvent,
  type SubscriptionEvents,
} from './subscription.js';
export type { Position } from '../protocol/types.js';
export type { TransportName } from './transport.js';
export type { WebSocketConstructor, WebSocketLike } from './websocket-transport.js';
