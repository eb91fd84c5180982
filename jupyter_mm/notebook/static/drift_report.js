// jupyter-mm drift report: an anywidget ESM module (no build step, no static imports).
// The kernel sends the report (`report`: the verdicts of mm.drift with their bins, per-period
// statistics) and its plotly figures (`figures`: feature -> {distribution, over_time}); this
// module shows the verdict table, the score's figures and those of the feature chosen in the
// table (`feature`). Everything from the kernel is set with textContent, never parsed as HTML.
// plotly.js arrives once as a binary trait (`_plotly`) and is imported once per page (shared
// with mm.compare's widget).

const SCORE = "__score__";
const COLUMNS = [
  ["feature", "feature"], ["method", "method"], ["statistic", "statistic"],
  ["threshold", "threshold"], ["band", "verdict"], ["p_value", "p-value"],
  ["n_reference", "n reference"], ["n_current", "n current"],
];

function fmt(v) {
  if (v === null || v === undefined) return "";
  if (typeof v === "boolean") return v ? "yes" : "no";
  if (typeof v !== "number") return String(v);
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(4)));
}

const label = (feature) => (feature === SCORE ? "score" : feature);

function render({ model, el: host }) {
  const head = el("div", "jmm-drift-head");
  const notes = el("ul", "jmm-drift-notes");
  const status = el("div", "jmm-drift-status");
  const tableBox = el("div", "jmm-drift-table-wrap");
  const plots = el("div", "jmm-drift-plots");
  const root = mount(host, "jmm-drift", head, notes, status, tableBox, plots);

  let Plotly = null;
  let destroyed = false;
  const config = { displaylogo: false, responsive: true };
  const drawn = [];

  const drawHead = () => {
    const r = model.get("report") || {};
    head.replaceChildren();
    const st = String(r.status || "");
    head.append(
      el("span", "jmm-drift-badge jmm-drift-" + st.replace(/[^a-z_]/g, ""), st.replace(/_/g, " ")),
      el("span", "jmm-drift-title",
        ` ${r.model} v${r.version} · ${r.window_start} to ${r.window_end} · ${r.preset} · ${r.rows} rows`),
    );
    notes.replaceChildren(...(r.notes || []).map((n) => el("li", "", String(n))));
  };

  const drawTable = () => {
    const r = model.get("report") || {};
    const chosen = model.get("feature");
    const table = el("table", "jmm-table jmm-drift-table");
    const tr = el("tr");
    for (const [, name] of COLUMNS) tr.append(el("th", "", name));
    const thead = el("thead");
    thead.append(tr);
    const tbody = el("tbody");
    for (const v of r.verdicts || []) {
      const row = el("tr", v.feature === chosen ? "jmm-drift-chosen" : "");
      row.dataset.feature = v.feature;
      for (const [key] of COLUMNS) {
        const value = key === "feature" ? label(v.feature) : v[key];
        const td = el("td", key === "band" ? "jmm-drift-band jmm-drift-" + String(v.band || "").replace(/[^a-z_]/g, "_") : "", fmt(value));
        row.append(td);
      }
      row.title = "show this feature's distributions and its statistic over time";
      row.addEventListener("click", () => {
        model.set("feature", v.feature);
        model.save_changes();
      });
      tbody.append(row);
    }
    table.append(thead, tbody);
    tableBox.replaceChildren(table);
  };

  const drawPlots = async () => {
    for (const d of drawn.splice(0)) if (Plotly) Plotly.purge(d);
    plots.replaceChildren();
    const figures = model.get("figures") || {};
    const chosen = model.get("feature");
    const shown = [SCORE, chosen].filter((f, i, a) => f && a.indexOf(f) === i && figures[f]);
    if (!shown.length) {
      const r = model.get("report") || {};
      plots.append(el("p", "jmm-drift-empty", r.status === "too_few_rows"
        ? `Too few rows in the window (${r.rows}, fewer than ${r.min_rows}): no verdict, nothing to draw.`
        : "No distributions to draw."));
      return;
    }
    for (const f of shown) {
      const section = el("div", "jmm-drift-feature");
      section.append(el("h4", "", label(f)));
      const row = el("div", "jmm-drift-row");
      section.append(row);
      plots.append(section);
      for (const kind of ["distribution", "over_time"]) {
        const fig = figures[f][kind];
        if (!fig) continue;
        const div = el("div", "jmm-drift-plot jmm-drift-" + kind);
        row.append(div);
        if (!Plotly || destroyed) continue;
        await Plotly.react(div, fig.data, fig.layout, config);
        drawn.push(div);
      }
    }
  };

  const schedule = onePerFrame(() => {
    if (destroyed) return;
    drawHead();
    drawTable();
    drawPlots().catch((err) => {
      status.textContent = "could not draw: " + errorText(err);
    });
  });

  drawHead();
  drawTable();
  whenPlotly(model, status, (P) => {
    Plotly = P;
    status.textContent = "";
    schedule();
  });

  const resize = new ResizeObserver(() => {
    if (Plotly) for (const d of drawn) Plotly.Plots.resize(d);
  });
  resize.observe(root);
  const unlisten = listen(model, ["change:report", "change:figures", "change:feature"], schedule);

  return () => {
    destroyed = true;
    resize.disconnect();
    unlisten();
    if (Plotly) for (const d of drawn) Plotly.purge(d);
  };
}

export default { render };
