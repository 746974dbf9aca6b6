import { UpstreamError } from './upstream-error.js';

/**
 * What a GraphQL service answers over HTTP: a GraphQL response (GraphQL-over-HTTP's
 * application/graphql-response+json, or application/json), or a stream of them (graphql-sse's
 * text/event-stream, incremental delivery's multipart/mixed).
 */
const graphqlAnswer = /^(application\/(graphql-response\+json|json)|text\/event-stream|multipart\/mixed)\s*(;|$)/i;

/**
 * Refuses an answer of a GraphQL service that is not a GraphQL response (an HTML error page, a
 * proxy's plain text) before it reaches the client, whose GraphQL client could not read it: the
 * client gets 502 backend_error naming what came instead. Answers without a body pass.
 */
export function acceptGraphqlAnswer(status: number, headers: string[]): void {
  if (status === 204 || status === 304) return;
  let type = '';
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === 'content-type') type = headers[i + 1]!;
  if (graphqlAnswer.test(type)) return;
  const what = type === '' ? 'without a content type' : `with ${type.slice(0, 100)}`;
  throw new UpstreamError('bad_response', `the GraphQL service answered ${status} ${what}, not a GraphQL response (application/graphql-response+json or application/json)`);
}
