/**
 * A plotly figure drawn into a div (plotly.js loaded on first use), its
 * layout's size, title and axes, and the pickers above it: shared by the
 * compare view and the version view's monitoring report.
 */

import * as React from 'react';

import {
  escapeForPlotly,
  loadPlotly,
  themeChanged,
  themeLayout
} from './chart';

/**
 * One axis of a figure: its title (user text, escaped) and plotly type.
 */
export interface IFigureAxis {
  title?: string;
  type?: 'linear' | 'category' | 'date';
}

/**
 * A figure's layout: size, margins, title and the theme's axes with their
 * own titles and types. Titles are user text: escaped for plotly.
 */
export function figureLayout(options: {
  height: number;
  margin: { l: number; r: number; t: number; b: number };
  title?: string;
  x?: IFigureAxis;
  y?: IFigureAxis;
}): Record<string, unknown> {
  const theme = themeLayout();
  const axis = (base: unknown, own: IFigureAxis = {}) => ({
    ...(base as object),
    ...(own.title !== undefined
      ? { title: { text: escapeForPlotly(own.title) } }
      : {}),
    ...(own.type ? { type: own.type } : {})
  });
  return {
    height: options.height,
    margin: options.margin,
    ...(options.title !== undefined
      ? { title: { text: escapeForPlotly(options.title) } }
      : {}),
    xaxis: axis(theme.xaxis, options.x),
    yaxis: axis(theme.yaxis, options.y)
  };
}

/**
 * A labelled drop-down of a figure's controls (which key, which feature):
 * the choices as they are, each its own label.
 */
export function FigureChoice(props: {
  label: string;
  value: string;
  choices: ReadonlyArray<string>;
  onChange: (value: string) => void;
  /** The select's class, beside `jp-mm-select`. */
  className?: string;
  /** The label's class. */
  labelClassName?: string;
  /** A first, empty choice that is never sent (e.g. "metric…"). */
  placeholder?: string;
}): JSX.Element {
  return (
    <label className={props.labelClassName}>
      {props.label}{' '}
      <select
        className={
          props.className ? `jp-mm-select ${props.className}` : 'jp-mm-select'
        }
        aria-label={props.label}
        value={props.value}
        disabled={props.choices.length === 0}
        onChange={e => e.target.value && props.onChange(e.target.value)}
      >
        {props.placeholder !== undefined && (
          <option value="">{props.placeholder}</option>
        )}
        {props.choices.map(c => (
          <option key={c} value={c}>
            {c}
          </option>
        ))}
      </select>
    </label>
  );
}

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
