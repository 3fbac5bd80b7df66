// A monitor's chart: the checked value over time (uPlot), its condition's thresholds as dashed
// lines, and the checks that fired as triangles. The data is the page's
// <script type="application/json" id="monitor-chart-data">; colours are the console's CSS variables,
// read again when the system's colour scheme changes, so dark mode has its own.
(function () {
  "use strict";

  let plot = null;

  function colour(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  function triangles(data, fill, edge) {
    return function (u) {
      const ctx = u.ctx;
      const r = 7 * (window.devicePixelRatio || 1);
      ctx.save();
      ctx.fillStyle = fill;
      ctx.strokeStyle = edge;
      ctx.lineWidth = 1;
      data.fired.forEach(function (value, i) {
        if (value === null || value === undefined) return;
        const cx = u.valToPos(data.x[i], "x", true);
        const cy = u.valToPos(value, "y", true);
        ctx.beginPath();
        ctx.moveTo(cx, cy - r);
        ctx.lineTo(cx + r, cy + r * 0.8);
        ctx.lineTo(cx - r, cy + r * 0.8);
        ctx.closePath();
        ctx.fill();
        ctx.stroke();
      });
      ctx.restore();
    };
  }

  function options(holder, data) {
    const value = colour("--chart-1");
    const threshold = colour("--chart-4");
    const axis = { stroke: colour("--fg-soft"), grid: { stroke: colour("--line"), width: 1 }, ticks: { stroke: colour("--line"), width: 1 } };
    const series = [{}, { label: "value", stroke: value, width: 2, points: { show: true, size: 5, fill: value, stroke: value } }];
    data.thresholds.forEach(function (t) {
      series.push({ label: "value " + t.op + " " + t.value, stroke: threshold, width: 1.5, dash: [6, 4], points: { show: false } });
    });
    return {
      width: Math.max(holder.clientWidth, 280),
      height: 260,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      series: series,
      axes: [axis, Object.assign({ size: 60 }, axis)],
      hooks: { draw: [triangles(data, colour("--chart-2"), colour("--bg"))] },
    };
  }

  function draw() {
    const holder = document.getElementById("monitor-chart");
    const source = document.getElementById("monitor-chart-data");
    if (!holder || !source || typeof window.uPlot === "undefined") return;
    const data = JSON.parse(source.textContent);
    const columns = [data.x, data.value];
    data.thresholds.forEach(function (t) { columns.push(data.x.map(function () { return t.value; })); });
    if (plot) plot.destroy();
    holder.textContent = "";
    plot = new window.uPlot(options(holder, data), columns, holder);
    holder.dataset.drawn = String(data.x.length);
  }

  let resizing = 0;
  window.addEventListener("resize", function () {
    window.clearTimeout(resizing);
    resizing = window.setTimeout(function () {
      const holder = document.getElementById("monitor-chart");
      if (plot && holder) plot.setSize({ width: Math.max(holder.clientWidth, 280), height: 260 });
    }, 150);
  });
  if (window.matchMedia) {
    window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", draw);
  }
  document.addEventListener("DOMContentLoaded", draw);
})();
