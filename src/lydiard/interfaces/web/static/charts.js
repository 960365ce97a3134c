/* Lydiard charts: draws the chart specs of interfaces/web/figures.py with the vendored uPlot.
   No inline script (strict CSP): specs and data come as <script type="application/json"> blocks
   or (Trends) one fetch that starts as soon as this file runs. Charts are drawn one per task,
   first chart first, so no task blocks the page for long; every chart of a page shares one
   crosshair (uPlot cursor sync) and, on Trends, one date range. */
(function () {
  "use strict";
  var uPlot = window.uPlot;
  var DAY = 86400;
  var NARROW = 600;  // px: below this, short row labels and smaller axes

  function jsonBlock(id) {
    var el = document.getElementById(id);
    if (!el) { return null; }
    try { return JSON.parse(el.textContent); } catch (e) { return null; }
  }

  function daySeconds(iso) {  // "2026-03-01" -> seconds at UTC midnight
    return Date.UTC(+iso.slice(0, 4), +iso.slice(5, 7) - 1, +iso.slice(8, 10)) / 1000;
  }

  function paceText(v) {
    if (v == null || !isFinite(v)) { return "–"; }
    var s = Math.round(v * 60);
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }

  function numText(v, digits) {
    return v == null || !isFinite(v) ? "–" : v.toFixed(digits);
  }

  function dateText(sec) {
    return new Date(sec * 1000).toISOString().slice(0, 10);
  }

  function axisValues(fmt) {
    return function (u, splits) {
      return splits.map(function (v) {
        if (v == null) { return ""; }
        if (fmt === "pace") { return paceText(v); }
        return Math.abs(v) >= 1000 ? (v / 1000).toFixed(1) + "k" : String(+v.toFixed(2));
      });
    };
  }

  function narrow(el) { return el.clientWidth < NARROW; }

  /* ------------------------------------------------------------------ hooks */
  function bandHook(lowIdx, highIdx, colour) {  // fill between two series, under the lines
    return function (u) {
      var lo = u.data[lowIdx], hi = u.data[highIdx], xs = u.data[0], ctx = u.ctx;
      var i0 = u.series[0].idxs ? u.series[0].idxs[0] : 0, i1 = u.series[0].idxs ? u.series[0].idxs[1] : xs.length - 1;
      ctx.save();
      ctx.beginPath();
      ctx.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height);
      ctx.clip();
      ctx.fillStyle = colour;
      var run = [];
      function flush() {
        if (run.length > 1) {
          ctx.beginPath();
          run.forEach(function (i, k) {
            var x = u.valToPos(xs[i], "x", true), y = u.valToPos(hi[i], "y", true);
            if (k === 0) { ctx.moveTo(x, y); } else { ctx.lineTo(x, y); }
          });
          for (var k = run.length - 1; k >= 0; k--) {
            ctx.lineTo(u.valToPos(xs[run[k]], "x", true), u.valToPos(lo[run[k]], "y", true));
          }
          ctx.closePath();
          ctx.fill();
        }
        run = [];
      }
      for (var i = Math.max(0, i0 - 1); i <= Math.min(xs.length - 1, i1 + 1); i++) {
        if (lo[i] == null || hi[i] == null) { flush(); } else { run.push(i); }
      }
      flush();
      ctx.restore();
    };
  }

  function mixColour(colours, t) {  // t in [0, 1] over 3 anchor colours
    function rgb(h) { return [parseInt(h.slice(1, 3), 16), parseInt(h.slice(3, 5), 16), parseInt(h.slice(5, 7), 16)]; }
    var seg = t < 0.5 ? 0 : 1, f = t < 0.5 ? t * 2 : (t - 0.5) * 2;
    var a = rgb(colours[seg]), b = rgb(colours[seg + 1]);
    return "rgb(" + a.map(function (c, k) { return Math.round(c + (b[k] - c) * f); }).join(",") + ")";
  }

  function rowsHook(spec, cells) {  // one coloured cell per day and row
    return function (u) {
      var xs = u.data[0], ctx = u.ctx, n = spec.rows.length;
      var x0 = u.scales.x.min, x1 = u.scales.x.max;
      var step = xs.length > 1 ? Math.abs(u.valToPos(xs[0] + DAY, "x", true) - u.valToPos(xs[0], "x", true)) : 4;
      var w = Math.max(1, step - (step > 4 ? 1 : 0));
      var h = u.bbox.height / n;
      ctx.save();
      ctx.beginPath();
      ctx.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height);
      ctx.clip();
      for (var i = 0; i < xs.length; i++) {
        if (xs[i] < x0 - DAY || xs[i] > x1 + DAY) { continue; }
        var x = u.valToPos(xs[i], "x", true) - w / 2;
        for (var r = 0; r < n; r++) {
          var colour = cells(r, i);
          if (!colour) { continue; }
          ctx.fillStyle = colour;
          ctx.fillRect(x, u.bbox.top + r * h + 1, w, h - 2);
        }
      }
      ctx.restore();
    };
  }

  function marksHook(marks) {  // vertical lines (plan: goal day, best form)
    return function (u) {
      var ctx = u.ctx;
      ctx.save();
      marks.forEach(function (m) {
        var x = u.valToPos(daySeconds(m.day), "x", true);
        if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) { return; }
        ctx.strokeStyle = m.colour;
        ctx.setLineDash([4, 4]);
        ctx.lineWidth = 1.5;
        ctx.beginPath();
        ctx.moveTo(x, u.bbox.top);
        ctx.lineTo(x, u.bbox.top + u.bbox.height);
        ctx.stroke();
        ctx.fillStyle = m.colour;
        ctx.font = Math.round(11 * devicePixelRatio) + "px system-ui, sans-serif";
        var tw = ctx.measureText(m.label).width;  // keep the label inside the plot
        var tx = x + 4 + tw > u.bbox.left + u.bbox.width ? x - 4 - tw : x + 4;
        ctx.fillText(m.label, tx, u.bbox.top + 12 * devicePixelRatio);
      });
      ctx.restore();
    };
  }

  /* ------------------------------------------------------------------ one chart */
  /* spec: see figures.py; xs: x values (seconds or minutes); col(src, planned) -> array. */
  function draw(el, spec, xs, col, opts) {
    var isNarrow = narrow(el);
    var timeX = spec.x === "date";
    var data = [xs];
    var series = [{ label: timeX ? "Day" : "Minute", value: function (u, v) {
      return v == null ? "–" : timeX ? dateText(v) : numText(v, 1) + " min";
    } }];
    var hooks = { drawAxes: [], draw: [] };
    var axisSize = isNarrow ? 46 : 58;  // every chart of a page: same gutters, so the x axes line up
    var leftSize = isNarrow ? 66 : 104;
    var font = (isNarrow ? 11 : 12) + "px system-ui, sans-serif";
    var hasRight = (spec.axes || []).some(function (a) { return a.side === "right"; });
    var axes = [{ scale: "x", space: isNarrow ? 70 : 80, size: 30, font: font,
      values: timeX ? [[DAY * 28, "{MMM} {YYYY}", null, null, null, null, null, null, 0],
                       [DAY, "{D} {MMM}", "\n{YYYY}", null, null, null, null, null, 0]] : function (u, s) {
        return s.map(function (v) { return v == null ? "" : v + " min"; });
      } }];
    var scales = { x: { time: timeX } };
    var readout = el.parentNode.querySelector("[data-readout]");

    if (spec.kind === "rows") {
      var rows = spec.rows, n = rows.length;
      series.push({ label: spec.title, stroke: "transparent", paths: function () { return null; },
                    points: { show: false } });
      data.push(xs.map(function () { return null; }));
      scales.y = { auto: false, range: [0, n] };
      axes.push({ scale: "y", side: 3, size: leftSize, gap: 4, grid: { show: false }, ticks: { show: false },
        font: font,
        splits: function () { return rows.map(function (r, k) { return n - k - 0.5; }); },
        values: function () { return rows.map(function (r) { return isNarrow ? r.short : r.mid; }); } });
      var cells = opts.rowCells(spec);
      hooks.draw.push(rowsHook(spec, cells));
      if (readout) {
        hooks.setCursor = [function (u) {
          var i = u.cursor.idx;
          if (i == null) { readout.textContent = ""; return; }
          var parts = [];
          rows.forEach(function (r, k) { var t = opts.rowText(spec, k, i); if (t) { parts.push(t); } });
          readout.textContent = dateText(xs[i]) + ": " + (parts.join(", ") || "no entry");
        }];
      }
    } else {
      (spec.axes || []).forEach(function (a) {
        scales[a.id] = { auto: true, dir: spec.invert && a.id === "y" ? -1 : 1 };
        var right = a.side === "right";
        axes.push({ scale: a.id, side: right ? 1 : 3, label: a.label, size: right ? axisSize : leftSize - 16,
                    labelSize: 16, gap: 3, font: font, labelFont: "bold " + font, grid: { show: !right },
                    values: axisValues(a.fmt) });
      });
      var band = spec.band;
      var bandIdx = null;
      if (band) {
        var lo = col(band.low, false), hi = col(band.high, false);
        if (lo && hi) {
          data.push(lo, hi);
          series.push({ label: band.label + " (low)", stroke: "transparent", paths: function () { return null; },
                        points: { show: false }, value: function (u, v) { return numText(v, 2); } });
          series.push({ label: band.label + " (high)", stroke: "transparent", paths: function () { return null; },
                        points: { show: false }, value: function (u, v) { return numText(v, 2); } });
          bandIdx = [data.length - 2, data.length - 1];
          hooks.drawAxes.push(bandHook(bandIdx[0], bandIdx[1], band.colour));
        }
      }
      spec.series.forEach(function (s) {
        var values = col(s.src, s.planned);
        if (!values) { return; }
        var fmt = s.fmt === "pace" ? paceText : function (v) { return numText(v, s.digits); };
        var opt = { label: s.label, scale: s.axis, stroke: s.colour, width: s.width,
                    value: function (u, v) { return fmt(v); }, spanGaps: false };
        if (s.dash) { opt.dash = [6, 4]; }
        if (s.style === "bars") {
          opt.paths = uPlot.paths.bars({ size: [0.7, 12] });
          opt.fill = s.colour;
          opt.width = 0;
          opt.points = { show: false };
        } else if (s.style === "points") {
          opt.paths = function () { return null; };
          opt.points = { show: true, size: 4, fill: s.colour, stroke: s.colour, width: 0 };
        } else {
          opt.points = { show: false };
          if (spec.fill) { opt.fill = s.colour + "33"; }
        }
        series.push(opt);
        data.push(values);
      });
      if (spec.marks && spec.marks.length) { hooks.draw.push(marksHook(spec.marks)); }
    }

    var o = {
      width: Math.max(200, el.clientWidth), height: spec.height,
      padding: [8, hasRight ? 4 : axisSize + 20, 0, 0],
      scales: scales, axes: axes, series: series,
      legend: { show: spec.kind !== "rows", live: true },
      cursor: { sync: { key: opts.syncKey || "lydiard" }, drag: { x: true, y: false, setScale: true },
                points: { size: 6 } },
      hooks: hooks,
    };
    if (timeX) { o.tzDate = function (ts) { return uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"); }; }
    el.textContent = "";
    var u = new uPlot(o, data, el);
    el.setAttribute("data-rendered", "1");
    el._uplot = u;
    return u;
  }

  /* ------------------------------------------------------------------ many charts */
  function drawAll(entries, options, done) {
    /* entries: [{el, spec}] drawn one per task (first one at once); returns the plots. */
    var plots = [];
    var syncing = false;
    function onScale(u, key) {
      if (syncing || key !== "x") { return; }
      syncing = true;
      plots.forEach(function (p) {
        if (p !== u) { p.setScale("x", { min: u.scales.x.min, max: u.scales.x.max }); }
      });
      syncing = false;
    }
    function next(k) {
      if (k >= entries.length) {
        if (window.performance && performance.mark) { performance.mark("lydiard:charts-all"); }
        if (done) { done(plots); }
        return;
      }
      var e = entries[k];
      var u = draw(e.el, e.spec, options.xs, options.col, options);
      u.hooks.setScale = u.hooks.setScale || [];
      u.hooks.setScale.push(onScale);
      plots.push(u);
      if (options.initial) { syncing = true; u.setScale("x", options.initial); syncing = false; }
      if (k === 0 && window.performance && performance.mark) { performance.mark("lydiard:charts-first"); }
      setTimeout(function () { next(k + 1); }, 0);
    }
    next(0);
    if (window.ResizeObserver) {
      var ro = new ResizeObserver(function () {
        plots.forEach(function (p) {
          var w = Math.max(200, p.root.parentNode.clientWidth);
          if (Math.abs(w - p.width) > 2) { p.setSize({ width: w, height: p.height }); }
        });
      });
      entries.forEach(function (e) { ro.observe(e.el); });
    }
    return plots;
  }

  function markEmpty(el) {
    el.classList.add("empty");
    el.setAttribute("data-rendered", "empty");
    el.textContent = "No data yet for this chart.";
  }

  /* ------------------------------------------------------------------ Trends */
  function trendsPage(holder) {
    var specs = jsonBlock("chart-specs") || [];
    var status = document.querySelector("[data-chart-status]");
    if (status) { status.textContent = "Loading charts…"; }
    var req = fetch(holder.getAttribute("data-charts-src"), { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); });
    // This file is deferred: the document is parsed, so the charts are drawn as soon as the data are here.
    req.then(function (doc) {
      if (status) { status.textContent = ""; }
      renderTrends(doc, specs);
    }).catch(function (e) {
      if (status) { status.textContent = "Charts could not be loaded (" + e.message + "); the tables below have the latest numbers."; }
    });
  }

  function renderTrends(doc, specs) {
    var days = doc.days || [], planned = doc.planned || {}, pdays = planned.days || [];
    var secs = {}, all = [];
    days.concat(pdays).forEach(function (d) { if (!(d in secs)) { secs[d] = daySeconds(d); all.push(secs[d]); } });
    all.sort(function (a, b) { return a - b; });
    var pos = new Map(all.map(function (s, i) { return [s, i]; }));
    var histIdx = days.map(function (d) { return pos.get(secs[d]); });
    var planIdx = pdays.map(function (d) { return pos.get(secs[d]); });
    var cache = {};
    function col(src, isPlanned) {
      var key = (isPlanned ? "p:" : "h:") + src;
      if (key in cache) { return cache[key]; }
      var values = isPlanned ? planned[src] : (doc.series || {})[src];
      var out = null;
      if (values && values.some(function (v) { return v != null; })) {
        out = new Array(all.length).fill(null);
        var idx = isPlanned ? planIdx : histIdx;
        for (var i = 0; i < values.length; i++) { out[idx[i]] = values[i]; }
      }
      cache[key] = out;
      return out;
    }
    var stageRow = {};
    (doc.stage_codes || []).forEach(function (c, k) { stageRow[c] = k; });
    var stageAt = new Array(all.length).fill(null);
    (doc.stages || []).forEach(function (s, i) { stageAt[histIdx[i]] = s; });
    var lastHist = days.length ? secs[days[days.length - 1]] : null;
    var lastAll = all.length ? all[all.length - 1] : null;

    function rowCells(spec) {
      if (spec.key === "stages") {
        return function (r, i) { return stageAt[i] != null && stageRow[stageAt[i]] === r ? spec.rows[r].colour : null; };
      }
      var cols = spec.rows.map(function (row) { return col(row.src, false); });
      var sc = spec.scale;
      return function (r, i) {
        var v = cols[r] && cols[r][i];
        if (v == null) { return null; }
        return mixColour(sc.colours, Math.min(1, Math.max(0, (v - sc.min) / (sc.max - sc.min))));
      };
    }
    function rowText(spec, r, i) {
      if (spec.key === "stages") { return stageAt[i] != null && stageRow[stageAt[i]] === r ? spec.rows[r].label : ""; }
      var c = col(spec.rows[r].src, false);
      return c && c[i] != null ? spec.rows[r].short + " " + c[i] : "";
    }
    function has(spec) {
      if (spec.kind === "rows") {
        if (spec.key === "stages") { return stageAt.some(function (s) { return s != null; }); }
        return spec.rows.some(function (r) { return col(r.src, false); });
      }
      return spec.series.some(function (s) { return !s.planned && col(s.src, false); });
    }
    var entries = [];
    specs.forEach(function (spec) {
      var el = document.querySelector('[data-chart="' + spec.key + '"]');
      if (!el) { return; }
      if (!all.length || !has(spec)) { markEmpty(el); return; }
      entries.push({ el: el, spec: spec });
    });
    if (!entries.length) { return; }
    function windowFor(months) {
      if (months === "all") { return { min: all[0], max: lastAll }; }
      var end = Math.min(lastAll, lastHist + 42 * DAY);
      return { min: Math.max(all[0], lastHist - months * 30.44 * DAY), max: Math.max(end, lastHist + DAY) };
    }
    var plots = drawAll(entries, { xs: all, col: col, rowCells: rowCells, rowText: rowText, syncKey: "trends",
                                   initial: windowFor(6) });
    document.querySelectorAll("[data-range]").forEach(function (btn) {
      btn.hidden = false;
      btn.addEventListener("click", function () {
        var v = btn.getAttribute("data-range");
        var w = windowFor(v === "all" ? "all" : +v);
        document.querySelectorAll("[data-range]").forEach(function (b) { b.setAttribute("aria-pressed", String(b === btn)); });
        if (plots[0]) { plots[0].setScale("x", w); }
      });
    });
  }

  /* ------------------------------------------------------------------ blocks (activity, plan) */
  function blockPage(block) {
    var specs = block.specs || [], d = block.data || {};
    var xs = d.x ? d.x : (d.days || []).map(daySeconds);
    function col(src) { return (d.series || {})[src] || null; }
    var entries = [];
    specs.forEach(function (spec) {
      var el = document.querySelector('[data-chart="' + spec.key + '"]');
      if (el) { entries.push({ el: el, spec: spec }); }
    });
    if (entries.length && xs.length) {
      drawAll(entries, { xs: xs, col: col, syncKey: block.sync || "page",
                         rowCells: function () { return function () { return null; }; }, rowText: function () { return ""; } });
    }
  }

  if (!uPlot) { return; }
  var holder = document.querySelector("[data-charts-src]");
  if (holder) { trendsPage(holder); }
  function blocks() {
    var block = jsonBlock("chart-page");
    if (block) { blockPage(block); }
  }
  if (!holder) {
    if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", blocks); } else { blocks(); }
  }
}());
