/**
 * How the console authorizes its calls. The local stack needs nothing. A deployed API takes SigV4
 * (IAM authorization, the default: the user's access key, kept in this tab only) or, where the
 * deployment configures JWT, a bearer token from the user's identity provider (docs/authorization.md).
 */
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { type Credentials, currentCredentials, request, useCredentials } from './api.js';
import { useSubmit } from './topics.js';
import { ProblemBox } from './ui.js';

export function SettingsPage() {
  const saved = currentCredentials();
  const [kind, setKind] = useState<Credentials['kind']>(saved.kind);
  const [token, setToken] = useState(saved.kind === 'bearer' ? saved.token : '');
  const [region, setRegion] = useState(saved.kind === 'sigv4' ? saved.region : '');
  const [accessKeyId, setAccessKeyId] = useState(saved.kind === 'sigv4' ? saved.accessKeyId : '');
  const [secretAccessKey, setSecretAccessKey] = useState(saved.kind === 'sigv4' ? saved.secretAccessKey : '');
  const [sessionToken, setSessionToken] = useState(saved.kind === 'sigv4' ? (saved.sessionToken ?? '') : '');
  const [checked, setChecked] = useState(false);
  const { busy, error, submit } = useSubmit();
  const input = (setter: (value: string) => void) => (event: Event) =>
    setter((event.target as HTMLInputElement).value);
  const onSubmit = (event: Event) => {
    event.preventDefault();
    setChecked(false);
    void submit(async () => {
      const next: Credentials =
        kind === 'bearer'
          ? { kind, token: token.trim() }
          : kind === 'sigv4'
            ? {
                kind,
                region: region.trim(),
                accessKeyId: accessKeyId.trim(),
                secretAccessKey: secretAccessKey.trim(),
                ...(sessionToken.trim() ? { sessionToken: sessionToken.trim() } : {}),
              }
            : { kind: 'none' };
      useCredentials(next);
      // A call that needs authorization tells at once whether the credentials work.
      await request('GET', '/v1/topics');
      setChecked(true);
    });
  };
  return html`<section aria-labelledby="settings-title">
    <h1 id="settings-title">Sign-in</h1>
    <form class="card form-grid" onSubmit=${onSubmit} aria-label="Credentials">
      <p class="wide hint">The local stack needs none. A deployed Shoal API authorizes every call: with IAM (SigV4,
        signed here in the page) or, where JWT is configured, with a bearer token. Credentials stay in this tab
        (session storage) and go to this API only.</p>
      <label>Authorization
        <select name="kind" value=${kind} onChange=${(e: Event) => setKind((e.target as HTMLSelectElement).value as Credentials['kind'])}>
          <option value="none">none (local stack)</option>
          <option value="sigv4">IAM (SigV4)</option>
          <option value="bearer">JWT bearer token</option>
        </select>
      </label>
      ${kind === 'bearer' ? html`<label class="wide">Token <textarea name="token" rows="3" value=${token} onInput=${input(setToken)}></textarea></label>` : null}
      ${
        kind === 'sigv4'
          ? html`<label>Region <input name="region" placeholder="eu-west-1" value=${region} onInput=${input(setRegion)} /></label>
            <label>Access key id <input name="accessKeyId" autocomplete="off" value=${accessKeyId} onInput=${input(setAccessKeyId)} /></label>
            <label>Secret access key <input name="secretAccessKey" type="password" autocomplete="off" value=${secretAccessKey} onInput=${input(setSecretAccessKey)} /></label>
            <label>Session token (optional) <input name="sessionToken" type="password" autocomplete="off" value=${sessionToken} onInput=${input(setSessionToken)} /></label>`
          : null
      }
      <button type="submit" disabled=${busy}>Save and check</button>
      ${checked ? html`<p class="ok" role="status">The API accepted these credentials.</p>` : null}
      ${error ? html`<${ProblemBox} error=${error} />` : null}
    </form>
  </section>`;
}
