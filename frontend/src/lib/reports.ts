// The reports page's data shaping, kept out of the component so it is tested on its own:
// the query a form gives, how each figure reads, and the geometry of the two inline SVG
// charts (bars per group, forecast against actuals). Definitions: docs/workforce.md.

export type MetricKind = "count" | "percent" | "duration" | "score" | "ratio";

export interface MetricColumn {
  key: string;
  label: string;
  title: string;
  kind: MetricKind;
}

/** The table's columns, in the server's field order (threshold_s is shown once, above). */
export const METRIC_COLUMNS: MetricColumn[] = [
  { key: "offered", label: "Offered", title: "Contacts that arrived", kind: "count" },
  { key: "answered", label: "Answered", title: "Contacts an agent took", kind: "count" },
  { key: "abandoned", label: "Abandoned", title: "The customer left before an answer", kind: "count" },
  { key: "abandonment_rate", label: "Abandon %", title: "Abandoned ÷ offered", kind: "percent" },
  {
    key: "service_level",
    label: "Service level",
    title: "Answered within the threshold ÷ (answered + abandoned after the threshold)",
    kind: "percent",
  },
  {
    key: "service_level_abandon_inclusive",
    label: "SL incl. abandoned",
    title: "Answered within the threshold ÷ offered",
    kind: "percent",
  },
  { key: "asa_s", label: "ASA", title: "Average speed of answer", kind: "duration" },
  { key: "first_response_s_median", label: "First response", title: "Median time to the first agent reply", kind: "duration" },
  { key: "first_response_s_p90", label: "First resp. p90", title: "90th percentile", kind: "duration" },
  { key: "resolution_s_median", label: "Resolution", title: "Median time to resolution", kind: "duration" },
  { key: "resolution_s_p90", label: "Resolution p90", title: "90th percentile", kind: "duration" },
  { key: "handle_s", label: "Handle time", title: "Mean time held by agents plus wrap-up", kind: "duration" },
  { key: "wrap_s", label: "Wrap-up", title: "Mean wrap-up", kind: "duration" },
  { key: "transfers_per_contact", label: "Transfers", title: "Transfers per answered contact", kind: "ratio" },
  { key: "fcr_rate", label: "FCR", title: "Resolved with no transfer and not reopened ÷ resolved", kind: "percent" },
  { key: "csat", label: "CSAT", title: "Mean rating, 1 to 5", kind: "score" },
  { key: "csat_satisfied_rate", label: "CSAT 4–5", title: "Share of ratings of 4 or 5", kind: "percent" },
  { key: "csat_responses", label: "Ratings", title: "CSAT ratings given", kind: "count" },
  { key: "nps", label: "NPS", title: "% promoters − % detractors", kind: "score" },
  { key: "nps_responses", label: "NPS answers", title: "NPS answers given", kind: "count" },
  {
    key: "occupancy",
    label: "Occupancy",
    title: "Time with at least one contact ÷ available time",
    kind: "percent",
  },
  {
    key: "utilisation",
    label: "Utilisation",
    title: "Handle time ÷ available time (above 100% with concurrent chats)",
    kind: "percent",
  },
  { key: "contacts_per_agent_day", label: "Per agent-day", title: "Contacts handled per agent per day worked", kind: "ratio" },
];

export const GROUPS = [
  { value: "", label: "Total only" },
  { value: "channel", label: "Channel" },
  { value: "queue", label: "Queue" },
  { value: "team", label: "Team" },
  { value: "agent", label: "Agent" },
  { value: "hour", label: "Hour of day" },
  { value: "day", label: "Day" },
] as const;

export type Figures = Record<string, number | null | undefined>;

/** A figure as the table shows it: "87%", "1:05", "4.3", "12"; nothing measured → "—". */
export function formatMetric(kind: MetricKind, value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "—";
  switch (kind) {
    case "count":
      return String(Math.round(value));
    case "percent":
      return `${Math.round(value * 100)}%`;
    case "duration": {
      const s = Math.max(0, Math.round(value));
      const h = Math.floor(s / 3600);
      const m = Math.floor((s % 3600) / 60);
      const ss = String(s % 60).padStart(2, "0");
      return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
    }
    case "score":
      return value.toFixed(1);
    case "ratio":
      return value.toFixed(2);
  }
}

export interface RangeForm {
  from: string; // YYYY-MM-DD, the first day (local)
  to: string; // YYYY-MM-DD, the last day (local, included)
  groupBy: string;
  thresholdS: number;
  timeZone: string;
}

/** The last `days` days up to today, as date inputs read them. */
export function defaultRange(now: Date, days = 7): { from: string; to: string } {
  const to = new Date(now.getFullYear(), now.getMonth(), now.getDate());
  const from = new Date(to);
  from.setDate(from.getDate() - (days - 1));
  return { from: dateInput(from), to: dateInput(to) };
}

export function dateInput(day: Date): string {
  const mm = String(day.getMonth() + 1).padStart(2, "0");
  const dd = String(day.getDate()).padStart(2, "0");
  return `${day.getFullYear()}-${mm}-${dd}`;
}

/** Local midnight of a date input's day, as an ISO instant (UTC). */
export function startOfDay(value: string, plusDays = 0): string {
  const [y, m, d] = value.split("-").map(Number);
  return new Date(y ?? 1970, (m ?? 1) - 1, (d ?? 1) + plusDays).toISOString();
}

export interface SummaryQuery {
  from: string;
  to: string;
  threshold_s: number;
  tz: string;
  group_by?: string;
}

/** The summary's query: whole local days, `to` the midnight after the last day. */
export function summaryQuery(form: RangeForm): SummaryQuery {
  const query: SummaryQuery = {
    from: startOfDay(form.from),
    to: startOfDay(form.to, 1),
    threshold_s: form.thresholdS,
    tz: form.timeZone,
  };
  if (form.groupBy) query.group_by = form.groupBy;
  return query;
}

/** The same table as a CSV download. */
export function csvHref(form: RangeForm): string {
  const params = new URLSearchParams(
    Object.entries({ ...summaryQuery(form), format: "csv" }).map(([k, v]) => [k, String(v)]),
  );
  return `/api/v1/reports/summary?${params.toString()}`;
}

export interface ForecastQuery {
  from: string;
  to: string;
  interval: number;
  method: string;
  days: number;
}

/** Forecast the range's last day from the days before it, so actuals stand beside it. */
export function forecastQuery(form: RangeForm, method: string, interval: number): ForecastQuery {
  return { from: startOfDay(form.from), to: startOfDay(form.to), interval, method, days: 1 };
}

// Charts ------------------------------------------------------------------------------------

export interface Bar {
  label: string;
  value: number | null;
  text: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Horizontal bars, one per row, scaled to the largest value (percentages to 100%). */
export function bars(
  rows: { label: string; value: number | null | undefined }[],
  kind: MetricKind,
  width: number,
  barHeight = 18,
  gap = 6,
): Bar[] {
  const values = rows.map((r) => (r.value === null || r.value === undefined ? null : r.value));
  const top = kind === "percent" ? Math.max(1, ...values.map((v) => v ?? 0)) : Math.max(0, ...values.map((v) => v ?? 0));
  return rows.map((row, i) => {
    const value = values[i] ?? null;
    const share = value === null || top <= 0 ? 0 : Math.max(0, value) / top;
    return {
      label: row.label,
      value,
      text: formatMetric(kind, value),
      x: 0,
      y: i * (barHeight + gap),
      width: Math.round(share * width * 10) / 10,
      height: barHeight,
    };
  });
}

export interface SeriesPoint {
  start: string;
  forecast: number;
  actual: number | null | undefined;
}

export interface LineChart {
  forecast: string; // SVG polyline points
  actual: string;
  max: number;
  ticks: { x: number; label: string }[];
}

/** Polylines for forecast and actuals over one chart box; actuals stop where they stop. */
export function lineChart(
  rows: SeriesPoint[],
  width: number,
  height: number,
  tickEvery = 8,
  label: (iso: string) => string = (iso) => iso.slice(11, 16),
): LineChart {
  const max = Math.max(1, ...rows.map((r) => Math.max(r.forecast, r.actual ?? 0)));
  const step = rows.length > 1 ? width / (rows.length - 1) : 0;
  const y = (v: number) => round(height - (v / max) * height);
  const point = (i: number, v: number) => `${round(i * step)},${y(v)}`;
  const actual: string[] = [];
  rows.forEach((r, i) => {
    if (r.actual !== null && r.actual !== undefined) actual.push(point(i, r.actual));
  });
  return {
    forecast: rows.map((r, i) => point(i, r.forecast)).join(" "),
    actual: actual.join(" "),
    max,
    ticks: rows
      .map((r, i) => ({ i, r }))
      .filter(({ i }) => i % tickEvery === 0)
      .map(({ i, r }) => ({ x: round(i * step), label: label(r.start) })),
  };
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

/** Mean absolute error of the forecast over the intervals with actuals (null: none yet). */
export function meanAbsoluteError(rows: SeriesPoint[]): number | null {
  const known = rows.filter((r) => r.actual !== null && r.actual !== undefined);
  if (!known.length) return null;
  return known.reduce((sum, r) => sum + Math.abs(r.forecast - (r.actual ?? 0)), 0) / known.length;
}
