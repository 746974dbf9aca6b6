/** A role of the admin console (admin.enabled): admin may do everything, read-only may change nothing. */
export type ConsoleRole = 'admin' | 'read-only';

/** Who a session is, as established at connect (token, connect hook, or anonymous). */
export interface Identity {
  /** '' for anonymous sessions. */
  user: string;
  /** Token claims or the connect hook's context; forwarded to hooks and shown by the API. */
  context: Record<string, unknown>;
  /** May subscribe to other users' personal channels. */
  privileged: boolean;
  /** Channels the connect hook subscribes the session to. */
  channels: string[];
  /** When the credentials expire (ms since the epoch); the session must refresh before. */
  expiresAt?: number;
  jti?: string;
  /** When the token was issued, or the session authorized (ms since the epoch). */
  issuedAt: number;
  /** Signed in to the admin console: may follow any channel and the $admin: channels. */
  consoleRole?: ConsoleRole;
}

/** Anonymous sessions share one empty, frozen context and channel list. */
const noContext: Record<string, unknown> = Object.freeze({});
const noChannels: string[] = Object.freeze([]) as unknown as string[];

export function anonymousIdentity(): Identity {
  return { user: '', context: noContext, privileged: false, channels: noChannels, issuedAt: Date.now() };
}

/** Whether a claim (or context value) equals the value or, as a list, contains it. */
export function claimHolds(value: unknown, expected: string): boolean {
  return value === expected || (Array.isArray(value) && value.includes(expected));
}
