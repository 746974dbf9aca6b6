import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { ConsoleApi, whoAmI, type WhoAmI } from './api.js';
import { Message } from './components.js';
import { ConsoleContext, type Console } from './context.js';
import { html, type Markup } from './html.js';
import { LiveConnection, type LiveState } from './live.js';
import { ChannelsPage } from './page-channels.js';
import { ConnectionsPage } from './page-connections.js';
import { GatewayPage } from './page-gateway.js';
import { OverviewPage } from './page-overview.js';
import { RoutingPage } from './page-routing.js';
import { TopicsPage } from './page-topics.js';

/** The credential lives in this tab's sessionStorage only: gone when the tab closes, never in a URL. */
const storageKey = 'switchboard.console.credential';

const pages: { path: string; title: string; component: () => Markup }[] = [
  { path: 'overview', title: 'Overview', component: OverviewPage },
  { path: 'connections', title: 'Connections', component: ConnectionsPage },
  { path: 'channels', title: 'Channels', component: ChannelsPage },
  { path: 'topics', title: 'Topics', component: TopicsPage },
  { path: 'routing', title: 'Routing', component: RoutingPage },
  { path: 'gateway', title: 'Gateway', component: GatewayPage },
];

function currentPath(): string {
  const path = location.hash.replace(/^#\/?/, '');
  return pages.some((page) => page.path === path) ? path : 'overview';
}

function SignIn({ onSignedIn, notice }: { onSignedIn: (credential: string, who: WhoAmI) => void; notice: string | undefined }): Markup {
  const [credential, setCredential] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    const given = credential.trim();
    if (!given) return setError('Type an admin API key or an admin JWT.');
    setBusy(true);
    try {
      onSignedIn(given, await whoAmI(given));
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return html`<main class="sign-in">
    <h1>Switchboard console</h1>
    <${Message} kind="error" text=${error ?? notice} />
    <form onSubmit=${submit}>
      <label
        >Admin API key or JWT
        <input
          id="credential"
          type="password"
          autocomplete="off"
          spellcheck=${false}
          value=${credential}
          onInput=${(e: Event) => setCredential((e.target as HTMLInputElement).value)}
          autofocus
        />
      </label>
      <button class="primary" type="submit" disabled=${busy}>Sign in</button>
      <p class="muted">Kept in this tab only (sessionStorage) and sent as an Authorization header.</p>
    </form>
  </main>`;
}

function Shell({ who, credential, onSignOut }: { who: WhoAmI; credential: string; onSignOut: (notice?: string) => void }): Markup {
  const [path, setPath] = useState(currentPath());
  const [liveState, setLiveState] = useState<LiveState>('connecting');
  const [tick, setTick] = useState(0);
  const api = useMemo(() => new ConsoleApi(credential, (message) => onSignOut(message)), [credential]);
  const live = useMemo(() => new LiveConnection(credential, setLiveState), [credential]);
  useEffect(() => {
    const onHash = () => setPath(currentPath());
    addEventListener('hashchange', onHash);
    const stop = live.follow('$admin:stats', () => setTick((n) => n + 1));
    return () => {
      removeEventListener('hashchange', onHash);
      stop();
      live.close();
    };
  }, [live]);
  const page = pages.find((p) => p.path === path)!;
  const [first, setFirst] = useState(true);
  useEffect(() => {
    document.title = `${page.title} · Switchboard console`;
    // A keyboard or screen reader user who picked a page lands on it, not back in the navigation.
    if (first) setFirst(false);
    else document.getElementById('content')?.focus();
  }, [page]);
  const value: Console = { api, live, role: who.role, tick };
  return html`<${ConsoleContext.Provider} value=${value}>
    <a class="skip-link" href="#content">Skip to the page</a>
    <div class="layout">
      <header class="top">
        <h1>Switchboard console</h1>
        <span class="live-state" data-state=${liveState} id="live-state" title=${live.refusal}>${liveState}</span>
        <span class="who" id="who">${who.subject ?? who.via} · <strong data-role=${who.role}>${who.role}</strong></span>
        <button type="button" onClick=${() => onSignOut()}>Sign out</button>
      </header>
      <nav class="pages" aria-label="pages">
        <ul>
          ${pages.map((p) => html`<li><a href=${`#/${p.path}`} aria-current=${p.path === path ? 'page' : undefined}>${p.title}</a></li>`)}
        </ul>
      </nav>
      <main id="content" tabindex="-1" data-page=${path}>
        <h2>${page.title}</h2>
        ${liveState === 'refused' ? html`<${Message} kind="error" text=${`The live connection was refused: ${live.refusal}`} />` : null}
        <${page.component} />
      </main>
    </div>
  <//>`;
}

function App(): Markup {
  const [signedIn, setSignedIn] = useState<{ credential: string; who: WhoAmI } | undefined>(undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const [checking, setChecking] = useState(true);
  useEffect(() => {
    const stored = sessionStorage.getItem(storageKey);
    if (!stored) return setChecking(false);
    whoAmI(stored)
      .then(
        (who) => setSignedIn({ credential: stored, who }),
        (err: Error) => {
          sessionStorage.removeItem(storageKey);
          setNotice(err.message);
        },
      )
      .finally(() => setChecking(false));
  }, []);
  if (checking) return html`<p class="loading">Loading the console…</p>`;
  if (!signedIn) {
    return html`<${SignIn}
      notice=${notice}
      onSignedIn=${(credential: string, who: WhoAmI) => {
        sessionStorage.setItem(storageKey, credential);
        setNotice(undefined);
        setSignedIn({ credential, who });
      }}
    />`;
  }
  const signOut = (message?: string) => {
    sessionStorage.removeItem(storageKey);
    setNotice(message);
    setSignedIn(undefined);
  };
  return html`<${Shell} key=${signedIn.credential} who=${signedIn.who} credential=${signedIn.credential} onSignOut=${signOut} />`;
}

render(html`<${App} />`, document.getElementById('app')!);
