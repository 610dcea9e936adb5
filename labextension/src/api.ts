/**
 * The server extension's REST endpoints ({base_url}nbshare/api/..., docs/jupyter.md).
 * ServerConnection adds Jupyter's token and XSRF header; nothing here stores a secret.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

export interface ILifetime {
  value: string;
  label: string;
}

export interface ILimits {
  max_upload_bytes: number;
  lifetimes: ILifetime[];
  default_expiry: string;
  max_expiry: string;
}

export interface IEarlier {
  id: string;
  url: string;
  title: string;
  created_at: string;
  version: number | null;
}

export interface IDefaults {
  expires: string | null;
  max_views: number | null;
  password: boolean;
}

export interface IInfo {
  server: string;
  defaults: IDefaults;
  limits: ILimits | null;
  earlier: IEarlier | null;
  error: string | null;
}

export interface IShareRequest {
  paths: string[];
  password?: string;
  expires?: string;
  max_views?: number;
  update?: boolean;
  progress_id?: string;
}

export interface IShare {
  id: string;
  url: string;
  manage_url: string;
  version: number;
  title: string;
  expires_at: string | null;
  max_views: number | null;
  protected: boolean;
  updated: boolean;
  server: string;
}

export interface IProgress {
  state: 'reading' | 'uploading' | 'rendering' | 'done' | 'unknown';
  sent: number;
  total: number;
}

/** An answer's message, as the server extension words it, or what went wrong on the way. */
async function request<T>(path: string, init: RequestInit = {}): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, 'nbshare', path);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new Error(`The Jupyter server could not be reached: ${error}`);
  }
  const text = await response.text();
  let body: any = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!response.ok) {
    const message =
      body && typeof body.message === 'string' && body.message
        ? body.message
        : response.status === 404
          ? 'The nbshare server extension is not enabled in this Jupyter server (jupyter server extension list).'
          : `The Jupyter server answered ${response.status} ${response.statusText}.`;
    throw new Error(message);
  }
  return body as T;
}

export function info(paths: string[]): Promise<IInfo> {
  const query = paths.map(p => `path=${encodeURIComponent(p)}`).join('&');
  return request<IInfo>(`api/info?${query}`);
}

export function publish(share: IShareRequest): Promise<IShare> {
  return request<IShare>('api/publish', {
    method: 'POST',
    body: JSON.stringify(share)
  });
}

export function progress(id: string): Promise<IProgress> {
  return request<IProgress>(`api/progress/${id}`);
}

/** The manage link goes through Jupyter, which redirects to it: the token is not in the page. */
export function absolute(link: string): string {
  return new URL(link, window.location.href).href;
}

export function newProgressId(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, b => b.toString(16).padStart(2, '0')).join('');
}

/**
 * A link from an nbshare server's answer, only if it is http(s): a hostile server must not
 * make the dialog run a javascript: URL when the user clicks it.
 */
export function webLink(link: string): string {
  try {
    const url = new URL(link);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : '#';
  } catch {
    return '#';
  }
}
