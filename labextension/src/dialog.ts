/**
 * The Share dialog: a form (server, update, password, lifetime, max views), then the
 * upload's progress, then the link with a Copy button and the manage link, or the error.
 */
import { Clipboard, Dialog, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import * as api from './api';

const POLL_MS = 400;

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string> = {},
  text?: string
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    node.setAttribute(name, value);
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

function field(label: string, input: HTMLElement, hint?: string): HTMLElement {
  const row = element('label', { class: 'nbshare-field' });
  row.append(element('span', { class: 'nbshare-label' }, label), input);
  if (hint) {
    row.append(element('span', { class: 'nbshare-hint' }, hint));
  }
  return row;
}

function size(bytes: number): string {
  if (bytes < 1024 * 1024) {
    return `${Math.max(1, Math.round(bytes / 1024))} kB`;
  }
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

export interface IFormValue {
  password: string;
  expires: string;
  maxViews: string;
  update: boolean;
}

/** The form: what to share with, shown before anything is sent. */
class ShareForm extends Widget implements Dialog.IBodyWidget<IFormValue> {
  constructor(what: string, about: api.IInfo) {
    super();
    this.addClass('nbshare-dialog');
    const node = this.node;
    node.append(element('p', { class: 'nbshare-what' }, what));
    const server = element('a', { href: api.webLink(about.server), target: '_blank', rel: 'noopener' }, about.server);
    const serverRow = element('p', { class: 'nbshare-server' }, 'nbshare server: ');
    serverRow.append(server);
    node.append(serverRow);

    this._update = element('input', { type: 'checkbox', name: 'update' });
    if (about.earlier) {
      this._update.checked = true;
      const row = element('label', { class: 'nbshare-update' });
      const link = element('a', { href: api.webLink(about.earlier.url), target: '_blank', rel: 'noopener' }, about.earlier.url);
      const text = element('span', {}, 'Update the existing share (same link, new version): ');
      text.append(link);
      row.append(this._update, text);
      node.append(row);
    }

    this._password = element('input', {
      type: 'password',
      name: 'password',
      autocomplete: 'new-password',
      placeholder: 'none'
    });
    node.append(
      field(
        'Password',
        this._password,
        about.defaults.password
          ? 'Your nbshare settings ask for one: readers must type it.'
          : 'Optional: readers must type it.'
      )
    );

    this._expires = element('select', { name: 'expires' });
    const limits = about.limits;
    // Left at its first choice, the lifetime is the user's default (config), else the server's.
    const fallback = about.defaults.expires
      ? `Your default (${about.defaults.expires})`
      : `Server default (${limits ? limits.default_expiry : 'never'})`;
    this._expires.append(element('option', { value: '' }, fallback));
    for (const lifetime of limits ? limits.lifetimes : []) {
      this._expires.append(element('option', { value: lifetime.value }, lifetime.label));
    }
    node.append(field('Lifetime', this._expires));

    this._maxViews = element('input', { type: 'number', name: 'max_views', min: '1', placeholder: 'no limit' });
    if (about.defaults.max_views) {
      this._maxViews.value = String(about.defaults.max_views);
    }
    node.append(field('Max views', this._maxViews, 'Delete the share after this many views.'));
    if (limits) {
      node.append(element('p', { class: 'nbshare-hint' }, `Uploads up to ${size(limits.max_upload_bytes)}.`));
    }
  }

  getValue(): IFormValue {
    return {
      password: this._password.value,
      expires: this._expires.value,
      maxViews: this._maxViews.value.trim(),
      update: this._update.checked
    };
  }

  private _password: HTMLInputElement;
  private _expires: HTMLSelectElement;
  private _maxViews: HTMLInputElement;
  private _update: HTMLInputElement;
}

/** What happens after Share: progress, then the link or the error, in words. */
class ShareResult extends Widget {
  constructor() {
    super();
    this.addClass('nbshare-dialog');
    this.addClass('nbshare-result');
    this._status = element('p', { class: 'nbshare-status', role: 'status' }, 'Saving…');
    this._bar = element('progress', { class: 'nbshare-progress' });
    this.node.append(this._status, this._bar);
  }

  status(text: string, done?: number, total?: number): void {
    this._status.textContent = text;
    if (done !== undefined && total) {
      this._bar.max = total;
      this._bar.value = Math.min(done, total);
    } else {
      this._bar.removeAttribute('value'); // indeterminate
    }
  }

  failed(message: string): void {
    this._bar.remove();
    this._status.remove();
    this.node.append(element('p', { class: 'nbshare-error', role: 'alert' }, message));
  }

  shared(share: api.IShare): void {
    this._bar.remove();
    this._status.textContent = share.updated
      ? `Updated: version ${share.version}, same link.`
      : 'Shared. Anyone with this link can open it:';
    const row = element('div', { class: 'nbshare-link-row' });
    const link = element('input', { class: 'nbshare-link', readonly: '', value: share.url });
    link.value = share.url;
    const copy = element('button', { class: 'jp-mod-styled jp-mod-accept nbshare-copy', type: 'button' }, 'Copy');
    copy.addEventListener('click', () => {
      Clipboard.copyToSystem(share.url);
      copy.textContent = 'Copied';
    });
    const open = element('a', { href: api.webLink(share.url), target: '_blank', rel: 'noopener', class: 'nbshare-open' }, 'Open');
    row.append(link, copy, open);
    this.node.append(row);
    const facts: string[] = [];
    if (share.protected) {
      facts.push('Protected by a password.');
    }
    if (share.expires_at) {
      facts.push(`Expires ${new Date(share.expires_at).toLocaleString()}.`);
    }
    if (share.max_views) {
      facts.push(`Deleted after ${share.max_views} view${share.max_views === 1 ? '' : 's'}.`);
    }
    if (facts.length) {
      this.node.append(element('p', { class: 'nbshare-facts' }, facts.join(' ')));
    }
    const manage = element('p', { class: 'nbshare-manage' });
    manage.append(
      element(
        'a',
        { href: api.absolute(share.manage_url), target: '_blank', rel: 'noopener noreferrer' },
        'Manage this share'
      ),
      element('span', {}, ' (change or delete it; the link is in your nbshare history: nbshare list)')
    );
    this.node.append(manage);
  }

  private _status: HTMLElement;
  private _bar: HTMLProgressElement;
}

/**
 * Ask, then share `paths` (Jupyter paths). `save` runs first, so the share holds what the
 * user sees; `what` names the files for a person.
 */
export async function share(what: string, paths: string[], save: () => Promise<void>): Promise<void> {
  let about: api.IInfo;
  try {
    about = await api.info(paths);
  } catch (error) {
    await failure((error as Error).message);
    return;
  }
  if (about.error) {
    await failure(about.error);
    return;
  }
  const form = await showDialog({
    title: 'Share with nbshare',
    body: new ShareForm(what, about),
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Share' })],
    focusNodeSelector: 'input[name=password]'
  });
  if (!form.button.accept || !form.value) {
    return;
  }
  const result = new ShareResult();
  const dialog = showDialog({
    title: 'Share with nbshare',
    body: result,
    buttons: [Dialog.okButton({ label: 'Close' })]
  });
  await send(form.value, paths, save, result);
  await dialog;
}

async function send(value: IFormValue, paths: string[], save: () => Promise<void>, result: ShareResult) {
  const progressId = api.newProgressId();
  let polling = true;
  try {
    result.status('Saving…');
    await save();
    const request: api.IShareRequest = { paths, update: value.update, progress_id: progressId };
    if (value.password) {
      request.password = value.password;
    }
    if (value.expires) {
      request.expires = value.expires;
    }
    if (value.maxViews) {
      const n = Number(value.maxViews);
      if (!Number.isInteger(n) || n < 1) {
        throw new Error('Max views must be a whole number, 1 or more.');
      }
      request.max_views = n;
    }
    result.status('Reading the files…');
    const answer = api.publish(request);
    void poll(() => polling, progressId, result);
    result.shared(await answer);
  } catch (error) {
    result.failed((error as Error).message);
  } finally {
    polling = false;
  }
}

async function poll(going: () => boolean, id: string, result: ShareResult): Promise<void> {
  while (going()) {
    await new Promise(resolve => setTimeout(resolve, POLL_MS));
    if (!going()) {
      return;
    }
    let now: api.IProgress;
    try {
      now = await api.progress(id);
    } catch {
      return; // progress is a courtesy: the share's own answer still comes
    }
    if (!going()) {
      return;
    }
    if (now.state === 'uploading') {
      result.status(`Uploading… ${size(now.sent)} of ${size(now.total)}`, now.sent, now.total);
    } else if (now.state === 'rendering') {
      result.status('Rendering on the nbshare server…');
    }
  }
}

async function failure(message: string): Promise<void> {
  const body = new Widget();
  body.addClass('nbshare-dialog');
  body.node.append(element('p', { class: 'nbshare-error', role: 'alert' }, message));
  await showDialog({
    title: 'Share with nbshare',
    body,
    buttons: [Dialog.okButton({ label: 'Close' })]
  });
}
