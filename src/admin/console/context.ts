import { createContext } from 'preact';
import { useContext, useEffect, useRef, useState } from 'preact/hooks';
import type { ConsoleApi, Role } from './api.js';
import type { ChannelHandler, LiveConnection } from './live.js';

export interface Console {
  api: ConsoleApi;
  live: LiveConnection;
  role: Role;
  /** Counts the node's stats samples ($admin:stats): pages refresh what they show on each. */
  tick: number;
}

export const ConsoleContext = createContext<Console | undefined>(undefined);

export function useConsole(): Console {
  const value = useContext(ConsoleContext);
  if (!value) throw new Error('the console is used outside its context');
  return value;
}

export interface Loaded<T> {
  data: T | undefined;
  error: string | undefined;
  reload: () => void;
}

/**
 * Loads data through the API and again whenever `deps` change or the live tick comes (unless
 * `live` is false); keeps showing the last answer while the next one is on its way.
 */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[], live = true): Loaded<T> {
  const { tick } = useConsole();
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [reloads, setReloads] = useState(0);
  useEffect(() => {
    let current = true;
    load().then(
      (answer) => {
        if (!current) return;
        setData(answer);
        setError(undefined);
      },
      (err: Error) => current && setError(err.message),
    );
    return () => {
      current = false;
    };
  }, [...deps, reloads, live ? tick : 0]);
  return { data, error, reload: () => setReloads((n) => n + 1) };
}

/** Follows a channel over the console's live session while the component is shown. */
export function useFollow(channel: string | undefined, handler: ChannelHandler): void {
  const { live } = useConsole();
  const latest = useRef(handler);
  latest.current = handler;
  useEffect(() => (channel ? live.follow(channel, (data) => latest.current(data)) : undefined), [channel, live]);
}

/** Runs an action the operator started, keeping its outcome (or refusal) to show next to it. */
export function useAction(): { busy: boolean; outcome: { ok: boolean; text: string } | undefined; run: (action: () => Promise<string>) => Promise<void> } {
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | undefined>(undefined);
  const run = async (action: () => Promise<string>) => {
    setBusy(true);
    try {
      setOutcome({ ok: true, text: await action() });
    } catch (err) {
      setOutcome({ ok: false, text: (err as Error).message });
    } finally {
      setBusy(false);
    }
  };
  return { busy, outcome, run };
}
