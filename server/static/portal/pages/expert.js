/* Expert mode: result sets (`/v1/result-sets`): a search and its hits saved under a random id
 * that is the link an examiner forwards, with tags and comments on the set and on each hit.
 *
 * `saveBar(getContext)` is the control every result list shows above its hits; this page lists
 * the sets (`#/expert?tag=…`) and shows one shared set (`#/expert/<id>`).
 */

import {
  addStrings, api, ApiError, clearErrors, el, number, pager, score, section, showError, status, t,
} from '../core.js';

addStrings({
  en: {
    expertTitle: 'Expert mode',
    exSaveLegend: 'Save these hits as a result set',
    exName: 'Name',
    exTags: 'Tags',
    exTagsHelp: 'Separated by commas.',
    exComment: 'Comment',
    exSave: 'Save as result set',
    exSaving: 'Saving…',
    exSaved: 'Saved: {n} hits. Forward this link:',
    exShareLink: 'Share link',
    exCopy: 'Copy link',
    exCopied: 'Link copied to the clipboard.',
    exCopySelected: 'The link is selected: press Ctrl+C to copy it.',
    exOpenSet: 'Open the result set',
    exLead: 'Result sets: saved searches with their hits, tags and comments, shared by a link.',
    exFilterTag: 'Tag',
    exFilter: 'Show',
    exAll: 'All sets',
    exNoSets: 'No result sets yet: save hits from a search page (for example the one-window search).',
    exNoSetsTag: 'No result set has the tag “{tag}”.',
    exColName: 'Name',
    exColOwner: 'Owner',
    exColHits: 'Hits',
    exColTags: 'Tags',
    exColCreated: 'Created',
    exColUpdated: 'Updated',
    exUnnamed: '(unnamed)',
    exNotFound: 'There is no result set with the id “{id}”. The link may be mistyped, or the set was deleted.',
    exBackToList: 'All result sets',
    exOwner: 'Owner',
    exCreated: 'Created',
    exUpdated: 'Updated',
    exSearch: 'Search',
    exCollections: 'Collections',
    exQuery: 'Query',
    exOptions: 'Options',
    exRerun: 'Run this search again',
    exSetTags: 'Tags of the set',
    exNoTags: 'No tags.',
    exAddTag: 'Add a tag',
    exAdd: 'Add',
    exRemoveTag: 'Remove the tag {tag}',
    exComments: 'Comments',
    exNoComments: 'No comments.',
    exAddComment: 'Add a comment',
    exPost: 'Post comment',
    exHits: 'Hits ({n})',
    exNoHits: 'This set holds no hits.',
    exHitTag: 'Tag for {key}',
    exHitComment: 'Comment on {key}',
    exRemoveHit: 'Remove from the set',
    exRemoveHitLabel: 'Remove {key} from the set',
    exUpdatedNote: 'Saved.',
    exBy: '{author}, {date}',
  },
  ru: {
    expertTitle: 'Экспертный режим',
    exSaveLegend: 'Сохранить эти результаты как подборку',
    exName: 'Название',
    exTags: 'Метки',
    exTagsHelp: 'Через запятую.',
    exComment: 'Комментарий',
    exSave: 'Сохранить подборку',
    exSaving: 'Сохранение…',
    exSaved: 'Сохранено результатов: {n}. Перешлите эту ссылку:',
    exShareLink: 'Ссылка для пересылки',
    exCopy: 'Копировать ссылку',
    exCopied: 'Ссылка скопирована в буфер обмена.',
    exCopySelected: 'Ссылка выделена: нажмите Ctrl+C, чтобы скопировать её.',
    exOpenSet: 'Открыть подборку',
    exLead: 'Подборки: сохранённые поиски с результатами, метками и комментариями, доступные по ссылке.',
    exFilterTag: 'Метка',
    exFilter: 'Показать',
    exAll: 'Все подборки',
    exNoSets: 'Подборок пока нет: сохраните результаты на странице поиска (например, в едином окне).',
    exNoSetsTag: 'Нет подборок с меткой «{tag}».',
    exColName: 'Название',
    exColOwner: 'Владелец',
    exColHits: 'Результатов',
    exColTags: 'Метки',
    exColCreated: 'Создана',
    exColUpdated: 'Изменена',
    exUnnamed: '(без названия)',
    exNotFound: 'Подборки с идентификатором «{id}» нет. Возможно, ссылка искажена или подборка удалена.',
    exBackToList: 'Все подборки',
    exOwner: 'Владелец',
    exCreated: 'Создана',
    exUpdated: 'Изменена',
    exSearch: 'Поиск',
    exCollections: 'Коллекции',
    exQuery: 'Запрос',
    exOptions: 'Параметры',
    exRerun: 'Повторить этот поиск',
    exSetTags: 'Метки подборки',
    exNoTags: 'Меток нет.',
    exAddTag: 'Добавить метку',
    exAdd: 'Добавить',
    exRemoveTag: 'Удалить метку {tag}',
    exComments: 'Комментарии',
    exNoComments: 'Комментариев нет.',
    exAddComment: 'Добавить комментарий',
    exPost: 'Отправить комментарий',
    exHits: 'Результаты ({n})',
    exNoHits: 'В подборке нет результатов.',
    exHitTag: 'Метка для {key}',
    exHitComment: 'Комментарий к {key}',
    exRemoveHit: 'Убрать из подборки',
    exRemoveHitLabel: 'Убрать {key} из подборки',
    exUpdatedNote: 'Сохранено.',
    exBy: '{author}, {date}',
  },
});

const PAGE_SIZE = 50;
/** The page that searches each modality (a saved search of one collection runs again there). */
const PAGE_OF_MODALITY = {
  text: 'patents', trademark: 'trademarks', mesh: 'designs', chemical: 'chemistry', sequence: 'sequences',
};
const SIMPLE_QUERY_KEYS = ['text', 'word', 'smiles', 'sequence'];

let uid = 0;
let generation = 0;

/** The link to forward: this portal's page of the set (the API's `link` is the API route). */
export const shareUrl = (id) => `${location.origin}/#/expert/${encodeURIComponent(id)}`;

const splitTags = (text) => text.split(',').map((s) => s.trim()).filter(Boolean);

const when = (iso) => {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleString(document.documentElement.lang || 'en');
};

/** A read-only share link, a copy button that says what it did, and a link to open it. */
function shareControl(id, prefix) {
  const url = shareUrl(id);
  const input = el('input', {
    id: `${prefix}-share`, class: 'ex-share-url', type: 'text', readonly: true, value: url,
    'data-set-id': id,
  });
  const note = el('p', { class: 'ex-copy-note', role: 'status' });
  const copy = async () => {
    let copied = false;
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(url);
        copied = true;
      }
    } catch (_) { /* no permission: select the text instead */ }
    if (!copied) {
      input.focus();
      input.select();
      try { copied = document.execCommand('copy'); } catch (_) { copied = false; }
    }
    note.textContent = copied ? t('exCopied') : t('exCopySelected');
  };
  return el('div', { class: 'ex-share' },
    el('div', { class: 'field' }, el('label', { for: input.id, text: t('exShareLink') }), input),
    el('div', { class: 'row' },
      el('button', { type: 'button', class: 'ex-copy', onclick: copy, text: t('exCopy') }),
      el('a', { class: 'ex-open', href: `#/expert/${encodeURIComponent(id)}`, text: t('exOpenSet') })),
    note);
}

/** A control that saves the hits a page shows as a result set (see the expert page).
 * `getContext()` → {search: {...the request sent...}, hits: [{collection, id, score}]}. */
export function saveBar(getContext) {
  const n = ++uid;
  const p = `ex-save-${n}`;
  const name = el('input', { id: `${p}-name`, name: 'name', type: 'text', maxlength: '200', 'data-field': 'name' });
  const tags = el('input', { id: `${p}-tags`, name: 'tags', type: 'text', 'data-field': 'tags' });
  const comment = el('input', { id: `${p}-comment`, name: 'comment', type: 'text', 'data-field': 'comment' });
  const button = el('button', { type: 'submit', class: 'ex-save', text: t('exSave') });
  const out = el('div', { class: 'ex-saved', 'aria-live': 'polite' });
  const tagHelp = el('small', { id: `${p}-tags-help`, class: 'help', text: t('exTagsHelp') });
  tags.setAttribute('aria-describedby', tagHelp.id);
  const form = el('form', { class: 'expert-bar ex-save-form', 'aria-label': t('exSaveLegend') },
    el('div', { class: 'field' }, el('label', { for: name.id, text: t('exName') }), name),
    el('div', { class: 'field' }, el('label', { for: tags.id, text: t('exTags') }), tags, tagHelp),
    el('div', { class: 'field' }, el('label', { for: comment.id, text: t('exComment') }), comment),
    button,
    el('p', { class: 'form-error', role: 'alert' }));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    const { search, hits } = getContext();
    const body = { search, hits, tags: splitTags(tags.value) };
    if (name.value.trim()) body.name = name.value.trim();
    if (comment.value.trim()) body.comment = comment.value;
    button.disabled = true;
    button.textContent = t('exSaving');
    try {
      const saved = await api('/v1/result-sets', { method: 'POST', body });
      out.replaceChildren(el('p', { text: t('exSaved', { n: number(saved.hits.length) }) }),
        shareControl(saved.id, p));
    } catch (err) {
      showError(form, err);
    } finally {
      button.disabled = false;
      button.textContent = t('exSave');
    }
  });
  return el('div', { class: 'ex-bar' }, form, out);
}

/* ---------- the page ---------- */

async function render(view, route) {
  generation += 1;
  if (route.args[0]) await renderSet(view, route.args[0], generation);
  else await renderList(view, route, generation);
}

async function renderList(view, route, run) {
  const tag = route.params.get('tag') || '';
  const offset = Math.max(0, Number(route.params.get('offset')) || 0);
  const input = el('input', { id: 'ex-filter-tag', name: 'tag', type: 'text', value: tag, 'data-field': 'tag' });
  const form = el('form', { class: 'search', id: 'ex-filter' },
    el('div', { class: 'row' },
      el('div', { class: 'field' }, el('label', { for: input.id, text: t('exFilterTag') }), input),
      el('button', { type: 'submit', text: t('exFilter') }),
      tag ? el('a', { href: '#/expert', text: t('exAll') }) : null),
    el('p', { class: 'form-error', role: 'alert' }));
  const list = el('div', { id: 'ex-list', class: 'results', 'aria-live': 'polite' });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const value = input.value.trim();
    location.hash = value ? `#/expert?tag=${encodeURIComponent(value)}` : '#/expert';
  });
  view.replaceChildren(section('expertTitle', el('p', { class: 'lead', text: t('exLead') }), form, list));
  let answer;
  try {
    answer = await api('/v1/result-sets', { params: { tag, offset, limit: PAGE_SIZE } });
  } catch (err) {
    showError(form, err);
    return;
  }
  if (run !== generation) return;
  if (!answer.result_sets.length) {
    list.replaceChildren(el('p', { class: 'ex-empty', text: tag ? t('exNoSetsTag', { tag }) : t('exNoSets') }));
    return;
  }
  const rows = answer.result_sets.map((s) => el('tr', { 'data-id': s.id },
    el('td', {}, el('a', { href: `#/expert/${encodeURIComponent(s.id)}`, text: s.name || t('exUnnamed') })),
    el('td', { text: s.owner }),
    el('td', { class: 'num', text: number(s.hit_count) }),
    el('td', {}, s.tags.map((x) => el('span', { class: 'tag', text: x }))),
    el('td', { text: when(s.created) }),
    el('td', { text: when(s.updated) })));
  const params = new URLSearchParams();
  if (tag) params.set('tag', tag);
  list.replaceChildren(
    pager({
      total: answer.total, k: PAGE_SIZE, offset,
      onPage: (next) => {
        params.set('offset', String(next));
        location.hash = `#/expert?${params}`;
      },
    }),
    el('div', { class: 'table-wrap' }, el('table', { id: 'ex-sets' },
      el('thead', {}, el('tr', {}, ['exColName', 'exColOwner', 'exColHits', 'exColTags', 'exColCreated', 'exColUpdated']
        .map((key) => el('th', { scope: 'col', text: t(key) })))),
      el('tbody', {}, rows))));
}

/** A one-line summary of a saved query: `text: …` (base64 payloads shortened). */
function querySummary(query) {
  if (!query || typeof query !== 'object') return String(query ?? '');
  return Object.entries(query).map(([key, value]) => {
    let shown = typeof value === 'string' ? value : JSON.stringify(value);
    if (key.endsWith('_b64')) shown = `${shown.length} base64 characters`;
    if (shown.length > 300) shown = `${shown.slice(0, 300)}…`;
    return `${key}: ${shown}`;
  }).join(' · ');
}

/** Where the saved search can be run again: a one-window search (`collections`) on the
 * one-window page, a search of one collection on the page of its modality, preset with the
 * query when it is simple (a text, a word, a structure, a sequence); else that page empty. */
async function rerunHref(search) {
  const query = search.query && typeof search.query === 'object' ? search.query : {};
  const text = (key) => (typeof query[key] === 'string' ? query[key] : null);
  if (Array.isArray(search.collections) && search.collections.length) {
    const keys = Object.keys(query);
    const params = new URLSearchParams();
    search.collections.forEach((name) => params.append('c', name));
    if (keys.length === 1 && SIMPLE_QUERY_KEYS.includes(keys[0]) && text(keys[0]) !== null) {
      params.set('q', text(keys[0]));
    }
    if (search.fusion) params.set('fusion', search.fusion);
    if (search.k) params.set('k', String(search.k));
    return `#/onewindow?${params}`;
  }
  if (typeof search.collection !== 'string') return null;
  let modality;
  try {
    modality = (await api(`/v1/collections/${encodeURIComponent(search.collection)}`)).modality;
  } catch (_) {
    return null; // the collection is gone: nothing to run again
  }
  const page = PAGE_OF_MODALITY[modality];
  if (!page) return null;
  const params = new URLSearchParams();
  if (modality === 'text' && text('text')) params.set('q', text('text'));
  if (modality === 'sequence' && text('sequence')) params.set('q', text('sequence'));
  if (modality === 'trademark' && text('word')) {
    params.set('word', text('word'));
    if (search.mode) params.set('mode', search.mode);
  }
  if (modality === 'chemical') {
    for (const key of ['smiles', 'smarts', 'formula', 'molblock']) {
      if (text(key)) params.set(key, text(key));
    }
    if ([...params.keys()].length && search.mode) params.set('mode', search.mode);
  }
  const preset = params.toString();
  return preset ? `#/${page}?${preset}` : `#/${page}`;
}

function tagChips(tags, onRemove, prefix) {
  if (!tags.length) return el('p', { class: 'help', text: t('exNoTags') });
  return el('ul', { class: 'ex-tags plain' }, tags.map((tag) => el('li', { class: 'tag', 'data-tag': tag },
    el('span', { text: tag }),
    el('button', {
      type: 'button', class: 'ex-untag', 'aria-label': t('exRemoveTag', { tag }), title: t('exRemoveTag', { tag }),
      'data-remove-tag': tag, 'data-prefix': prefix, onclick: () => onRemove(tag),
    }, '×'))));
}

function commentList(comments, cls) {
  if (!comments.length) return el('p', { class: `help ${cls}`, text: t('exNoComments') });
  return el('ul', { class: `ex-comments ${cls}` }, comments.map((c) => el('li', { 'data-comment-id': String(c.id) },
    el('p', { class: 'ex-comment-text', text: c.text }),
    el('small', { class: 'help', text: t('exBy', { author: c.author, date: when(c.created) }) }))));
}

/** Strip `hit_tags["patents/X"][0]: ` from a message (core's field pattern cannot name it). */
function hitDetail(err) {
  if (!(err instanceof ApiError)) return err;
  const named = /^hit_\w+\[".*?"\](?:\[\d+\])?: /.exec(err.message);
  if (!named) return err;
  return new ApiError(err.status, err.code, err.message.slice(named[0].length), err.retryAfter);
}

async function renderSet(view, id, run) {
  let saved;
  try {
    saved = await api(`/v1/result-sets/${encodeURIComponent(id)}`);
  } catch (err) {
    if (run !== generation) return;
    if (err instanceof ApiError && err.status === 404) {
      view.replaceChildren(section('expertTitle',
        el('p', { class: 'banner', id: 'ex-not-found', role: 'alert', text: t('exNotFound', { id }) }),
        el('p', {}, el('a', { href: '#/expert', text: t('exBackToList') }))));
    } else {
      view.replaceChildren(section('expertTitle', el('p', { class: 'form-error', role: 'alert', text: err.message })));
      showError(null, err);
    }
    return;
  }
  if (run !== generation) return;
  const href = await rerunHref(saved.search || {});
  if (run !== generation) return;
  drawSet(view, saved, href);
}

function drawSet(view, saved, rerun) {
  const focusKey = document.activeElement && document.activeElement.id;
  const patch = async (body, form, { hit = false } = {}) => {
    if (form) clearErrors(form);
    try {
      const answer = await api(`/v1/result-sets/${encodeURIComponent(saved.id)}`, { method: 'PATCH', body });
      drawSet(view, answer, rerun);
      status(t('exUpdatedNote'));
      return true;
    } catch (err) {
      showError(form, hit ? hitDetail(err) : err);
      return false;
    }
  };
  const search = saved.search || {};
  const collections = search.collections || (search.collection ? [search.collection] : []);
  const options = Object.entries(search)
    .filter(([key, value]) => !['collection', 'collections', 'query'].includes(key) && value !== null && value !== undefined)
    .map(([key, value]) => `${key}: ${typeof value === 'object' ? JSON.stringify(value) : value}`).join(' · ');
  const meta = el('dl', { class: 'fields ex-meta' },
    el('dt', { text: t('exOwner') }), el('dd', { id: 'ex-owner', text: saved.owner }),
    el('dt', { text: t('exCreated') }), el('dd', { text: when(saved.created) }),
    el('dt', { text: t('exUpdated') }), el('dd', { text: when(saved.updated) }),
    el('dt', { text: t('exCollections') }), el('dd', { id: 'ex-collections', text: collections.join(', ') }),
    el('dt', { text: t('exQuery') }), el('dd', { id: 'ex-query', text: querySummary(search.query) }),
    options ? el('dt', { text: t('exOptions') }) : null, options ? el('dd', { text: options }) : null);

  const setTagInput = el('input', { id: 'ex-set-tag', type: 'text', 'data-field': 'tags' });
  const setTagForm = el('form', { class: 'row ex-tag-form', id: 'ex-set-tag-form' },
    el('div', { class: 'field' }, el('label', { for: setTagInput.id, text: t('exAddTag') }), setTagInput),
    el('button', { type: 'submit', text: t('exAdd') }),
    el('p', { class: 'form-error', role: 'alert' }));
  setTagForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const tags = splitTags(setTagInput.value);
    if (tags.length) patch({ tags }, setTagForm);
  });
  const setComment = el('textarea', { id: 'ex-set-comment', rows: 2, 'data-field': 'comment' });
  const setCommentForm = el('form', { id: 'ex-set-comment-form', class: 'ex-comment-form' },
    el('div', { class: 'field' }, el('label', { for: setComment.id, text: t('exAddComment') }), setComment),
    el('button', { type: 'submit', text: t('exPost') }),
    el('p', { class: 'form-error', role: 'alert' }));
  setCommentForm.addEventListener('submit', (event) => {
    event.preventDefault();
    patch({ comment: setComment.value }, setCommentForm);
  });

  const hits = saved.hits.map((hit, i) => {
    const key = `${hit.collection}/${hit.id}`;
    const p = `ex-hit-${i}`;
    const tagInput = el('input', { id: `${p}-tag`, class: 'ex-hit-tag', type: 'text' });
    const commentInput = el('input', { id: `${p}-comment`, class: 'ex-hit-comment', type: 'text' });
    const form = el('form', { class: 'ex-hit-form' },
      el('div', { class: 'row' },
        el('div', { class: 'field' }, el('label', { for: tagInput.id, text: t('exHitTag', { key }) }), tagInput),
        el('div', { class: 'field' }, el('label', { for: commentInput.id, text: t('exHitComment', { key }) }), commentInput),
        el('button', { type: 'submit', class: 'ex-hit-save', text: t('exAdd') })),
      el('p', { class: 'form-error', role: 'alert' }));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const body = {};
      const tags = splitTags(tagInput.value);
      if (tags.length) body.hit_tags = { [key]: tags };
      if (commentInput.value.trim()) body.hit_comments = { [key]: commentInput.value };
      if (Object.keys(body).length) patch(body, form, { hit: true });
    });
    const title = hit.fields && (hit.fields.title || hit.fields.word || hit.fields.name);
    return el('li', { class: 'hit', 'data-key': key, 'data-id': hit.id, 'data-collection': hit.collection },
      el('div', { class: 'hit-body' },
        el('div', { class: 'hit-head' },
          el('span', { class: 'badge', text: hit.collection }),
          el('span', { class: 'hit-id', text: hit.id }),
          el('span', { class: 'hit-score', text: `${t('score')} ${score(hit.score)}` }),
          el('button', {
            type: 'button', class: 'ex-remove-hit', 'aria-label': t('exRemoveHitLabel', { key }),
            onclick: () => patch({ remove_hits: [key] }, form),
          }, t('exRemoveHit'))),
        typeof title === 'string' && title ? el('p', { class: 'ex-hit-title', text: title }) : null,
        el('div', { class: 'ex-hit-tags' },
          tagChips(hit.tags, (tag) => patch({ remove_hit_tags: { [key]: [tag] } }, form, { hit: true }), p)),
        commentList(hit.comments, 'ex-hit-comments'),
        form));
  });

  view.replaceChildren(section('expertTitle',
    el('p', {}, el('a', { href: '#/expert', text: t('exBackToList') })),
    el('h2', { id: 'ex-set-name', 'data-id': saved.id, text: saved.name || t('exUnnamed') }),
    el('div', { class: 'box ex-set' },
      meta,
      rerun ? el('p', {}, el('a', { id: 'ex-rerun', href: rerun, text: t('exRerun') })) : null,
      shareControl(saved.id, 'ex-set')),
    el('h3', { text: t('exSetTags') }),
    el('div', { id: 'ex-set-tags' }, tagChips(saved.tags, (tag) => patch({ remove_tags: [tag] }, setTagForm), 'set')),
    setTagForm,
    el('h3', { text: t('exComments') }),
    commentList(saved.comments, 'ex-set-comments'),
    setCommentForm,
    el('h3', { text: t('exHits', { n: number(saved.hits.length) }) }),
    saved.hits.length
      ? el('ol', { class: 'hits', id: 'ex-hits', 'aria-live': 'polite' }, hits)
      : el('p', { text: t('exNoHits') })));
  if (focusKey) {
    const again = document.getElementById(focusKey);
    if (again) again.focus();
  }
}

function leave() {
  generation += 1;
}

export default { id: 'expert', title: 'expertTitle', render, leave };
