/**
 * A plotly figure drawn into a div (plotly.js loaded on first use), shared by
 * the compare view and the version view's monitoring report.
 */

import * as React from 'react';

import { loadPlotly, themeChanged, themeLayout } from './chart';

/**
 * A plotly figure drawn (lazily) into a div whenever `deps` change.
 */
export function PlotlyFigure(props: {
  data: () => any[];
  layout: () => any;
  deps: React.DependencyList;
  /**
   * What the user did to the figure (zoom, parcoords brushing, legend) is
   * kept across redraws with new data while this stays the same.
   */
  uirevision: string;
  className: string;
}): JSX.Element {
  const ref = React.useRef<HTMLDivElement>(null);
  // The theme's colours are read when drawing: draw again when it changes.
  const [theme, setTheme] = React.useState(0);
  React.useEffect(() => {
    const onTheme = () => setTheme(t => t + 1);
    themeChanged.connect(onTheme);
    return () => {
      themeChanged.disconnect(onTheme);
    };
  }, []);
  React.useEffect(() => {
    let cancelled = false;
    const node = ref.current;
    void loadPlotly().then(plotly => {
      if (cancelled || !node) {
        return;
      }
      void plotly
        .react(
          node,
          props.data(),
          {
            ...themeLayout(),
            autosize: true,
            uirevision: props.uirevision,
            ...props.layout()
          },
          { displaylogo: false }
        )
        .then(() => node.classList.add('jp-mm-chart-ready'));
    });
    return () => {
      cancelled = true;
    };
  }, [...props.deps, theme]);
  React.useEffect(
    () => () => {
      const node = ref.current;
      if (node) {
        void loadPlotly().then(plotly => plotly.purge(node));
      }
    },
    []
  );
  return <div ref={ref} className={props.className} />;
}
