import { pino, type Logger } from 'pino';

/** JSON lines on stdout; every line carries an `event` name (see docs/operations.md). */
export function createLogger(level: string, nodeId: string): Logger {
  return pino({
    level,
    base: { node: nodeId },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}
