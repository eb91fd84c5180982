/**
 * The figures' shared layout and pickers (`views/figure.tsx`).
 */
import * as React from 'react';
import { act } from 'react';
import { FigureChoice, figureLayout } from '../views/figure';
import { mountRoot, unmountRoot } from './utils';

describe('figureLayout', () => {
  it('sizes the figure, escapes titles and keeps the theme on the axes', () => {
    const layout = figureLayout({
      height: 200,
      margin: { l: 1, r: 2, t: 3, b: 4 },
      title: '<b>auc</b> over time',
      x: { title: 'lr & <i>', type: 'category' },
      y: {}
    }) as any;
    expect(layout.height).toBe(200);
    expect(layout.margin).toEqual({ l: 1, r: 2, t: 3, b: 4 });
    expect(layout.title).toEqual({ text: '&lt;b&gt;auc&lt;/b&gt; over time' });
    expect(layout.xaxis.title).toEqual({ text: 'lr &amp; &lt;i&gt;' });
    expect(layout.xaxis.type).toBe('category');
    // The theme's grid colours, and nothing the caller did not ask for.
    expect(layout.xaxis.gridcolor).toBeTruthy();
    expect(layout.yaxis.gridcolor).toBe(layout.xaxis.gridcolor);
    expect('title' in layout.yaxis).toBe(false);
    expect('type' in layout.yaxis).toBe(false);
    expect(
      'title' in (figureLayout({ height: 1, margin: layout.margin }) as any)
    ).toBe(false);
  });
});

describe('FigureChoice', () => {
  it('offers the choices as text and reports the one picked', () => {
    const { host, root } = mountRoot();
    const picked: string[] = [];
    act(() =>
      root.render(
        <FigureChoice
          label="param"
          className="jp-mm-x"
          value="b"
          choices={['a', '<b>']}
          onChange={v => picked.push(v)}
        />
      )
    );
    const select = host.querySelector('select')!;
    expect(select.className).toBe('jp-mm-select jp-mm-x');
    expect(host.querySelector('label')!.textContent).toMatch(/^param /);
    const options = [...select.querySelectorAll('option')];
    expect(options.map(o => o.textContent)).toEqual(['a', '<b>']);
    expect(host.querySelector('b')).toBeNull();
    act(() => {
      select.value = '<b>';
      select.dispatchEvent(new Event('change', { bubbles: true }));
    });
    expect(picked).toEqual(['<b>']);
    unmountRoot(host, root);
  });
});
