import { describe, expect, it } from "vitest";
import {
  METRIC_COLUMNS,
  bars,
  csvHref,
  defaultRange,
  forecastQuery,
  formatMetric,
  lineChart,
  meanAbsoluteError,
  startOfDay,
  summaryQuery,
  type RangeForm,
} from "../src/lib/reports";

const form: RangeForm = { from: "2026-03-02", to: "2026-03-08", groupBy: "agent", thresholdS: 20, timeZone: "UTC" };

describe("report figures", () => {
  it("read as counts, percentages, durations and scores, and nothing measured as a dash", () => {
    expect(formatMetric("count", 6)).toBe("6");
    expect(formatMetric("percent", 0.6)).toBe("60%");
    expect(formatMetric("duration", 15)).toBe("0:15");
    expect(formatMetric("duration", 3725)).toBe("1:02:05");
    expect(formatMetric("score", 4.25)).toBe("4.3");
    expect(formatMetric("ratio", 4 / 3)).toBe("1.33");
    expect(formatMetric("percent", null)).toBe("—");
    expect(formatMetric("duration", undefined)).toBe("—");
  });

  it("has one column per figure the server sends, but the threshold", () => {
    expect(METRIC_COLUMNS.map((c) => c.key)).toContain("service_level_abandon_inclusive");
    expect(METRIC_COLUMNS).toHaveLength(23);
    expect(new Set(METRIC_COLUMNS.map((c) => c.key)).size).toBe(23);
  });
});

describe("report queries", () => {
  it("cover whole local days, the last one included", () => {
    const query = summaryQuery(form);
    expect(query.from).toBe(new Date(2026, 2, 2).toISOString());
    expect(query.to).toBe(new Date(2026, 2, 9).toISOString());
    expect(query.group_by).toBe("agent");
    expect(query.threshold_s).toBe(20);
    expect(summaryQuery({ ...form, groupBy: "" }).group_by).toBeUndefined();
  });

  it("download the same table as CSV", () => {
    const url = new URL(csvHref(form), "http://x");
    expect(url.pathname).toBe("/api/v1/reports/summary");
    expect(url.searchParams.get("format")).toBe("csv");
    expect(url.searchParams.get("from")).toBe(summaryQuery(form).from);
    expect(url.searchParams.get("threshold_s")).toBe("20");
  });

  it("forecast the last day from the days before it", () => {
    const query = forecastQuery(form, "ets", 1800);
    expect(query.from).toBe(startOfDay("2026-03-02"));
    expect(query.to).toBe(startOfDay("2026-03-08"));
    expect(query.days).toBe(1);
    expect(query.method).toBe("ets");
  });

  it("default to the last week up to today", () => {
    expect(defaultRange(new Date(2026, 0, 3, 15, 30))).toEqual({ from: "2025-12-28", to: "2026-01-03" });
  });
});

describe("charts", () => {
  it("scale bars to the largest value, and percentages to 100%", () => {
    const counted = bars(
      [
        { label: "Ann", value: 4 },
        { label: "Bob", value: 2 },
        { label: "(none)", value: null },
      ],
      "count",
      200,
    );
    expect(counted.map((b) => [b.label, b.width, b.text])).toEqual([
      ["Ann", 200, "4"],
      ["Bob", 100, "2"],
      ["(none)", 0, "—"],
    ]);
    expect(counted.map((b) => b.y)).toEqual([0, 24, 48]);
    const rates = bars([{ label: "Chat", value: 0.5 }], "percent", 200);
    expect(rates[0]?.width).toBe(100);
  });

  it("draw forecast and actuals, the actuals stopping where they stop", () => {
    const rows = [
      { start: "2026-03-08T09:00:00Z", forecast: 4, actual: 2 },
      { start: "2026-03-08T09:30:00Z", forecast: 2, actual: 4 },
      { start: "2026-03-08T10:00:00Z", forecast: 0, actual: null },
    ];
    const chart = lineChart(rows, 100, 40, 2);
    expect(chart.max).toBe(4);
    expect(chart.forecast).toBe("0,0 50,20 100,40");
    expect(chart.actual).toBe("0,20 50,0");
    expect(chart.ticks).toEqual([
      { x: 0, label: "09:00" },
      { x: 100, label: "10:00" },
    ]);
    expect(meanAbsoluteError(rows)).toBe(2);
    expect(meanAbsoluteError([])).toBeNull();
    expect(lineChart([], 100, 40).forecast).toBe("");
  });
});
