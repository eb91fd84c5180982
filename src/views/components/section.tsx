import * as React from 'react';

/**
 * Which sections the user opened or closed, by title: kept across re-mounts of a view (a reload
 * that re-renders it) and shared by the run views, so a section stays as the user left it.
 */
const openSections = new Map<string, boolean>();

/**
 * A titled, collapsible section (a `<details>`, keyboard accessible).
 */
export function Section(props: {
  title: string;
  count?: number;
  collapsed?: boolean;
  children?: React.ReactNode;
}): JSX.Element {
  const [open, setOpenState] = React.useState(
    openSections.get(props.title) ?? !props.collapsed
  );
  const setOpen = (update: (o: boolean) => boolean) =>
    setOpenState(o => {
      const next = update(o);
      openSections.set(props.title, next);
      return next;
    });
  // The state, not the element, decides: with the native toggle, a re-render landing between a
  // click and its (asynchronous) toggle event would put the old state back and close the section.
  // A summary's click also comes from Enter and Space, so the keyboard still works.
  return (
    <details className="jp-mm-section" open={open}>
      <summary
        className="jp-mm-section-title"
        onClick={e => {
          e.preventDefault();
          setOpen(o => !o);
        }}
      >
        {props.title}
        {props.count !== undefined && (
          <span className="jp-mm-count"> ({props.count})</span>
        )}
      </summary>
      {open && <div className="jp-mm-section-body">{props.children}</div>}
    </details>
  );
}
