// Building blocks every page uses: a titled page, labelled fields, error and status banners,
// buttons that show progress, a confirmation dialog, a copy button and the shown-once secret.

import type { Timestamp } from '@bufbuild/protobuf/wkt';
import { type InputHTMLAttributes, type ReactNode, type SelectHTMLAttributes, useEffect, useId, useRef, useState } from 'react';
import { fieldMessage, fieldOf, messageOf, norm } from './api.js';

export function Page({ title, children, intro }: { title: string; intro?: ReactNode; children: ReactNode }) {
  const h1 = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${title} · Latchkey`;
    h1.current?.focus(); // a route change is announced like a page load
  }, [title]);
  return (
    <>
      <h1 ref={h1} tabIndex={-1}>
        {title}
      </h1>
      {intro && <p className="intro">{intro}</p>}
      {children}
    </>
  );
}

/** Splits an API error: the part for a field this form shows, or a banner for the rest. */
export function errorsOf(error: unknown, fields: string[]): { field: (name: string) => string | undefined; banner?: string } {
  if (!error) return { field: () => undefined };
  const f = fieldOf(error);
  const shown = f && fields.some((n) => norm(n) === f);
  return { field: (name) => (shown && norm(name) === f ? fieldMessage(error) : undefined), banner: shown ? undefined : messageOf(error) };
}

type FieldProps = { label: string; hint?: ReactNode; error?: string } & InputHTMLAttributes<HTMLInputElement>;

export function Field({ label, hint, error, ...input }: FieldProps) {
  const id = useId();
  const described = [hint && `${id}-hint`, error && `${id}-error`].filter(Boolean).join(' ') || undefined;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {hint && (
        <p id={`${id}-hint`} className="hint">
          {hint}
        </p>
      )}
      <input id={id} aria-invalid={error ? true : undefined} aria-describedby={described} {...input} />
      {error && (
        <p id={`${id}-error`} className="field-error">
          {error}
        </p>
      )}
    </div>
  );
}

export function SelectField({ label, error, children, ...select }: { label: string; error?: string; children: ReactNode } & SelectHTMLAttributes<HTMLSelectElement>) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} aria-invalid={error ? true : undefined} aria-describedby={error ? `${id}-error` : undefined} {...select}>
        {children}
      </select>
      {error && (
        <p id={`${id}-error`} className="field-error">
          {error}
        </p>
      )}
    </div>
  );
}

export function Banner({ kind = 'error', children }: { kind?: 'error' | 'info' | 'success'; children: ReactNode }) {
  if (!children) return null;
  return (
    <div className={`banner banner-${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {children}
    </div>
  );
}

export function ErrorBanner({ error }: { error: unknown }) {
  return error ? <Banner>{messageOf(error)}</Banner> : null;
}

export function Button({
  busy,
  busyLabel,
  children,
  kind = 'primary',
  ...rest
}: { busy?: boolean; busyLabel?: string; kind?: 'primary' | 'secondary' | 'danger' } & React.ButtonHTMLAttributes<HTMLButtonElement>) {
  return (
    <button className={`btn btn-${kind}`} disabled={busy || rest.disabled} aria-busy={busy || undefined} {...rest}>
      {busy ? (busyLabel ?? 'Working…') : children}
    </button>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="loading" role="status">
      Loading {what}…
    </p>
  );
}

/** A button that asks first, in a modal dialog (focus is kept inside; Escape cancels). */
export function Confirm({
  label,
  title,
  confirmLabel,
  onConfirm,
  busy,
  kind = 'danger',
  children,
  small,
}: {
  label: string;
  title: string;
  confirmLabel: string;
  onConfirm: () => Promise<unknown> | void;
  busy?: boolean;
  kind?: 'danger' | 'primary' | 'secondary';
  children?: ReactNode;
  small?: boolean;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const [error, setError] = useState<unknown>();
  return (
    <>
      <button type="button" className={`btn btn-${kind === 'danger' ? 'danger-outline' : 'secondary'}${small ? ' btn-small' : ''}`} onClick={() => (setError(undefined), dialog.current?.showModal())}>
        {label}
      </button>
      <dialog ref={dialog} aria-labelledby={titleId}>
        <form
          method="dialog"
          onSubmit={async (e) => {
            e.preventDefault();
            try {
              await onConfirm();
              dialog.current?.close();
            } catch (err) {
              setError(err);
            }
          }}
        >
          <h2 id={titleId}>{title}</h2>
          {children}
          <ErrorBanner error={error} />
          <div className="actions">
            <Button kind={kind} type="submit" busy={busy}>
              {confirmLabel}
            </Button>
            <button type="button" className="btn btn-secondary" onClick={() => dialog.current?.close()}>
              Cancel
            </button>
          </div>
        </form>
      </dialog>
    </>
  );
}

export function CopyButton({ value, what }: { value: string; what: string }) {
  const [state, setState] = useState<'' | 'copied' | 'failed'>('');
  return (
    <>
      <button
        type="button"
        className="btn btn-secondary btn-small"
        onClick={() =>
          navigator.clipboard?.writeText(value).then(
            () => setState('copied'),
            () => setState('failed'),
          ) ?? setState('failed')
        }
      >
        Copy {what}
      </button>
      <span className="copy-status" role="status">
        {state === 'copied' ? 'Copied' : state === 'failed' ? 'Copy failed: select the text and copy it' : ''}
      </span>
    </>
  );
}

/** A secret that Latchkey will never show again: visible once, with a copy button. */
export function SecretOnce({ secret, title, onDone }: { secret: string; title: string; onDone: () => void }) {
  const id = useId();
  const box = useRef<HTMLElement>(null);
  // biome-ignore lint/correctness/useExhaustiveDependencies: focus the box again whenever a new secret is shown
  useEffect(() => box.current?.focus(), [secret]);
  return (
    <section className="secret" aria-labelledby={id} ref={box} tabIndex={-1}>
      <h2 id={id}>{title}</h2>
      <p className="warning">
        <strong>Copy this key now.</strong> Latchkey stores only its hash: you will not be able to see it again. Keep it out of source control and client-side code.
      </p>
      <div className="field">
        <label htmlFor={`${id}-value`}>Secret key</label>
        <input id={`${id}-value`} className="mono" readOnly value={secret} onFocus={(e) => e.currentTarget.select()} />
      </div>
      <div className="actions">
        <CopyButton value={secret} what="key" />
        <button type="button" className="btn btn-primary" onClick={onDone}>
          I have stored it
        </button>
      </div>
    </section>
  );
}

export function fmt(t: Timestamp | undefined, empty = '—'): string {
  if (!t) return empty;
  return new Date(Number(t.seconds) * 1000).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function Kv({ items }: { items: [string, ReactNode][] }) {
  return (
    <dl className="kv">
      {items.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}
