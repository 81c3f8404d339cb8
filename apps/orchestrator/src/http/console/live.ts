/**
 * Live updates for the console, served as /console/live.js (the pages' CSP allows scripts from
 * the console itself only, none inline). A page names what it shows in
 * `<meta name="vigil-live" content="URL" data-version="V">`; the script asks URL for the current
 * version every couple of seconds and reloads the page when it changed. Polling rather than a
 * push channel: every copy of the orchestrator can answer it from the database, and a lost
 * connection needs no bookkeeping. It never reloads over a reason being typed: it says so instead.
 */
export const liveScript = `'use strict';
(() => {
  const meta = document.querySelector('meta[name="vigil-live"]');
  const banner = document.getElementById('live');
  if (!meta || !banner) return;
  const source = meta.getAttribute('content');
  const seen = meta.getAttribute('data-version');
  const every = Number(meta.getAttribute('data-interval-ms')) || 2000;
  const typing = () => [...document.querySelectorAll('input[type=text], textarea')].some((e) => e.value !== '' || e === document.activeElement);
  const say = (text) => { banner.textContent = text; };
  say('Live: this page follows changes.');
  async function poll() {
    try {
      const res = await fetch(source, { cache: 'no-store', credentials: 'same-origin', headers: { accept: 'text/plain' } });
      if (res.redirected || res.status === 401) return location.reload();
      if (res.ok && (await res.text()).trim() !== seen) {
        if (!typing()) return location.reload();
        say('This changed while you were typing: reload to see it.');
      } else if (res.ok) say('Live: this page follows changes.');
      else say('Live updates paused: the console answered ' + res.status + '.');
    } catch {
      say('Live updates paused: the console cannot be reached.');
    }
    setTimeout(poll, every);
  }
  setTimeout(poll, every);
})();
`;
