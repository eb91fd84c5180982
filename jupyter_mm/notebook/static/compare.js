// jupyter-mm run comparison: an anywidget ESM module (no build step, no static imports).
// The kernel computes every view as a plotly figure (the `figures` trait); this module draws them
// with plotly.js and turns clicks into trait changes (hidden, selected, metric, smoothing...).
// plotly.js arrives once as a binary trait (`_plotly`) and is imported once per page.
// Everything from the kernel is set with textContent / setAttribute, never parsed as HTML.

const fmt = (v) => formatNumber(v, 5, "");

function select(cls, label, options, value, onChange) {
  const wrap = el("label", "jmm-cmp-field");
  wrap.append(el("span", "jmm-cmp-label", label));
  const s = el("select", cls);
  for (const o of options) {
    const opt = el("option", "", o);
    opt.value = o;
    s.append(opt);
  }
  s.value = value;
  s.addEventListener("change", () => onChange(s.value));
  wrap.append(s);
  return [wrap, s];
}

function checkbox(cls, label, checked, onChange) {
  const wrap = el("label", "jmm-cmp-field");
  const box = el("input", cls);
  box.type = "checkbox";
  box.checked = checked;
  box.addEventListener("change", () => onChange(box.checked));
  wrap.append(box, el("span", "jmm-cmp-label", label));
  return [wrap, box];
}

// The page's theme (JupyterLab's CSS variables; plotly's defaults elsewhere): the kernel's figures
// carry no colours, so a dark theme gets light text and grid lines, drawn again when it changes.
function themed(layout) {
  const style = getComputedStyle(document.body);
  const get = (name) => style.getPropertyValue(name).trim();
  const font = get("--jp-ui-font-color1");
  if (!font) return layout;
  const grid = get("--jp-border-color2") || "#e0e0e0";
  const axis = (a) => ({ gridcolor: grid, zerolinecolor: grid, linecolor: grid, ...(a || {}) });
  return {
    ...layout,
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    font: { ...(layout.font || {}), color: font },
    xaxis: axis(layout.xaxis),
    yaxis: axis(layout.yaxis),
  };
}

function render({ model, el: host }) {
  const bar = el("div", "jmm-cmp-bar");
  const status = el("div", "jmm-cmp-status");
  const body = el("div", "jmm-cmp-body");
  const root = mount(host, "jmm-cmp", bar, status, body);

  const set = (name, value) => {
    model.set(name, value);
    model.save_changes();
  };
  const toggle = (name, id) => {
    const cur = model.get(name) || [];
    set(name, cur.includes(id) ? cur.filter((x) => x !== id) : [...cur, id]);
  };

  // ---- controls
  const views = model.get("views") || [];
  let metricSel, xSel, smooth, smoothOut, logBox, sParam, sMetric, identBox;
  const buildBar = () => {
    bar.replaceChildren();
    const metrics = model.get("metric_keys") || [];
    const params = model.get("param_keys") || [];
    let w;
    if (views.includes("curves") || views.includes("parcoords")) {
      [w, metricSel] = select("jmm-cmp-metric", "metric", metrics, model.get("metric"), (v) => set("metric", v));
      bar.append(w);
    }
    if (views.includes("curves")) {
      [w, xSel] = select("jmm-cmp-xaxis", "x", ["step", "time"], model.get("x_axis"), (v) => set("x_axis", v));
      bar.append(w);
      const sw = el("label", "jmm-cmp-field");
      sw.append(el("span", "jmm-cmp-label", "smoothing"));
      smooth = el("input", "jmm-cmp-smoothing");
      smooth.type = "range";
      smooth.min = "0";
      smooth.max = "0.99";
      smooth.step = "0.01";
      smooth.value = String(model.get("smoothing"));
      smoothOut = el("span", "jmm-cmp-smoothing-value", String(model.get("smoothing")));
      let timer = null;
      smooth.addEventListener("input", () => {
        smoothOut.textContent = smooth.value;
        clearTimeout(timer);
        timer = setTimeout(() => set("smoothing", Number(smooth.value)), 120);
      });
      sw.append(smooth, smoothOut);
      [w, logBox] = checkbox("jmm-cmp-log", "log y", !!model.get("log_y"), (v) => set("log_y", v));
      bar.append(sw, w);
    }
    if (views.includes("scatter")) {
      [w, sParam] = select("jmm-cmp-sparam", "scatter x", params, model.get("scatter_param"), (v) => set("scatter_param", v));
      bar.append(w);
      [w, sMetric] = select("jmm-cmp-smetric", "y", metrics, model.get("scatter_metric"), (v) => set("scatter_metric", v));
      bar.append(w);
    }
    if (views.includes("table")) {
      [w, identBox] = checkbox("jmm-cmp-ident", "hide identical params", !!model.get("hide_identical"), (v) => set("hide_identical", v));
      bar.append(w);
    }
    const clear = el("button", "jmm-cmp-clear", "clear selection");
    clear.type = "button";
    clear.addEventListener("click", () => set("selected", []));
    bar.append(clear);
  };

  // ---- views
  const boxes = {};
  for (const v of views) {
    const box = el("div", `jmm-cmp-view jmm-cmp-${v}`);
    boxes[v] = box;
    body.append(box);
  }

  // A plot is drawn once it comes near the screen (the curves usually at once): below the fold,
  // parallel coordinates (WebGL) and the scatter do not hold up the first view.
  const near = new Set();
  const seen = typeof IntersectionObserver === "function"
    ? new IntersectionObserver((entries) => {
        let more = false;
        for (const e of entries) {
          if (e.isIntersecting && !near.has(e.target.dataset.view)) {
            near.add(e.target.dataset.view);
            more = true;
          }
        }
        if (more) schedule();
      }, { rootMargin: "200px" })
    : null;
  for (const v of views) {
    boxes[v].dataset.view = v;
    if (seen && v !== "table") seen.observe(boxes[v]);
    else near.add(v);
  }

  let Plotly = null;
  let destroyed = false;
  const hooked = new Set();
  const config = { displaylogo: false, responsive: true };

  const hook = (view, div) => {
    if (hooked.has(view)) return;
    hooked.add(view);
    if (view === "curves") {
      div.on("plotly_legendclick", (ev) => {
        const id = ev && ev.data && ev.data[ev.curveNumber] && ev.data[ev.curveNumber].meta;
        if (id) toggle("hidden", id);
        return false; // the kernel redraws without the run
      });
      div.on("plotly_legenddoubleclick", () => false);
      div.on("plotly_click", (ev) => {
        const pt = ev && ev.points && ev.points[0];
        const id = pt && pt.data && pt.data.meta;
        if (id) toggle("selected", id);
      });
    } else if (view === "scatter") {
      div.on("plotly_click", (ev) => {
        const pt = ev && ev.points && ev.points[0];
        if (pt && pt.customdata) toggle("selected", pt.customdata);
      });
    } else if (view === "parcoords") {
      // brushing an axis selects the runs inside every brushed range
      div.on("plotly_restyle", () => {
        const trace = div.data && div.data[0];
        if (!trace) return;
        const ids = trace.meta || [];
        const dims = trace.dimensions || [];
        const ranged = dims.filter((d) => d.constraintrange && d.constraintrange.length);
        if (!ranged.length) {
          set("selected", []);
          return;
        }
        const inside = (v, r) => {
          const ranges = Array.isArray(r[0]) ? r : [r];
          return ranges.some(([lo, hi]) => v !== null && v >= lo && v <= hi);
        };
        const chosen = ids.filter((_, i) => ranged.every((d) => inside(d.values[i], d.constraintrange)));
        set("selected", chosen);
      });
    }
  };

  // The kernel's parallel coordinates carry no brushes: keep the user's while a selection stands.
  const keepBrushes = (view, box, data) => {
    if (view !== "parcoords" || !(model.get("selected") || []).length) return data;
    const old = {};
    const prev = box.data && box.data[0];
    for (const d of (prev && prev.dimensions) || []) {
      if (d.constraintrange) old[d.label] = d.constraintrange;
    }
    return data.map((trace, i) =>
      i === 0 && trace.dimensions
        ? { ...trace, dimensions: trace.dimensions.map((d) => (old[d.label] ? { ...d, constraintrange: old[d.label] } : d)) }
        : trace,
    );
  };

  const drawTable = () => {
    const box = boxes.table;
    if (!box) return;
    const t = model.get("table") || {};
    const hidden = new Set(model.get("hidden") || []);
    const selected = new Set(model.get("selected") || []);
    const differing = new Set(t.differing || []);
    const params = (t.params || []).filter((p) => !model.get("hide_identical") || differing.has(p));
    const metrics = t.metrics || [];
    const table = el("table", "jmm-table jmm-cmp-table");
    const head = el("tr");
    head.append(el("th", "", ""), el("th", "", "run"), el("th", "", "status"));
    for (const p of params) {
      const th = el("th", differing.has(p) ? "jmm-cmp-differs" : "", p);
      th.title = differing.has(p) ? "differs between runs" : "the same in every run";
      head.append(th);
    }
    for (const m of metrics) head.append(el("th", "jmm-cmp-metric-col", m));
    const thead = el("thead");
    thead.append(head);
    const tbody = el("tbody");
    for (const row of t.rows || []) {
      const tr = el("tr", selected.has(row.id) ? "jmm-cmp-selected" : "");
      if (hidden.has(row.id)) tr.classList.add("jmm-cmp-hidden");
      tr.dataset.runId = row.id;
      const tdShow = el("td");
      const box = el("input", "jmm-cmp-show");
      box.type = "checkbox";
      box.checked = !hidden.has(row.id);
      box.title = "show this run";
      box.addEventListener("change", () => toggle("hidden", row.id));
      tdShow.append(box);
      const tdName = el("td", "jmm-cmp-name");
      const swatch = el("span", "jmm-cmp-swatch");
      swatch.style.backgroundColor = row.color;
      tdName.append(swatch, document.createTextNode(row.name || row.id.slice(0, 8)));
      tdName.title = row.id;
      tdName.addEventListener("click", () => toggle("selected", row.id));
      const st = String(row.status || "");
      const tdStatus = el("td", "jmm-cmp-st jmm-cmp-st-" + st.toLowerCase().replace(/[^a-z]/g, ""), st);
      tr.append(tdShow, tdName, tdStatus);
      for (const p of params) {
        const v = row.params ? row.params[p] : null;
        const td = el("td", differing.has(p) ? "jmm-cmp-differs" : "", v === null || v === undefined ? "–" : String(v));
        tr.append(td);
      }
      for (const m of metrics) tr.append(el("td", "jmm-cmp-num", fmt(row.metrics ? row.metrics[m] : null)));
      tbody.append(tr);
    }
    table.append(thead, tbody);
    box.replaceChildren(table);
  };

  const drawFigures = async () => {
    const figures = model.get("figures") || {};
    const revision = model.get("revision");
    drawTable();
    if (!Plotly) return;
    // one view at a time, the curves first, letting the browser paint in between
    let first = true;
    for (const v of views) {
      if (v === "table") continue;
      const fig = figures[v];
      const box = boxes[v];
      if (!fig || !box || destroyed || !near.has(v)) continue;
      if (!first) await new Promise((resolve) => requestAnimationFrame(resolve));
      first = false;
      if (destroyed || model.get("revision") !== revision) return; // a newer state is coming
      await Plotly.react(box, keepBrushes(v, box, fig.data), themed(fig.layout), config);
      hook(v, box);
    }
    if (!destroyed) root.dataset.revision = String(revision);
  };

  const syncControls = () => {
    if (metricSel) metricSel.value = model.get("metric");
    if (xSel) xSel.value = model.get("x_axis");
    if (smooth && document.activeElement !== smooth) {
      smooth.value = String(model.get("smoothing"));
      smoothOut.textContent = String(model.get("smoothing"));
    }
    if (logBox) logBox.checked = !!model.get("log_y");
    if (sParam) sParam.value = model.get("scatter_param");
    if (sMetric) sMetric.value = model.get("scatter_metric");
    if (identBox) identBox.checked = !!model.get("hide_identical");
    status.textContent = model.get("live") ? "● live: following running runs" : "";
  };

  const schedule = onePerFrame(() => {
    if (destroyed) return;
    syncControls();
    drawFigures().catch((err) => {
      status.textContent = "could not draw: " + errorText(err);
    });
  });

  buildBar();
  syncControls();
  drawTable();
  whenPlotly(model, status, (P) => {
    Plotly = P;
    syncControls();
    schedule();
  });

  // JupyterLab marks the theme on <body>: redraw with its colours when it changes.
  const themeWatch = new MutationObserver(() => schedule());
  themeWatch.observe(document.body, { attributes: true, attributeFilter: ["data-jp-theme-name", "data-jp-theme-light"] });

  const resize = new ResizeObserver(() => {
    if (!Plotly) return;
    for (const v of views) if (v !== "table" && boxes[v].data) Plotly.Plots.resize(boxes[v]);
  });
  resize.observe(root);

  const rebuild = () => { buildBar(); syncControls(); };
  const unlisten = [
    listen(model, ["change:figures", "change:table", "change:hidden", "change:selected", "change:hide_identical", "change:live", "change:metric", "change:x_axis", "change:smoothing", "change:log_y", "change:scatter_param", "change:scatter_metric"], schedule),
    listen(model, ["change:metric_keys", "change:param_keys"], rebuild),
  ];

  return () => {
    destroyed = true;
    themeWatch.disconnect();
    resize.disconnect();
    if (seen) seen.disconnect();
    for (const stop of unlisten) stop();
    if (Plotly) for (const v of views) if (v !== "table") Plotly.purge(boxes[v]);
  };
}

export default { render };
