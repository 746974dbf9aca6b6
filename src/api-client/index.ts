/** The typed server-API client for Node (`switchboard/api`); docs/api.md#a-typed-client-for-node. */
export { SwitchboardApi, SwitchboardApiError, type ApiClientOptions } from './client.js';
export type * from './types.js';
