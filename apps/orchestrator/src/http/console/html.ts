/** Markup that is already safe: only `html` and `raw` make one. */
export class Safe {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const entities: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => entities[c] ?? c);

function render(value: unknown): string {
  if (value instanceof Safe) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === undefined || value === null || value === false) return '';
  return escapeHtml(typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value));
}

/**
 * A template tag that escapes every interpolated value (alert text, evidence, runbook passages
 * all come from outside and must stay inert); nested `html` fragments and arrays of them pass through.
 */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Safe {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += render(value) + (strings[i + 1] ?? '');
  });
  return new Safe(out);
}

const style = `
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:1rem 1.5rem;color:#1d232a}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}th,td{border-bottom:1px solid #dde;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f4f7}code,pre{font:12px ui-monospace,monospace;white-space:pre-wrap;word-break:break-word}
nav{display:flex;gap:1rem;align-items:center;border-bottom:2px solid #1d232a;padding-bottom:.5rem;margin-bottom:1rem}
.notice{background:#eef6ee;border-left:4px solid #1a7f37;padding:.4rem .8rem}.problem{background:#fbeeee;border-left:4px solid #a40000;padding:.4rem .8rem}
.approval{border:2px solid #9a6700;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}.approval button{margin-right:.5rem}
.stage{font-weight:600;padding:.1rem .4rem;border-radius:3px;background:#e8ecf5}.muted{color:#667}.error{color:#a40000;font-weight:600}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dt{font-weight:600}dd{margin:0}
`;

export interface PageOptions {
  title: string;
  body: Safe;
  /** For pages that follow changes: where /console/live.js asks for the version, and the version shown. */
  live?: { url: string; version: string };
  signedIn?: boolean;
}

export function page(options: PageOptions): string {
  return `<!doctype html>${html`<html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      ${
        options.live
          ? html`<meta name="vigil-live" content="${options.live.url}" data-version="${options.live.version}" />
              <script src="/console/live.js" defer></script>`
          : ''
      }
      <title>${options.title} · Vigil</title>
      <style>
        ${new Safe(style)}
      </style>
    </head>
    <body>
      <nav>
        <strong>Vigil</strong>${
          options.signedIn
            ? html`<a href="/console">Incidents</a>
                ${options.live ? html`<span id="live" class="muted" role="status"></span>` : ''}
                <form method="post" action="/console/logout" style="margin-left:auto"><button>Sign out</button></form>`
            : ''
        }
      </nav>
      ${options.body}
    </body>
  </html>`}`;
}
