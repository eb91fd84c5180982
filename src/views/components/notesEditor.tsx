import * as React from 'react';

import { RunViewModel } from '../runmodel';
import { errorText } from '../../format';

/**
 * A run's notes, saved on demand.
 */
export function NotesEditor(props: { model: RunViewModel }): JSX.Element {
  const { model } = props;
  const saved = model.run!.notes ?? '';
  const [notes, setNotes] = React.useState(saved);
  const [state, setState] = React.useState<string | null>(null);
  React.useEffect(() => setNotes(saved), [saved]);
  return (
    <div className="jp-mm-notes">
      <h3 className="jp-mm-subtitle">
        <label htmlFor={`jp-mm-notes-${model.runId}`}>Notes</label>
      </h3>
      <textarea
        id={`jp-mm-notes-${model.runId}`}
        className="jp-mm-textarea"
        rows={4}
        value={notes}
        onChange={e => setNotes(e.target.value)}
      />
      <div className="jp-mm-notes-actions">
        <button
          className="jp-mm-button jp-mod-styled"
          disabled={notes === saved}
          onClick={() => {
            setState('Saving…');
            model.setNotes(notes).then(
              () => setState('Saved.'),
              e => setState(`Could not save: ${errorText(e)}`)
            );
          }}
        >
          Save notes
        </button>
        {state && <span className="jp-mm-notes-state">{state}</span>}
      </div>
    </div>
  );
}
