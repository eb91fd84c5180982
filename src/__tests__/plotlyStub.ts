/**
 * A recording stand-in for plotly.js (jsdom cannot draw it), for
 * `jest.mock('plotly.js-dist-min', () => jest.requireActual('./plotlyStub').plotlyStub)`:
 * every draw is kept in `drawn`, and each node's `plotly_relayout` handler in
 * `relayoutHandlers`, so a spec can zoom as a user would.
 */

export const drawn: Array<{ node: any; data: any[]; layout: any }> = [];

export const relayoutHandlers = new Map<any, (event: any) => void>();

export const plotlyStub = {
  react: (node: any, data: any[], layout: any): Promise<any> => {
    drawn.push({ node, data, layout });
    node.on = (name: string, handler: (event: any) => void) => {
      if (name === 'plotly_relayout') {
        relayoutHandlers.set(node, handler);
      }
    };
    return Promise.resolve(node);
  },
  purge: (): void => undefined,
  Plots: { resize: (): void => undefined }
};
