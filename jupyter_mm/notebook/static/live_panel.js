// jupyter-mm live run panel: an anywidget ESM module (no build step, no imports).
// Everything from the kernel is set with textContent / setAttribute, never parsed as HTML.

const SVG = "http://www.w3.org/2000/svg";
const W = 120;
const H = 22;

const fmt = (v) => formatNumber(v, 4, "–");

function duration(s) {
  s = Math.max(0, s);
  if (s < 60) return s.toFixed(1) + "s";
  s = Math.floor(s);
  const pad = (n) => String(n).padStart(2, "0");
  if (s < 3600) return Math.floor(s / 60) + "m " + pad(s % 60) + "s";
  return Math.floor(s / 3600) + "h " + pad(Math.floor((s % 3600) / 60)) + "m";
}

// One SVG sparkline; non-finite values (sent as strings) break the line.
function sparkline(points) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", "jmm-live-spark");
  svg.setAttribute("width", String(W));
  svg.setAttribute("height", String(H));
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const finite = (points || []).filter((p) => typeof p[1] === "number" && isFinite(p[1]));
  if (finite.length === 0) return svg;
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (const [x, y] of finite) {
    x0 = Math.min(x0, x); x1 = Math.max(x1, x);
    y0 = Math.min(y0, y); y1 = Math.max(y1, y);
  }
  const pad = 2;
  const sx = (x) => (x1 === x0 ? W / 2 : pad + ((x - x0) / (x1 - x0)) * (W - 2 * pad));
  const sy = (y) => (y1 === y0 ? H / 2 : H - pad - ((y - y0) / (y1 - y0)) * (H - 2 * pad));
  let segment = [];
  const lines = [];
  for (const [x, y] of points) {
    if (typeof y === "number" && isFinite(y)) segment.push(`${sx(x).toFixed(1)},${sy(y).toFixed(1)}`);
    else if (segment.length) { lines.push(segment); segment = []; }
  }
  if (segment.length) lines.push(segment);
  for (const seg of lines) {
    const line = document.createElementNS(SVG, "polyline");
    line.setAttribute("points", seg.join(" "));
    line.setAttribute("class", "jmm-live-line");
    svg.appendChild(line);
  }
  const [lx, ly] = finite[finite.length - 1];
  const dot = document.createElementNS(SVG, "circle");
  dot.setAttribute("cx", sx(lx).toFixed(1));
  dot.setAttribute("cy", sy(ly).toFixed(1));
  dot.setAttribute("r", "1.8");
  dot.setAttribute("class", "jmm-live-dot");
  svg.appendChild(dot);
  const title = document.createElementNS(SVG, "title");
  title.textContent = `min ${fmt(y0)} · max ${fmt(y1)} · steps ${x0}–${x1}`;
  svg.appendChild(title);
  return svg;
}

function render({ model, el: host }) {
  const head = el("div", "jmm-live-head");
  const name = el("span", "jmm-live-name");
  const id = el("code", "jmm-live-id");
  const status = el("span", "jmm-live-status");
  const elapsed = el("span", "jmm-live-elapsed");
  head.append(name, id, status, elapsed);
  const rows = el("div", "jmm-live-rows");
  const extra = el("div", "jmm-live-extra");
  mount(host, "jmm-live", head, rows, extra);

  let skew = 0; // kernel clock minus browser clock, seconds
  const syncClock = () => {
    const c = model.get("clock");
    if (c) skew = c - Date.now() / 1000;
  };

  const tick = () => {
    const started = model.get("started");
    const ended = model.get("ended");
    const end = ended === null || ended === undefined ? Date.now() / 1000 + skew : ended;
    elapsed.textContent = started ? duration(end - started) : "";
  };

  const drawHead = () => {
    name.textContent = model.get("name") || "(unnamed run)";
    const rid = model.get("run_id") || "";
    id.textContent = rid.slice(0, 8) + (rid.length > 8 ? "…" : "");
    id.title = rid;
    const st = model.get("status") || "";
    status.textContent = st;
    status.className = "jmm-live-status jmm-live-" + st.toLowerCase().replace(/[^a-z]/g, "");
    tick();
  };

  const drawMetrics = () => {
    const metrics = model.get("metrics") || {};
    const lines = [];
    const chips = [];
    for (const key of Object.keys(metrics)) {
      const m = metrics[key] || {};
      if (m.points && m.points.length) {
        const row = el("div", "jmm-live-row");
        const k = el("span", "jmm-live-key", key);
        k.title = key;
        row.append(k, sparkline(m.points), el("span", "jmm-live-value", fmt(m.last)));
        lines.push(row);
      } else {
        const chip = el("span", "jmm-live-chip");
        chip.append(el("span", "jmm-live-key", key), el("span", "jmm-live-value", fmt(m.last)));
        chips.push(chip);
      }
    }
    const hidden = model.get("hidden") || 0;
    if (hidden) chips.push(el("span", "jmm-live-chip", `+${hidden} more`));
    rows.replaceChildren(...lines);
    extra.replaceChildren(...chips);
    extra.style.display = chips.length ? "" : "none";
  };

  const schedule = onePerFrame(() => {
    drawHead();
    drawMetrics();
  });

  syncClock();
  drawHead();
  drawMetrics();
  const unlisten = [
    listen(model, ["change:name", "change:run_id", "change:status", "change:ended", "change:metrics", "change:hidden"], schedule),
    listen(model, ["change:clock"], syncClock),
  ];
  const timer = setInterval(tick, 1000);

  return () => {
    clearInterval(timer);
    for (const stop of unlisten) stop();
  };
}

export default { render };
