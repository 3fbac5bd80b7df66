// The overview's chart: runs by status over time, drawn with uPlot from the JSON block the page
// carries (#runs-chart-data), stacked bars in the colours of the page's CSS variables (read again
// when the colour scheme changes, so dark mode follows), redrawn to the width of its box.
(function () {
  "use strict";

  const STATUSES = ["succeeded", "failed", "cancelled", "missed"];
  // Each status's colour: a CSS variable of console.css (the same as its swatch in overview.css).
  const COLOURS = { succeeded: "--chart-3", failed: "--chart-2", cancelled: "--chart-4", missed: "--warn" };
  const HEIGHT = 240;

  function colour(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888";
  }

  function read() {
    const block = document.getElementById("runs-chart-data");
    if (!block) return null;
    try {
      return JSON.parse(block.textContent || "null");
    } catch (e) {
      return null;
    }
  }

  // uPlot draws series in order, each over the last: the first drawn is the whole stack, each next
  // one a status less, so every bar shows each status's share of it.
  function stacked(data) {
    const raw = STATUSES.map(function (s) { return data.series[s] || []; });
    const sums = [];
    for (let i = 0; i < STATUSES.length; i++) {
      const upTo = STATUSES.length - i;
      sums.push(data.x.map(function (_, k) {
        let total = 0;
        for (let j = 0; j < upTo; j++) total += raw[j][k] || 0;
        return total;
      }));
    }
    return { raw: raw, sums: sums };
  }

  function options(width, data, stack) {
    const fg = colour("--fg-soft");
    const grid = colour("--line");
    const bars = uPlot.paths && uPlot.paths.bars ? uPlot.paths.bars({ size: [0.8, 48], align: 1 }) : undefined;
    const series = [{}];
    for (let i = 0; i < STATUSES.length; i++) {
      const status = STATUSES[STATUSES.length - 1 - i];
      const index = STATUSES.length - 1 - i;
      series.push({
        label: status,
        stroke: colour(COLOURS[status]),
        fill: colour(COLOURS[status]),
        width: 0,
        paths: bars,
        points: { show: false },
        value: function (u, v, si, idx) { return idx == null ? "—" : String(stack.raw[index][idx] || 0); },
      });
    }
    const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const half = (data.bucket_seconds || 3600) / 2;
    return {
      width: width,
      height: HEIGHT,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: {
        x: { time: true, range: function (u, min, max) { return [min - half, max + half * 3]; } },
        y: { range: function (u, min, max) { return [0, Math.max(1, max)]; } },
      },
      axes: [Object.assign({}, axis), Object.assign({ size: 44 }, axis, { incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000] })],
      series: series,
    };
  }

  let chart = null;

  function draw() {
    const box = document.getElementById("runs-chart");
    const data = read();
    if (!box || !data || !Array.isArray(data.x) || typeof uPlot === "undefined") return;
    const stack = stacked(data);
    if (chart) chart.destroy();
    box.textContent = "";
    const width = Math.max(280, box.clientWidth || 600);
    chart = new uPlot(options(width, data, stack), [data.x].concat(stack.sums), box);
    box.dataset.drawn = String(data.x.length);
  }

  function start() {
    draw();
    const box = document.getElementById("runs-chart");
    if (!box) return;
    let last = box.clientWidth;
    if (typeof ResizeObserver !== "undefined") {
      new ResizeObserver(function () {
        if (chart && Math.abs(box.clientWidth - last) > 4) {
          last = box.clientWidth;
          chart.setSize({ width: Math.max(280, last), height: HEIGHT });
        }
      }).observe(box);
    }
    if (window.matchMedia) {
      const scheme = window.matchMedia("(prefers-color-scheme: dark)");
      if (scheme.addEventListener) scheme.addEventListener("change", draw);
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
