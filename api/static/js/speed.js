// How fast a running task goes and when it should end, from the summaries the page polls:
// images finished per second over the last WINDOW_MS (recent speed, so a retry or a slower stretch
// shows soon), and the images left at that speed.

const WINDOW_MS = 30_000;

export class Speed {
  constructor() {
    this.samples = [];
  }

  // Called with each summary read (a 304 counts too: nothing finished meanwhile).
  add(task, now = Date.now()) {
    if (task.status !== "processing") {
      this.samples = [];
      return;
    }
    const finished = task.progress.done + task.progress.failed;
    this.samples.push({ at: now, finished });
    while (this.samples.length > 2 && now - this.samples[0].at > WINDOW_MS) this.samples.shift();
    this.left = task.progress.total - finished;
  }

  // Images per second, or null until there is something to measure.
  rate() {
    if (this.samples.length < 2) return null;
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    const seconds = (last.at - first.at) / 1000;
    if (seconds < 1) return null;
    return (last.finished - first.finished) / seconds;
  }

  text() {
    const rate = this.rate();
    if (rate === null) return "Measuring the speed…";
    if (rate === 0) return "0 images/s · waiting for the workers";
    return `${rate.toFixed(1)} images/s · about ${duration(this.left / rate)} left`;
  }
}

export function duration(seconds) {
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  const hours = Math.floor(seconds / 3600);
  return `${hours} h ${Math.round((seconds - hours * 3600) / 60)} min`;
}
