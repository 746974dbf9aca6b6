/** The limits a node enforces, as counted in switchboard_limit_hits_total{limit} and carried by the errors that hit one. */
export const limitNames = [
  'frame_size',
  'body_size',
  'buffer',
  'rate',
  'subscriptions',
  'connections',
  'batch_size',
  'header_size',
  'registrations',
  'json_depth',
  'connections_per_ip',
  'session_events',
  'graphql_operations',
  'graphql_query_size',
] as const;
export type LimitName = (typeof limitNames)[number];
