// The goal loop's charts: each element with data-chart="#id" is drawn (uPlot) from the JSON block
// #id holds: the recorded values, the forecast and its interval drawn as a band, the anomalies as
// points, marked instants (a predicted breach) and each threshold as a horizontal line. Colours
// come from the page's CSS variables, so the chart follows light and dark mode; it is drawn again
// when the scheme or the window's width changes. The page describes the same numbers in words.
(function () {
  "use strict";

  const HEIGHT = 320;

  function palette() {
    const css = getComputedStyle(document.documentElement);
    const value = function (name, fallback) { return css.getPropertyValue(name).trim() || fallback; };
    return {
      text: value("--fg-soft", "#4a5260"),
      grid: value("--line", "#d5d9e0"),
      recorded: value("--chart-1", "#2563eb"),
      anomaly: value("--chart-2", "#dc2626"),
      forecast: value("--chart-3", "#16a34a"),
      threshold: value("--chart-4", "#9333ea"),
      mark: value("--bad", "#991b1b"),
      background: value("--bg", "#ffffff"),
    };
  }

  // "#2563eb" (or "#26e") with an opacity, as rgba(); any other colour as it is.
  function faded(color, opacity) {
    let hex = color.replace("#", "");
    if (!/^[0-9a-f]{3}([0-9a-f]{3})?$/i.test(hex)) return color;
    if (hex.length === 3) hex = hex.split("").map(function (c) { return c + c; }).join("");
    const n = parseInt(hex, 16);
    return "rgba(" + ((n >> 16) & 255) + "," + ((n >> 8) & 255) + "," + (n & 255) + "," + opacity + ")";
  }

  function hasAny(values) {
    return values.some(function (v) { return v !== null && v !== undefined; });
  }

  function pointsOnly() { return null; }

  function options(data, colors, width) {
    const level = Math.round((data.level || 0.9) * 100);
    const series = [
      {},
      { label: "Recorded", stroke: colors.recorded, width: 1.5 },
      { label: "Forecast", stroke: colors.forecast, width: 1.5, dash: [6, 4], points: { show: false } },
      { label: "Upper " + level + "%", stroke: faded(colors.forecast, 0.55), width: 1, points: { show: false } },
      { label: "Lower " + level + "%", stroke: faded(colors.forecast, 0.55), width: 1, points: { show: false } },
      {
        label: "Anomaly", stroke: colors.anomaly, fill: colors.anomaly, width: 0, paths: pointsOnly,
        points: { show: true, size: 9, width: 1, stroke: colors.anomaly, fill: colors.anomaly },
      },
    ];
    const columns = [data.x, data.recorded, data.forecast, data.upper, data.lower, data.anomalies];
    if (hasAny(data.marks || [])) {
      series.push({
        label: data.mark_label || "Marked", stroke: colors.mark, width: 0, paths: pointsOnly,
        points: { show: true, size: 12, width: 2.5, stroke: colors.mark, fill: colors.background },
      });
      columns.push(data.marks);
    }
    (data.thresholds || []).forEach(function (threshold) {
      series.push({ label: threshold.label, stroke: colors.threshold, width: 1.5, dash: [3, 3], points: { show: false } });
      columns.push(data.x.map(function () { return threshold.value; }));
    });
    const axis = { stroke: colors.text, grid: { stroke: colors.grid, width: 1 }, ticks: { stroke: colors.grid, width: 1 } };
    return {
      opts: {
        width: width,
        height: HEIGHT,
        series: series,
        bands: [{ series: [3, 4], fill: faded(colors.forecast, 0.16) }],
        axes: [Object.assign({}, axis), Object.assign({}, axis, { size: 60 })],
        cursor: { drag: { x: true, y: false } },
        legend: { live: true },
      },
      columns: columns,
    };
  }

  function draw(holder) {
    const source = document.querySelector(holder.getAttribute("data-chart"));
    if (!source || typeof window.uPlot === "undefined") return;
    const data = JSON.parse(source.textContent);
    if (holder._plot) { holder._plot.destroy(); holder._plot = null; }
    holder.textContent = "";
    if (!data.x || data.x.length === 0) {
      const note = document.createElement("p");
      note.className = "empty";
      note.textContent = "Nothing to draw: no points in the window and no forecast.";
      holder.appendChild(note);
      holder.dataset.drawn = "empty";
      return;
    }
    const built = options(data, palette(), Math.max(280, holder.clientWidth || 800));
    holder._plot = new window.uPlot(built.opts, built.columns, holder);
    holder.dataset.drawn = "1";
  }

  function drawAll() {
    document.querySelectorAll("[data-chart]").forEach(draw);
  }

  let resizing = null;
  window.addEventListener("resize", function () {
    window.clearTimeout(resizing);
    resizing = window.setTimeout(function () {
      document.querySelectorAll("[data-chart]").forEach(function (holder) {
        if (holder._plot) holder._plot.setSize({ width: Math.max(280, holder.clientWidth), height: HEIGHT });
      });
    }, 150);
  });

  if (window.matchMedia) {
    const scheme = window.matchMedia("(prefers-color-scheme: dark)");
    if (scheme.addEventListener) scheme.addEventListener("change", drawAll);
  }

  document.addEventListener("DOMContentLoaded", drawAll);
})();
