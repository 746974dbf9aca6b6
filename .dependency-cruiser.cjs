/**
 * The layering of src/ (docs/architecture.md), checked by `npm run lint`. Type-only imports count:
 * a folder that names another's types depends on it as much as one that calls it.
 */
module.exports = {
  forbidden: [
    {
      name: 'no-folder-cycles',
      severity: 'error',
      comment: 'Folders of src/ depend on each other in one direction only.',
      scope: 'folder',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'node-is-composition-only',
      severity: 'error',
      comment: 'node.ts builds the node; only the command line starts one.',
      from: { path: '^src/', pathNot: '^src/(cli|node)\\.ts$' },
      to: { path: '^src/node\\.ts$' },
    },
    {
      name: 'root-is-on-top',
      severity: 'error',
      comment: 'The files directly in src/ compose the node; nothing in a folder imports them.',
      from: { path: '^src/[^/]+/' },
      to: { path: '^src/[^/]+\\.ts$' },
    },
    {
      name: 'brokers-know-no-upper-layer',
      severity: 'error',
      from: { path: '^src/brokers/' },
      to: { path: '^src/(hub|sessions|transports|api|admin|gateway|topics|routing|graphql)/' },
    },
    {
      name: 'hub-knows-no-upper-layer',
      severity: 'error',
      from: { path: '^src/hub/' },
      to: { path: '^src/(sessions|transports|api|admin|gateway|graphql)/' },
    },
    {
      name: 'sessions-know-no-transport',
      severity: 'error',
      from: { path: '^src/sessions/' },
      to: { path: '^src/(transports|api|admin|gateway|graphql)/' },
    },
  ],
  options: {
    includeOnly: '^src/',
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^src/client/|^src/api-client/' },
  },
};
