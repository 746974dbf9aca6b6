/**
 * Preloaded (`node --import`) into every server under test. Answers the benchmark's questions
 * over the IPC channel (CPU time, RSS, optionally after a full GC) and exits when asked or when
 * the benchmark goes away. It adds no work to the server besides answering those few messages.
 */
if (typeof process.send === 'function') {
  process.on('message', (msg: any) => {
    if (!msg || typeof msg.id !== 'number') return;
    if (msg.op === 'usage') {
      const gc = (globalThis as { gc?: () => void }).gc;
      if (msg.gc && gc) {
        gc();
        gc();
      }
      const cpu = process.cpuUsage();
      process.send!({
        id: msg.id,
        ok: true,
        cpuMicros: cpu.user + cpu.system,
        rss: process.memoryUsage.rss(),
        maxRss: process.resourceUsage().maxRSS * 1024,
        heapUsed: process.memoryUsage().heapUsed,
      });
    } else if (msg.op === 'exit') {
      process.send!({ id: msg.id, ok: true }, () => process.exit(0));
    }
  });
  // Exits normally (so --cpu-prof writes its profile) when the benchmark closes the channel or dies.
  process.on('disconnect', () => process.exit(0));
}
