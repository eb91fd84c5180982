// plotly.js for the jupyter-mm widgets that draw figures (mm.compare, mm.drift_report). The kernel
// sends it between static/widget.js and the widget's own module (widget_base.widget_module).
// plotly.js arrives once as a binary trait (`_plotly`) and is imported once per page, shared by
// every widget that draws with it.

const CACHE = "__jupyter_mm_plotly__";

// plotly.js is a UMD bundle: give it a CommonJS `module` so it exports instead of installing
// window.Plotly over another copy; restore whatever window.Plotly was before.
function loadPlotly(model) {
  if (globalThis[CACHE]) return globalThis[CACHE];
  const promise = (async () => {
    const src = model.get("_plotly");
    if (!src || !src.byteLength) throw new Error("plotly.js was not sent by the kernel");
    const had = Object.prototype.hasOwnProperty.call(globalThis, "Plotly");
    const before = globalThis.Plotly;
    const blob = new Blob(
      ["const module = { exports: {} }; const exports = module.exports;\n", src,
       "\nexport default module.exports;\n"],
      { type: "text/javascript" },
    );
    const url = URL.createObjectURL(blob);
    try {
      const mod = await import(/* webpackIgnore: true */ url);
      return mod.default;
    } finally {
      URL.revokeObjectURL(url);
      if (had) globalThis.Plotly = before;
      else delete globalThis.Plotly;
    }
  })();
  globalThis[CACHE] = promise;
  promise.catch(() => {
    if (globalThis[CACHE] === promise) delete globalThis[CACHE];
  });
  return promise;
}

// Load plotly.js, saying so in `status`; then `ready(Plotly)`, or in `status` why it failed.
function whenPlotly(model, status, ready) {
  status.textContent = "loading plotly.js…";
  loadPlotly(model)
    .then(ready)
    .catch((err) => {
      status.textContent = "plotly.js could not load: " + errorText(err);
    });
}
