/* One window: one query over several collections at once (`POST /v1/search`), the lists fused
 * by reciprocal rank or by normalised scores, a status per source, each hit with its collection.
 *
 * The server takes ONE query for every collection, so the query box is sent under the key of
 * the chosen collections' modality (`text` for text, `word` for trademarks, `smiles` for
 * chemistry, `sequence` for sequences); collections of different kinds cannot share a query,
 * which the page says before sending (and the server refuses anyway, at the query field).
 * The search is kept in the URL (`#/onewindow?c=patents&q=…`), so it can be reloaded and the
 * expert page can run a saved search again.
 */

import {
  addStrings, api, clearErrors, el, fieldError, number, pager, score, section, showError, t,
} from '../core.js';
import { saveBar } from './expert.js';

addStrings({
  en: {
    onewindowTitle: 'One window',
    owLead: 'Search several collections with one query; the lists are merged into one ranking.',
    owCollections: 'Collections',
    owCollectionsHelp: 'Collections of one kind share a query (e.g. several text collections).',
    owModality_text: 'Texts (patents)',
    owModality_trademark: 'Trademarks',
    owModality_chemical: 'Chemistry',
    owModality_sequence: 'Sequences',
    owModality_mesh: '3D designs (search them on the designs page)',
    owQuery: 'Query',
    owQueryHelp_text: 'Sent as {"text": …}: a passage or a description.',
    owQueryHelp_trademark: 'Sent as {"word": …}: the word of a mark.',
    owQueryHelp_chemical: 'Sent as {"smiles": …}: a structure in SMILES.',
    owQueryHelp_sequence: 'Sent as {"sequence": …}: residues or FASTA.',
    owQueryHelp_none: 'Choose at least one collection.',
    owMixed: 'The chosen collections take different kinds of query ({kinds}); one query is sent to all of them, so choose collections of one kind.',
    owNoCollection: 'Choose at least one collection.',
    owFusion: 'Merging of the lists',
    owFusion_rrf: 'Reciprocal rank fusion (rrf)',
    owFusion_score: 'Normalised scores (score)',
    owFusion_raw: 'Raw scores (raw, same model only)',
    owK: 'Hits per page',
    owSources: 'Sources',
    owSourceLine: '{collection} · {took} ms',
    owSourceTotal: '{n} found',
    owPartial: 'Not every source answered fully: the hits below lack the sources marked in the list.',
    owStatus_ok: 'ok',
    owStatus_partial: 'partial',
    owStatus_timeout: 'timed out',
    owStatus_failed: 'failed',
    owSourceScore: 'own score {score}',
    owResults: 'Results',
    owFound: '{n} hits shown, {total} found.',
  },
  ru: {
    onewindowTitle: 'Единое окно',
    owLead: 'Поиск по нескольким коллекциям одним запросом; списки сводятся в общий рейтинг.',
    owCollections: 'Коллекции',
    owCollectionsHelp: 'Коллекции одного вида принимают общий запрос (например, несколько текстовых).',
    owModality_text: 'Тексты (патенты)',
    owModality_trademark: 'Товарные знаки',
    owModality_chemical: 'Химия',
    owModality_sequence: 'Последовательности',
    owModality_mesh: '3D-образцы (поиск на странице промышленных образцов)',
    owQuery: 'Запрос',
    owQueryHelp_text: 'Отправляется как {"text": …}: фрагмент текста или описание.',
    owQueryHelp_trademark: 'Отправляется как {"word": …}: словесное обозначение знака.',
    owQueryHelp_chemical: 'Отправляется как {"smiles": …}: структура в нотации SMILES.',
    owQueryHelp_sequence: 'Отправляется как {"sequence": …}: остатки или FASTA.',
    owQueryHelp_none: 'Выберите хотя бы одну коллекцию.',
    owMixed: 'Выбранные коллекции принимают запросы разного вида ({kinds}); запрос отправляется всем один, поэтому выберите коллекции одного вида.',
    owNoCollection: 'Выберите хотя бы одну коллекцию.',
    owFusion: 'Сведение списков',
    owFusion_rrf: 'Слияние по обратным рангам (rrf)',
    owFusion_score: 'Нормированные оценки (score)',
    owFusion_raw: 'Исходные оценки (raw, только одна модель)',
    owK: 'Результатов на странице',
    owSources: 'Источники',
    owSourceLine: '{collection} · {took} мс',
    owSourceTotal: 'найдено {n}',
    owPartial: 'Не все источники ответили полностью: в результатах нет отмеченных в списке источников.',
    owStatus_ok: 'ответил',
    owStatus_partial: 'частично',
    owStatus_timeout: 'истекло время',
    owStatus_failed: 'ошибка',
    owSourceScore: 'собственная оценка {score}',
    owResults: 'Результаты',
    owFound: 'Показано {n}, всего найдено {total}.',
  },
});

/** The query key each modality takes from the one query box. */
const QUERY_KEY = { text: 'text', trademark: 'word', chemical: 'smiles', sequence: 'sequence' };
const MODALITY_ORDER = ['text', 'trademark', 'chemical', 'sequence', 'mesh'];
const FUSIONS = ['rrf', 'score', 'raw'];
const MAX_WINDOW = 1000; // offset + k at most (the server's max_k)
const TITLE_FIELDS = ['title', 'word', 'name', 'formula', 'description'];

let generation = 0;

/** A short title for a hit from its fields (title, word, name…), or ''. */
export function hitTitle(fields) {
  for (const name of TITLE_FIELDS) {
    const value = fields && fields[name];
    if (typeof value === 'string' && value) return value;
  }
  return '';
}

async function render(view, route) {
  const run = ++generation;
  const params = route.params;
  const form = el('form', { class: 'search', id: 'ow-form', novalidate: true });
  const groups = el('div', { class: 'ow-groups' });
  const collectionsBox = el('fieldset', {
    id: 'ow-collections', 'data-field': 'collections', tabindex: '-1',
    'aria-describedby': 'ow-collections-help',
  }, el('legend', { text: t('owCollections') }), groups,
  el('small', { id: 'ow-collections-help', class: 'help', text: t('owCollectionsHelp') }));
  const query = el('textarea', {
    id: 'ow-query', name: 'q', rows: 3, 'data-field': 'query', 'aria-describedby': 'ow-query-help',
  });
  const queryHelp = el('small', { id: 'ow-query-help', class: 'help' });
  const mixed = el('p', { id: 'ow-mixed', class: 'banner', role: 'status', hidden: true });
  const fusion = el('select', { id: 'ow-fusion', name: 'fusion', 'data-field': 'fusion weights' },
    FUSIONS.map((f) => el('option', { value: f, text: t(`owFusion_${f}`) })));
  const k = el('input', {
    id: 'ow-k', name: 'k', type: 'number', min: '1', max: '100', value: '10', 'data-field': 'k offset',
  });
  form.append(
    el('div', { class: 'field' }, collectionsBox),
    el('div', { class: 'field' }, el('label', { for: 'ow-query', text: t('owQuery') }), query, queryHelp),
    mixed,
    el('div', { class: 'row' },
      el('div', { class: 'field' }, el('label', { for: 'ow-fusion', text: t('owFusion') }), fusion),
      el('div', { class: 'field' }, el('label', { for: 'ow-k', text: t('owK') }), k)),
    el('p', { class: 'form-error', role: 'alert' }),
    el('button', { type: 'submit', id: 'ow-submit', text: t('search') }));
  const results = el('div', {
    class: 'results', id: 'ow-results', 'aria-live': 'polite', 'aria-labelledby': 'ow-results-title',
  });
  view.replaceChildren(section('onewindowTitle',
    el('p', { class: 'lead', text: t('owLead') }),
    el('div', { class: 'layout' }, form,
      el('div', {}, el('h2', { id: 'ow-results-title', class: 'visually-hidden', text: t('owResults') }), results))));

  let collections = [];
  try {
    collections = (await api('/v1/collections')).collections;
  } catch (err) {
    showError(form, err);
    return;
  }
  if (run !== generation) return;
  const modalityOf = new Map(collections.map((c) => [c.name, c.modality]));
  const wanted = new Set(params.getAll('c'));
  if (!wanted.size && !params.has('q')) wanted.add('patents');
  for (const modality of MODALITY_ORDER.concat([...new Set(collections.map((c) => c.modality))]
    .filter((m) => !MODALITY_ORDER.includes(m)))) {
    const names = collections.filter((c) => c.modality === modality).map((c) => c.name).sort();
    if (!names.length) continue;
    const usable = Boolean(QUERY_KEY[modality]);
    const legendText = t(`owModality_${modality}`) === `owModality_${modality}` ? modality : t(`owModality_${modality}`);
    groups.append(el('fieldset', { class: 'ow-group', 'data-modality': modality },
      el('legend', { text: legendText }),
      names.map((name) => {
        const id = `ow-c-${name}`;
        return el('div', { class: 'ow-check' },
          el('input', {
            type: 'checkbox', id, name: 'c', value: name, 'data-modality': modality,
            checked: wanted.has(name) && usable, disabled: !usable, onchange: adapt,
          }),
          el('label', { for: id, text: name }));
      })));
  }
  if (params.has('q')) query.value = params.get('q');
  if (FUSIONS.includes(params.get('fusion'))) fusion.value = params.get('fusion');
  if (/^\d+$/.test(params.get('k') || '')) k.value = params.get('k');

  function chosen() {
    return [...form.querySelectorAll('input[name=c]:checked')].map((box) => box.value);
  }

  function kinds() {
    return [...new Set(chosen().map((name) => modalityOf.get(name)))];
  }

  /** The query box's help and the mixed-kinds warning follow the chosen collections. */
  function adapt() {
    const found = kinds();
    const first = found[0];
    queryHelp.textContent = first ? t(`owQueryHelp_${first}`) : t('owQueryHelp_none');
    query.dataset.field = first ? `query query.${QUERY_KEY[first]}` : 'query';
    mixed.hidden = found.length < 2;
    mixed.textContent = found.length < 2 ? ''
      : t('owMixed', { kinds: found.map((m) => t(`owModality_${m}`)).join(', ') });
  }
  adapt();

  async function search(offset) {
    clearErrors(form);
    const names = chosen();
    if (!names.length) {
      fieldError(collectionsBox, t('owNoCollection'));
      collectionsBox.focus();
      return;
    }
    const key = QUERY_KEY[modalityOf.get(names[0])];
    const body = {
      collections: names,
      query: { [key]: query.value },
      k: Number(k.value),
      offset,
      fusion: fusion.value,
    };
    const state = new URLSearchParams();
    names.forEach((name) => state.append('c', name));
    state.set('q', query.value);
    state.set('fusion', fusion.value);
    state.set('k', k.value);
    history.replaceState(null, '', `#/onewindow?${state}`);
    results.setAttribute('aria-busy', 'true');
    results.replaceChildren(el('p', { text: t('loading') }));
    let answer;
    try {
      answer = await api('/v1/search', { method: 'POST', body });
    } catch (err) {
      results.replaceChildren();
      results.removeAttribute('aria-busy');
      showError(form, err);
      return;
    }
    results.removeAttribute('aria-busy');
    show(body, answer);
  }

  function show(body, answer) {
    const sources = el('ul', { class: 'ow-sources', 'aria-label': t('owSources') },
      answer.sources.map((s) => el('li', { 'data-collection': s.collection, 'data-status': s.status },
        el('span', { class: `badge ${s.status === 'ok' ? 'ok' : 'refused'}`, text: t(`owStatus_${s.status}`) }),
        ' ', t('owSourceLine', { collection: s.collection, status: s.status, took: number(s.took_ms, 0) }),
        s.total !== null && s.total !== undefined ? ` · ${t('owSourceTotal', { n: number(s.total) })}` : '',
        s.message ? el('span', { class: 'ow-source-message', text: ` — ${s.message}` }) : '')));
    const children = [el('h3', { class: 'ow-sources-title', text: t('owSources') }), sources];
    if (answer.partial) children.push(el('p', { class: 'banner', id: 'ow-partial', role: 'alert', text: t('owPartial') }));
    const shownTotal = Math.min(answer.total, MAX_WINDOW);
    const nav = pager({
      total: shownTotal, k: body.k, offset: body.offset, onPage: (offset) => search(offset),
      truncated: answer.truncated,
    });
    const totalLine = nav.querySelector('.total');
    totalLine.dataset.total = String(answer.total);
    totalLine.textContent = t(answer.truncated ? 'totalAtLeast' : 'total', { n: number(answer.total) });
    children.push(nav);
    if (!answer.hits.length) {
      children.push(el('p', { text: t('noHits') }));
    } else {
      const saved = answer.hits.map((h) => ({
        collection: h.collection, id: h.id, score: h.score, fields: h.fields || {},
      }));
      children.push(saveBar(() => ({ search: { ...body }, hits: saved })));
      children.push(el('ol', { class: 'hits', id: 'ow-hits', start: String(body.offset + 1) },
        answer.hits.map((hit) => el('li', {
          class: 'hit', 'data-id': hit.id, 'data-collection': hit.collection,
        }, el('div', { class: 'hit-body' },
          el('div', { class: 'hit-head' },
            el('span', { class: 'badge ow-collection', text: hit.collection }),
            el('span', { class: 'hit-id', text: hit.id }),
            el('span', { class: 'hit-score', text: `${t('score')} ${score(hit.score)}` }),
            el('span', { class: 'hit-score', text: t('owSourceScore', { score: score(hit.source_score) }) })),
          hitTitle(hit.fields) ? el('p', { class: 'ow-title', text: hitTitle(hit.fields) }) : null)))));
    }
    results.replaceChildren(...children);
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    search(0);
  });
  if (params.has('q') && chosen().length) {
    const offset = Number(params.get('offset') || 0);
    search(Number.isFinite(offset) ? offset : 0);
  }
}

function leave() {
  generation += 1;
}

export default { id: 'onewindow', title: 'onewindowTitle', render, leave };
