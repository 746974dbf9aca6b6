import type { SchemaNode, SettingsOf } from './field.js';
import { api, admin, compat, demo } from './sections/api.js';
import { auth } from './sections/auth.js';
import { bridges } from './sections/bridges.js';
import { broker, cluster } from './sections/broker.js';
import { channels } from './sections/channels.js';
import { gateway } from './sections/gateway.js';
import { routing } from './sections/routing.js';
import { log, metrics, node, security, server, shutdown } from './sections/server.js';
import { graphql, limits, longPoll, sessions } from './sections/sessions.js';
import { topics } from './sections/topics.js';

export { accessLevels, type AccessLevel, type NamespaceOptions } from './sections/channels.js';

/**
 * Every setting, section by section, in the order `config describe` and the docs list them. The
 * `Config` type is read from it, so a setting is declared once: its parser, default, doc and secrecy.
 */
export const schema = {
  server,
  node,
  log,
  api,
  demo,
  admin,
  auth,
  sessions,
  limits,
  channels,
  broker,
  cluster,
  shutdown,
  longPoll,
  routing,
  compat,
  bridges,
  gateway,
  topics,
  metrics,
  graphql,
  security,
} satisfies SchemaNode;

/** The validated configuration: each setting's parsed value, shaped as the schema. */
export type Config = SettingsOf<typeof schema>;
