/** Reading Sluice's /metrics (Prometheus text format) in the L4 benchmark. */

/** Sum of a metric's samples over all label sets, or undefined when the metric is absent. */
export function metricSum(text: string, name: string): number | undefined {
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const next = line[name.length];
    if (next !== ' ' && next !== '{') continue;
    sum = (sum ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}
