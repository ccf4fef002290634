// Time formatting for the dashboard (local time zone, the browser's locale).

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

export const parseTime = (iso) => (iso ? Date.parse(iso) : NaN);

/** "now", "5m", "3h", "Mon", "12 Mar" — compact, for lists. */
export function shortAgo(iso, now = Date.now()) {
  const t = parseTime(iso);
  if (Number.isNaN(t)) return '';
  const d = now - t;
  if (d < MIN) return 'now';
  if (d < HOUR) return `${Math.floor(d / MIN)}m`;
  if (d < DAY) return `${Math.floor(d / HOUR)}h`;
  if (d < 7 * DAY) return new Date(t).toLocaleDateString(undefined, { weekday: 'short' });
  return new Date(t).toLocaleDateString(undefined, { day: 'numeric', month: 'short' });
}

/** "just now", "5 minutes ago", "3 hours ago", "2 days ago", or a date. */
export function ago(iso, now = Date.now()) {
  const t = parseTime(iso);
  if (Number.isNaN(t)) return 'never';
  const d = Math.max(0, now - t);
  const plural = (n, unit) => `${n} ${unit}${n === 1 ? '' : 's'} ago`;
  if (d < MIN) return 'just now';
  if (d < HOUR) return plural(Math.floor(d / MIN), 'minute');
  if (d < DAY) return plural(Math.floor(d / HOUR), 'hour');
  if (d < 30 * DAY) return plural(Math.floor(d / DAY), 'day');
  return new Date(t).toLocaleDateString(undefined, { day: 'numeric', month: 'short', year: 'numeric' });
}

/** "14:03" today, "Mon 14:03" this week, else "12 Mar 14:03". */
export function clock(iso, now = Date.now()) {
  const t = parseTime(iso);
  if (Number.isNaN(t)) return '';
  const date = new Date(t);
  const time = date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  if (new Date(now).toDateString() === date.toDateString()) return time;
  if (now - t < 6 * DAY) return `${date.toLocaleDateString(undefined, { weekday: 'short' })} ${time}`;
  return `${date.toLocaleDateString(undefined, { day: 'numeric', month: 'short' })} ${time}`;
}

export function fullDate(iso) {
  const t = parseTime(iso);
  return Number.isNaN(t) ? '' : new Date(t).toLocaleString();
}

/** "23h 59m", "4m 12s", "12s" for a remaining duration in ms (≥ 0). */
export function countdown(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400);
  const hh = Math.floor((s % 86400) / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = s % 60;
  if (d > 0) return `${d}d ${hh}h`;
  if (hh > 0) return `${hh}h ${String(mm).padStart(2, '0')}m`;
  if (mm > 0) return `${mm}m ${String(ss).padStart(2, '0')}s`;
  return `${ss}s`;
}
