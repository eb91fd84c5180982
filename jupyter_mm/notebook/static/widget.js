// What every jupyter-mm anywidget module shares. The kernel sends it in front of each module
// (widget_base.widget_module): an anywidget module is one file and cannot import a sibling.
// Everything from the kernel is set with textContent / setAttribute, never parsed as HTML.

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

// A widget's root: a div of class `jmm-widget` and `cls` holding `parts`, shown in `host` (the
// element anywidget renders into).
function mount(host, cls, ...parts) {
  const root = el("div", "jmm-widget " + cls);
  root.append(...parts);
  host.appendChild(root);
  return root;
}

// Run `handler` on each of the model's `events` (trait changes); returns what stops it, for the
// widget's clean-up.
function listen(model, events, handler) {
  for (const ev of events) model.on(ev, handler);
  return () => {
    for (const ev of events) model.off(ev, handler);
  };
}

// A value for display: `empty` when missing, strings as they are ("NaN", "inf", "-inf"),
// integers whole, very small or large numbers as exponents, others to `digits` digits.
function formatNumber(v, digits, empty) {
  if (v === null || v === undefined) return empty;
  if (typeof v !== "number") return String(v);
  if (Number.isInteger(v) && Math.abs(v) < 1e9) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(3);
  return String(Number(v.toPrecision(digits)));
}

// What an error says, for a status line.
function errorText(err) {
  return String(err && err.message ? err.message : err);
}

// A function that runs `draw` once on the next animation frame, however often it is called
// before then: bursts of trait changes become one redraw.
function onePerFrame(draw) {
  let pending = false;
  return () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      draw();
    });
  };
}
