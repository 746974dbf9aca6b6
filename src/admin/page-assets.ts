import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { extname } from 'node:path';

/** One file of the console, read once at start. */
export interface ConsoleFile {
  body: Buffer;
  contentType: string;
  /** Whether the path holds a content hash, so the file may be cached for good. */
  immutable: boolean;
  etag: string;
}

export interface ConsolePage {
  /** By path under /admin/ ('' is the page itself). */
  files: Map<string, ConsoleFile>;
  /** The page's Content-Security-Policy: only the node's own files, and the one inline import map by its hash. */
  contentSecurityPolicy: string;
}

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/** The page shell and stylesheet live in the source tree (packed with the package), next to this module's source. */
const staticDir = new URL('../../../src/admin/static/', import.meta.url);
/** The page's modules are compiled by tsc beside this module. */
const modulesDir = new URL('./console/', import.meta.url);

/**
 * The browser libraries, served from the installed packages. uPlot's package names its CommonJS
 * build as main, so its ES module and stylesheet are found from its package.json.
 */
function libraryFiles(): { specifier: string; name: string; url: URL }[] {
  const uplot = import.meta.resolve('uplot/package.json');
  return [
    { specifier: 'preact', name: 'preact.mjs', url: new URL(import.meta.resolve('preact')) },
    { specifier: 'preact/hooks', name: 'preact-hooks.mjs', url: new URL(import.meta.resolve('preact/hooks')) },
    { specifier: 'htm', name: 'htm.mjs', url: new URL(import.meta.resolve('htm')) },
    { specifier: 'htm/preact', name: 'htm-preact.mjs', url: new URL(import.meta.resolve('htm/preact')) },
    { specifier: 'uplot', name: 'uplot.mjs', url: new URL('dist/uPlot.esm.js', uplot) },
    { specifier: 'uplot.css', name: 'uplot.css', url: new URL('dist/uPlot.min.css', uplot) },
  ];
}

function hashOf(...parts: Buffer[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest('hex').slice(0, 12);
}

function consoleFile(body: Buffer, name: string, immutable: boolean): ConsoleFile {
  return { body, contentType: contentTypes[extname(name)] ?? 'application/octet-stream', immutable, etag: `"${hashOf(body)}"` };
}

/**
 * Reads every file of the console and builds the page: its import map names the libraries by
 * paths that carry a hash of their content, as do the page's own modules and stylesheets, so all
 * but the page itself are cached for good and a new version of the node is never mixed with an
 * old file.
 */
export function loadConsolePage(): ConsolePage {
  const files = new Map<string, ConsoleFile>();
  const imports: Record<string, string> = {};
  const links: string[] = [];
  for (const library of libraryFiles()) {
    const body = readFileSync(library.url);
    const path = `vendor/${hashOf(body)}/${library.name}`;
    files.set(path, consoleFile(body, library.name, true));
    if (library.name.endsWith('.css')) links.push(path);
    else imports[library.specifier] = `./${path}`;
  }

  const modules = readdirSync(modulesDir).filter((name) => name.endsWith('.js'));
  const bodies = modules.map((name) => readFileSync(new URL(name, modulesDir)));
  const modulesPath = `app/${hashOf(...bodies)}`;
  modules.forEach((name, i) => files.set(`${modulesPath}/${name}`, consoleFile(bodies[i]!, name, true)));

  const stylesheet = readFileSync(new URL('console.css', staticDir));
  const stylesheetPath = `${hashOf(stylesheet)}/console.css`;
  files.set(stylesheetPath, consoleFile(stylesheet, 'console.css', true));
  links.push(stylesheetPath);

  const importMap = JSON.stringify({ imports });
  const page = readFileSync(new URL('index.html', staticDir), 'utf8')
    .replace('<!--import-map-->', `<script type="importmap">${importMap}</script>`)
    .replace('<!--stylesheets-->', links.map((href) => `<link rel="stylesheet" href="./${href}">`).join('\n'))
    .replace('<!--entry-->', `<script type="module" src="./${modulesPath}/app.js"></script>`);
  files.set('', consoleFile(Buffer.from(page), 'index.html', false));

  const importMapHash = createHash('sha256').update(importMap).digest('base64');
  const contentSecurityPolicy = [
    "default-src 'none'",
    `script-src 'self' 'sha256-${importMapHash}'`,
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { files, contentSecurityPolicy };
}
