/**
 * This process's CPU use, as a percentage of one core, over the window since the last reading
 * that closed one; a window closes at most once per `minWindowMs`, so frequent readers see a
 * stable figure instead of the noise of a few milliseconds.
 */
export class CpuMeter {
  private usage = process.cpuUsage();
  private at = performance.now();
  private percent = 0;

  constructor(private readonly minWindowMs = 1000) {}

  read(): number {
    const now = performance.now();
    if (now - this.at >= this.minWindowMs) {
      const used = process.cpuUsage(this.usage);
      this.percent = Math.round(((used.user + used.system) / 1000 / (now - this.at)) * 1000) / 10;
      this.usage = process.cpuUsage();
      this.at = now;
    }
    return this.percent;
  }
}
