/** Every route of the server API as OpenAPI describes it: method, path, access, schemas and examples. */
import type { ApiOperation } from './openapi-operation.js';
import { clientOperations } from './openapi-operations-clients.js';
import { nodeOperations } from './openapi-operations-node.js';
import { topicOperations } from './openapi-operations-topics.js';

export type { Access, ApiOperation, Features } from './openapi-operation.js';

export const apiOperations: ApiOperation[] = [...clientOperations, ...nodeOperations, ...topicOperations];
