/* The portal's shell: the menu, the language switch, the API key, and the router that shows one
 * page per URL fragment (`#/trademarks`, `#/expert/SET-ID`). Each page is a module under pages/
 * exporting `{id, title, render(view, route)}`; `route.args` holds the path after the page id
 * and `route.params` the fragment's query (`#/patents?q=…`). */

import {
  addStrings, lang, setKey, setLang, status, t, translate,
} from './core.js';
import home from './pages/home.js';
import patents from './pages/patents.js';
import trademarks from './pages/trademarks.js';
import designs from './pages/designs.js';
import chemistry from './pages/chemistry.js';
import sequences from './pages/sequences.js';
import onewindow from './pages/onewindow.js';
import expert from './pages/expert.js';
import filing from './pages/filing.js';
import fees from './pages/fees.js';
import attorneys from './pages/attorneys.js';
import developers from './pages/developers.js';

const PAGES = [home, patents, trademarks, designs, chemistry, sequences, onewindow, expert,
  filing, fees, attorneys, developers];
const BY_ID = new Map(PAGES.map((page) => [page.id, page]));

addStrings({
  en: { dashboardsNav: 'Analytics (BI)' },
  ru: { dashboardsNav: 'Аналитика (BI)' },
});

/** `#/expert/abc?x=1` → {id: 'expert', args: ['abc'], params: URLSearchParams('x=1')}. */
export function parseRoute(hash) {
  const [path, query = ''] = hash.replace(/^#\/?/, '').split('?', 2);
  const [id = '', ...args] = path.split('/').map(decodeURIComponent);
  return { id: id || 'home', args, params: new URLSearchParams(query) };
}

function buildMenu() {
  const list = document.getElementById('nav-links');
  const route = parseRoute(location.hash);
  list.replaceChildren(...PAGES.filter((p) => p.nav !== false).map((page) => {
    const link = document.createElement('a');
    link.href = `#/${page.id === 'home' ? '' : page.id}`;
    link.textContent = t(page.title);
    link.dataset.page = page.id;
    if (page.id === route.id) link.setAttribute('aria-current', 'page');
    const item = document.createElement('li');
    item.append(link);
    return item;
  }));
  const bi = document.createElement('a');
  bi.href = '/bi';
  bi.textContent = t('dashboardsNav');
  const item = document.createElement('li');
  item.append(bi);
  list.append(item);
}

let shown = null;

async function show() {
  const route = parseRoute(location.hash);
  const page = BY_ID.get(route.id);
  const view = document.getElementById('view');
  if (shown && shown.leave) shown.leave();
  shown = page || null;
  buildMenu();
  status('');
  if (!page) {
    view.replaceChildren(Object.assign(document.createElement('p'), { textContent: t('notFoundPage') }));
    return;
  }
  document.title = `${t(page.title)} — ipsim`;
  view.dataset.page = page.id;
  await page.render(view, route);
  // a small screen folds the menu away once a page is chosen
  if (window.matchMedia('(max-width: 40rem)').matches) document.getElementById('nav-menu').open = false;
}

function wireKey() {
  const form = document.getElementById('key-form');
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    setKey(form.key.value);
    form.key.value = '';
    status(t('keySaved'));
    show();
  });
  document.getElementById('key-clear').addEventListener('click', () => {
    setKey('');
    status(t('keyForgotten'));
  });
}

function wireLanguage() {
  for (const button of document.querySelectorAll('[data-lang]')) {
    button.addEventListener('click', () => {
      setLang(button.dataset.lang);
      markLanguage();
      show();
    });
  }
  markLanguage();
}

function markLanguage() {
  for (const button of document.querySelectorAll('[data-lang]')) {
    button.setAttribute('aria-pressed', String(button.dataset.lang === lang()));
  }
}

setLang(lang());
wireKey();
wireLanguage();
translate(document);
window.addEventListener('hashchange', show);
if (!window.matchMedia('(max-width: 40rem)').matches) document.getElementById('nav-menu').open = true;
show();
