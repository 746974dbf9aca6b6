import type { Logger } from 'pino';
import { revocationChannel, type RevocationList } from './auth/revocations.js';
import type { Broker } from './brokers/broker.js';
import type { Hub } from './hub/hub.js';
import type { Session } from './sessions/session.js';
import type { Stats } from './observability/metrics.js';

/**
 * Hands the broker's publications to the hub, and those of the revocation channel to the
 * revocation list. After the broker connection came back, publications of the gap are read from
 * history (Hub.resync), and revocations of the outage too (RevocationList.catchUp).
 */
export function feedFromBroker(broker: Broker, hub: Hub<Session>, revocations: RevocationList, stats: Stats, log: Logger): void {
  broker.onReconnect(() => {
    log.info({ event: 'broker.reconnected', broker: broker.name }, 'broker connection is back');
    hub.resync();
    revocations.catchUp();
  });
  broker.onPublication((pub) => {
    // A publication of the wrong shape must not throw into the broker client and end the process.
    try {
      if (pub.channel === revocationChannel) revocations.receive(pub);
      else hub.dispatch(pub);
    } catch (err) {
      stats.error('internal');
      log.error({ event: 'broker.bad_publication', channel: String(pub.channel).slice(0, 200), err }, 'publication from the broker dropped');
    }
  });
}

/**
 * What the hub calls when history no longer holds what this node missed of a channel: its
 * subscribers here are asked to reconnect, so they restore their state from the application.
 */
export function askToReconnectOnLostGap(log: Logger, askToReconnect: (session: Session) => void): (channel: string, sessions: Session[]) => void {
  return (channel, sessions) => {
    log.warn({ event: 'broker.gap_lost', channel, sessions: sessions.length }, 'history no longer holds what this node missed; its subscribers are asked to reconnect');
    for (const session of sessions) askToReconnect(session);
  };
}
