import * as React from 'react';

import { isSystemTag, RunViewModel } from '../runmodel';
import { KeyValueTable } from './keyValueTable';
import { errorText } from '../../format';

/**
 * A run's user tags, editable (add, remove); the tracking's own tags are listed apart, read-only.
 */
export function TagEditor(props: { model: RunViewModel }): JSX.Element {
  const { model } = props;
  const tags = model.run!.tags;
  const [key, setKey] = React.useState('');
  const [value, setValue] = React.useState('');
  const [error, setError] = React.useState<string | null>(null);
  const userKeys = Object.keys(tags)
    .filter(k => !isSystemTag(k))
    .sort();
  const systemKeys = Object.keys(tags).filter(isSystemTag).sort();
  const act = async (work: () => Promise<void>) => {
    try {
      await work();
      setError(null);
    } catch (e) {
      setError(errorText(e));
    }
  };
  /** The new tag's key or value box. */
  const field = (part: string, text: string, set: (text: string) => void) => (
    <input
      className="jp-mm-input"
      aria-label={`New tag ${part}`}
      placeholder={part}
      value={text}
      onChange={e => set(e.target.value)}
    />
  );
  return (
    <div className="jp-mm-tags">
      <h3 className="jp-mm-subtitle">Tags</h3>
      {userKeys.length === 0 && <p className="jp-mm-empty">No tags.</p>}
      <ul className="jp-mm-taglist">
        {userKeys.map(k => (
          <li key={k} className="jp-mm-tag">
            <span className="jp-mm-tag-key">{k}</span>
            {tags[k] !== '' && (
              <span className="jp-mm-tag-value">{tags[k]}</span>
            )}
            <button
              className="jp-mm-icon-button"
              aria-label={`Remove tag ${k}`}
              title={`Remove tag ${k}`}
              onClick={() => void act(() => model.removeTag(k))}
            >
              ×
            </button>
          </li>
        ))}
      </ul>
      <form
        className="jp-mm-tag-form"
        onSubmit={e => {
          e.preventDefault();
          const k = key.trim();
          if (!k) {
            return;
          }
          void act(async () => {
            await model.setTag(k, value);
            setKey('');
            setValue('');
          });
        }}
      >
        {field('key', key, setKey)}
        {field('value', value, setValue)}
        <button
          type="submit"
          className="jp-mm-button jp-mod-styled"
          disabled={!key.trim()}
        >
          Add tag
        </button>
      </form>
      {error && (
        <p className="jp-mm-error" role="alert">
          {error}
        </p>
      )}
      {systemKeys.length > 0 && (
        <details className="jp-mm-system-tags">
          <summary>System tags ({systemKeys.length})</summary>
          <KeyValueTable values={pick(tags, systemKeys)} empty="" />
        </details>
      )}
    </div>
  );
}

function pick(
  values: Record<string, string>,
  keys: string[]
): Record<string, string> {
  const out: Record<string, string> = {};
  keys.forEach(k => (out[k] = values[k]));
  return out;
}
