import { compareTabLabel, reusableView, runTabLabel } from '../views/tabs';

const A = 'a'.repeat(32);
const B = 'b'.repeat(32);
const C = 'c'.repeat(32);

describe('run view tabs', () => {
  it('are titled with the run name, the short id telling clashes apart', () => {
    const tuned = { id: A, name: 'tuned' };
    const other = { id: B, name: 'tuned' };
    expect(runTabLabel(tuned)).toBe('tuned');
    expect(runTabLabel(tuned, [tuned, { id: C, name: 'wide' }])).toBe('tuned');
    expect(runTabLabel(tuned, [tuned, other])).toBe('tuned · aaaaaaaa');
    expect(runTabLabel({ id: C, name: '' })).toBe('cccccccc');
    expect(runTabLabel({ id: C })).toBe('cccccccc');
  });

  it('title compare views with the names of their runs', () => {
    expect(
      compareTabLabel([
        { id: A, name: 'tuned' },
        { id: B, name: 'wide' }
      ])
    ).toBe('Compare: tuned, wide');
    expect(
      compareTabLabel([
        { id: A, name: 'same' },
        { id: B, name: 'same' }
      ])
    ).toBe('Compare: same · aaaaaaaa, same · bbbbbbbb');
  });

  it('reuse the unpinned view, never a pinned one', () => {
    const pinned = new Set(['one']);
    const isPinned = (v: string) => pinned.has(v);
    expect(reusableView(['one', 'two'], isPinned)).toBe('two');
    expect(reusableView(['one'], isPinned)).toBeNull();
    expect(reusableView([], isPinned)).toBeNull();
  });
});
