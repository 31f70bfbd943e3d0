/* Sequences: paste residues or FASTA text, or read a FASTA / ST.25 / ST.26 listing in the
 * browser and pick one of its sequences; the hits come with their local alignment drawn as
 * BLAST draws it (query / match / subject lines in blocks of 60, with coordinates). */

import {
  addStrings, api, clearErrors, el, field, fieldError, fieldList, fileProblem, fillCollections,
  limits, number, pager, section, showError, t,
} from '../core.js';
import { saveBar } from './expert.js';

addStrings({
  en: {
    sequencesTitle: 'Sequences',
    seqLead: 'Is this sequence, or something close to it, already disclosed? Paste a protein, DNA '
      + 'or RNA sequence (plain or FASTA), or open a sequence listing.',
    seqText: 'Sequence or FASTA text',
    seqTextHelp: 'One-letter IUPAC codes; spaces and line breaks are ignored.',
    seqType: 'Molecule type',
    seqTypeAuto: 'Detect automatically',
    seqTypeProtein: 'Protein',
    seqTypeDna: 'DNA',
    seqTypeRna: 'RNA',
    seqFile: 'Sequence listing file',
    seqFileHelp: 'FASTA, WIPO ST.25 (text) or ST.26 (XML); read in this browser.',
    seqRecord: 'Sequence to search',
    seqRecordOption: '{name} · {type} · {length} residues',
    seqFileRead: '{name}: {n} sequences read.',
    seqFileBad: '{name}: not a sequence listing that can be read ({why}).',
    seqNoRecords: 'no sequences found',
    seqBadXml: 'the XML is not well-formed',
    seqBadThree: '“{token}” is not a three-letter amino acid code',
    seqTooLong: 'The sequence has {n} residues; at most {max} can be searched.',
    seqEmpty: 'Enter a sequence, or open a file.',
    seqK: 'Hits per page',
    seqHits: 'Alignments',
    seqBits: 'bit score',
    seqEvalue: 'E-value',
    seqIdentity: 'identity',
    seqCoverage: 'coverage (query / subject)',
    seqStrand: 'strand',
    seqRange: 'Query {qs}–{qe} · subject {ss}–{se}',
    seqAlignmentLabel: 'Alignment of the query with {id}',
    seqQueryRow: 'Query',
    seqSubjectRow: 'Sbjct',
  },
  ru: {
    sequencesTitle: 'Последовательности',
    seqLead: 'Раскрыта ли уже эта последовательность или близкая к ней? Вставьте белковую, ДНК- '
      + 'или РНК-последовательность (просто буквами или в формате FASTA) либо откройте перечень '
      + 'последовательностей.',
    seqText: 'Последовательность или текст FASTA',
    seqTextHelp: 'Однобуквенные коды IUPAC; пробелы и переводы строк не учитываются.',
    seqType: 'Тип молекулы',
    seqTypeAuto: 'Определить автоматически',
    seqTypeProtein: 'Белок',
    seqTypeDna: 'ДНК',
    seqTypeRna: 'РНК',
    seqFile: 'Файл перечня последовательностей',
    seqFileHelp: 'FASTA, ВОИС ST.25 (текст) или ST.26 (XML); файл читается в браузере.',
    seqRecord: 'Последовательность для поиска',
    seqRecordOption: '{name} · {type} · остатков: {length}',
    seqFileRead: '{name}: прочитано последовательностей: {n}.',
    seqFileBad: '{name}: не удалось прочитать перечень последовательностей ({why}).',
    seqNoRecords: 'последовательности не найдены',
    seqBadXml: 'XML составлен с ошибками',
    seqBadThree: '«{token}» — не трёхбуквенный код аминокислоты',
    seqTooLong: 'В последовательности {n} остатков; искать можно не более {max}.',
    seqEmpty: 'Введите последовательность или откройте файл.',
    seqK: 'Результатов на странице',
    seqHits: 'Выравнивания',
    seqBits: 'бит-оценка',
    seqEvalue: 'E-значение',
    seqIdentity: 'идентичность',
    seqCoverage: 'покрытие (запрос / объект)',
    seqStrand: 'цепь',
    seqRange: 'Запрос {qs}–{qe} · объект {ss}–{se}',
    seqAlignmentLabel: 'Выравнивание запроса с {id}',
    seqQueryRow: 'Query',
    seqSubjectRow: 'Sbjct',
  },
});

const TYPES = ['protein', 'dna', 'rna'];
const TYPE_KEYS = { protein: 'seqTypeProtein', dna: 'seqTypeDna', rna: 'seqTypeRna' };
const EXTENSIONS = ['fasta', 'fa', 'faa', 'fna', 'ffn', 'seq', 'txt', 'xml'];
const BLOCK = 60;
const THREE_TO_ONE = {
  ALA: 'A', ARG: 'R', ASN: 'N', ASP: 'D', ASX: 'B', CYS: 'C', GLN: 'Q', GLU: 'E', GLX: 'Z',
  GLY: 'G', HIS: 'H', ILE: 'I', LEU: 'L', LYS: 'K', MET: 'M', PHE: 'F', PRO: 'P', PYL: 'O',
  SER: 'S', SEC: 'U', THR: 'T', TRP: 'W', TYR: 'Y', VAL: 'V', XLE: 'J', XAA: 'X',
};
const MOLTYPES = { AA: 'protein', PRT: 'protein', DNA: 'dna', RNA: 'rna' };
const SKIPPED = '000';

/* ---------- reading listings in the browser ---------- */

class ListingProblem extends Error {}

/** FASTA records `{name, description, residues, type: null}`; text without a header is one
 * unnamed record (the server validates the residues). */
export function parseFasta(text) {
  const records = [];
  for (const raw of text.split(/\r?\n|\r/)) {
    const line = raw.trim();
    if (!line || line.startsWith(';')) continue;
    if (line.startsWith('>')) {
      const header = line.slice(1).trim();
      const space = header.search(/\s/);
      records.push({
        name: space < 0 ? header : header.slice(0, space),
        description: space < 0 ? '' : header.slice(space + 1).trim(),
        lines: [],
        type: null,
      });
    } else if (!records.length) {
      records.push({ name: '', description: '', lines: [line], type: null });
    } else {
      records[records.length - 1].lines.push(line);
    }
  }
  return records.map(({ lines, ...rest }) => ({ ...rest, residues: lines.join('').replace(/\*$/, '') }));
}

/** ST.26 XML: every `SequenceData` → its `INSDSeq_sequence` and `INSDSeq_moltype`. */
export function parseSt26(text) {
  const doc = new DOMParser().parseFromString(text, 'application/xml');
  if (doc.getElementsByTagName('parsererror').length) throw new ListingProblem(t('seqBadXml'));
  const records = [];
  const items = doc.getElementsByTagName('SequenceData');
  const seqs = items.length ? [...items] : [...doc.getElementsByTagName('INSDSeq')];
  seqs.forEach((item, index) => {
    const text1 = (tag) => {
      const node = item.getElementsByTagName(tag)[0];
      return node ? node.textContent.trim() : '';
    };
    const residues = text1('INSDSeq_sequence').replace(/\s+/g, '');
    if (!residues || residues === SKIPPED) return;
    let organism = '';
    for (const qualifier of item.getElementsByTagName('INSDQualifier')) {
      const name = qualifier.getElementsByTagName('INSDQualifier_name')[0];
      const value = qualifier.getElementsByTagName('INSDQualifier_value')[0];
      if (name && value && name.textContent.trim() === 'organism') organism = value.textContent.trim();
    }
    records.push({
      name: `SEQ ID NO ${item.getAttribute('sequenceIDNumber') || index + 1}`,
      description: organism,
      residues,
      type: MOLTYPES[text1('INSDSeq_moltype').toUpperCase()] || null,
    });
  });
  return records;
}

/** ST.25 text: `<210>` starts a sequence, `<212>` its type, `<400>` its residues (amino acids
 * in three-letter codes; the position numbers between lines skipped). */
export function parseSt25(text) {
  const fields = [];
  for (const raw of text.split(/\r?\n|\r/)) {
    const match = /^<(\d{3})>(.*)$/.exec(raw.trim());
    if (match) fields.push({ tag: match[1], lines: [match[2].trim()] });
    else if (fields.length) fields[fields.length - 1].lines.push(raw.trim());
  }
  const records = [];
  let current = null;
  for (const item of fields) {
    if (item.tag === '210') {
      current = { name: `SEQ ID NO ${item.lines[0]}`, description: '', type: null, residues: '' };
      records.push(current);
    } else if (current && item.tag === '212') {
      current.type = MOLTYPES[item.lines[0].toUpperCase()] || null;
    } else if (current && item.tag === '213') {
      current.description = item.lines[0];
    } else if (current && item.tag === '400') {
      const tokens = item.lines.slice(1).join(' ').split(/\s+/).filter((x) => x && !/^\d+$/.test(x));
      if (current.type === 'protein') {
        current.residues = tokens.map((token) => {
          const letter = THREE_TO_ONE[token.toUpperCase()];
          if (!letter) throw new ListingProblem(t('seqBadThree', { token }));
          return letter;
        }).join('');
      } else {
        current.residues = tokens.join('');
      }
    }
  }
  return records.filter((r) => r.residues && r.residues !== SKIPPED);
}

/** The records of a file's text, by what it looks like. */
export function parseListing(text, name) {
  const head = text.slice(0, 4096).trimStart();
  if (head.startsWith('<?xml') || head.includes('<ST26SequenceListing') || /\.xml$/i.test(name)) {
    return parseSt26(text);
  }
  if (/^\s*<(110|120|160|210)>/m.test(head)) return parseSt25(text);
  const records = parseFasta(text);
  if (records.length === 1 && !records[0].name) records[0].name = name;
  return records;
}

const residueCount = (text) => text.replace(/\s/g, '').length;

/* ---------- drawing an alignment ---------- */

/** BLAST-style rows: `Query  1   ACGT…  60` / match / `Sbjct  1   ACGT…  60`, 60 a block.
 * On the `-` strand the query row holds the reverse complement, counted down. */
export function alignmentText(a) {
  const q = a.query_aligned || '';
  const m = a.midline || '';
  const s = a.subject_aligned || '';
  const minus = a.strand === '-';
  let qPos = minus ? a.query_end : a.query_start + 1;
  let sPos = a.subject_start + 1;
  const width = String(Math.max(a.query_end, a.subject_end, 1)).length;
  const qLabel = t('seqQueryRow');
  const sLabel = t('seqSubjectRow');
  const labelWidth = Math.max(qLabel.length, sLabel.length);
  const blocks = [];
  for (let i = 0; i < q.length; i += BLOCK) {
    const qChunk = q.slice(i, i + BLOCK);
    const sChunk = s.slice(i, i + BLOCK);
    const qLetters = qChunk.replace(/-/g, '').length;
    const sLetters = sChunk.replace(/-/g, '').length;
    const qFrom = qPos;
    const qTo = qLetters ? (minus ? qPos - qLetters + 1 : qPos + qLetters - 1) : qPos;
    const sFrom = sPos;
    const sTo = sLetters ? sPos + sLetters - 1 : sPos;
    if (qLetters) qPos = minus ? qPos - qLetters : qPos + qLetters;
    if (sLetters) sPos += sLetters;
    const row = (label, from, chunk, to) => `${label.padEnd(labelWidth)}  ${String(from).padStart(width)}  ${chunk}  ${to}`;
    blocks.push([
      row(qLabel, qFrom, qChunk, qTo),
      `${''.padEnd(labelWidth)}  ${''.padStart(width)}  ${m.slice(i, i + BLOCK)}`,
      row(sLabel, sFrom, sChunk, sTo),
    ].join('\n'));
  }
  return blocks.join('\n\n');
}

const evalueText = (e) => (e === 0 ? '0' : e < 0.001 ? Number(e).toExponential(1) : Number(e).toFixed(3));
const percent = (x) => (x === null || x === undefined || Number.isNaN(Number(x)) ? '—' : `${number(x * 100, 1)} %`);

/* ---------- the page ---------- */

let state = null;

function typeSelect() {
  return el('select', { id: 'seq-type', name: 'type', 'data-field': 'query.type' },
    el('option', { value: '', text: t('seqTypeAuto') }),
    TYPES.map((type) => el('option', { value: type, text: t(TYPE_KEYS[type]) })));
}

function recordLabel(record, index) {
  return t('seqRecordOption', {
    name: record.name || `#${index + 1}`,
    type: record.type ? t(TYPE_KEYS[record.type]) : '?',
    length: number(residueCount(record.residues)),
  });
}

async function render(view, route) {
  const collection = el('select', { id: 'seq-collection', name: 'collection', 'data-field': 'collection' });
  const text = el('textarea', {
    id: 'seq-text', name: 'sequence', rows: 7, spellcheck: false, autocomplete: 'off',
    'data-field': 'query.sequence query', class: 'mono',
  });
  const type = typeSelect();
  const file = el('input', { id: 'seq-file', name: 'file', type: 'file', accept: EXTENSIONS.map((e) => `.${e}`).join(',') });
  const note = el('p', { id: 'seq-file-note', class: 'help', 'aria-live': 'polite' });
  const record = el('select', { id: 'seq-record', name: 'record' });
  const recordField = field(t('seqRecord'), record);
  recordField.hidden = true;
  const k = el('select', { id: 'seq-k', name: 'k', 'data-field': 'k' },
    [5, 10, 20, 50].map((n) => el('option', { value: String(n), text: String(n), selected: n === 10 })));
  const formError = el('p', { class: 'form-error', role: 'alert' });
  const form = el('form', { class: 'search', id: 'seq-form', novalidate: true },
    field(t('collection'), collection),
    field(t('seqText'), text, t('seqTextHelp')),
    el('div', { class: 'row' }, field(t('seqType'), type), field(t('seqK'), k)),
    field(t('seqFile'), file, t('seqFileHelp')),
    note,
    recordField,
    formError,
    el('button', { type: 'submit', text: t('search') }));
  const results = el('div', { class: 'results', id: 'seq-results', 'aria-live': 'polite', 'aria-busy': 'false' });
  view.replaceChildren(section('sequencesTitle',
    el('p', { class: 'lead', text: t('seqLead') }),
    el('div', { class: 'layout' }, form, results)));

  state = { records: [], fromFile: false, offset: 0, request: null };

  const showRecords = (records) => {
    state.records = records;
    record.replaceChildren(...records.map((r, i) => el('option', { value: String(i), text: recordLabel(r, i) })));
    recordField.hidden = records.length < 2;
  };

  const useRecord = (index) => {
    const chosen = state.records[index];
    if (!chosen) return;
    const lines = chosen.residues.match(new RegExp(`.{1,${BLOCK}}`, 'g')) || [];
    text.value = [`>${chosen.name.replace(/\s+/g, '_')}${chosen.description ? ` ${chosen.description}` : ''}`, ...lines].join('\n');
    type.value = chosen.type || '';
  };

  text.addEventListener('input', () => {
    state.fromFile = false;
    file.value = '';
    note.textContent = '';
    const parsed = text.value.trimStart().startsWith('>') ? parseFasta(text.value) : [];
    showRecords(parsed);
  });

  record.addEventListener('change', () => {
    if (state.fromFile) useRecord(Number(record.value));
  });

  file.addEventListener('change', async () => {
    clearErrors(form);
    note.textContent = '';
    const chosen = file.files[0];
    if (!chosen) return;
    let max;
    try {
      max = await limits();
    } catch (err) {
      showError(form, err);
      return;
    }
    const problem = fileProblem(chosen, { maxBytes: max.body_bytes, extensions: EXTENSIONS });
    if (problem) {
      fieldError(file, problem);
      file.value = '';
      return;
    }
    let records;
    try {
      records = parseListing(await chosen.text(), chosen.name);
      if (!records.length) throw new ListingProblem(t('seqNoRecords'));
    } catch (err) {
      fieldError(file, t('seqFileBad', { name: chosen.name, why: err.message }));
      file.value = '';
      return;
    }
    const tooLong = records.find((r) => residueCount(r.residues) > max.sequence_length);
    showRecords(records);
    state.fromFile = true;
    record.value = '0';
    useRecord(0);
    if (tooLong) {
      fieldError(file, t('seqTooLong', { n: number(residueCount(tooLong.residues)), max: number(max.sequence_length) }));
    } else {
      note.textContent = t('seqFileRead', { name: chosen.name, n: number(records.length) });
    }
  });

  const search = async (offset) => {
    const request = { ...state.request, offset };
    results.setAttribute('aria-busy', 'true');
    results.replaceChildren(el('p', { text: t('loading') }));
    try {
      const answer = await api(`/v1/collections/${encodeURIComponent(request.collection)}/search`, {
        method: 'POST', body: { query: request.query, k: request.k, offset: request.offset },
      });
      drawHits(results, request, answer, (next) => search(next));
    } catch (err) {
      results.replaceChildren();
      showError(form, err);
    } finally {
      results.setAttribute('aria-busy', 'false');
    }
  };

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    const parsed = parseFasta(text.value);
    const index = parsed.length > 1 ? Number(record.value || 0) : 0;
    const chosen = parsed[Math.min(index, parsed.length - 1)];
    if (!chosen || !chosen.residues.trim()) {
      fieldError(text, t('seqEmpty'));
      text.focus();
      return;
    }
    let max;
    try {
      max = await limits();
    } catch (err) {
      showError(form, err);
      return;
    }
    const n = residueCount(chosen.residues);
    if (n > max.sequence_length) {
      fieldError(text, t('seqTooLong', { n: number(n), max: number(max.sequence_length) }));
      return;
    }
    const query = { sequence: chosen.residues };
    if (type.value) query.type = type.value;
    state.request = { collection: collection.value, query, k: Number(k.value), offset: 0 };
    await search(0);
  });

  try {
    await fillCollections(collection, 'sequence', ['sequences']);
  } catch (err) {
    showError(form, err);
  }
  const given = route && route.params && route.params.get('q');
  if (given) {
    text.value = given;
    form.requestSubmit();
  }
}

function drawHits(results, request, answer, onPage) {
  const hits = answer.hits || [];
  const total = answer.total ?? hits.length;
  const shown = hits.map((hit) => ({ collection: request.collection, id: hit.id, score: hit.score }));
  const nav = () => pager({ total, k: request.k, offset: request.offset, onPage, truncated: Boolean(answer.truncated) });
  fill(results,
    el('h2', { text: t('seqHits') }),
    nav(),
    saveBar(() => ({ search: { ...request }, hits: shown })),
    hits.length ? el('ol', { class: 'hits', start: String(request.offset + 1) }, hits.map(hitItem))
      : el('p', { text: t('noHits') }),
    hits.length > 0 && total > request.k ? nav() : null,
  );
}

function hitItem(hit) {
  const a = (hit.match && hit.match.alignment) || null;
  const head = el('div', { class: 'hit-head' },
    el('span', { class: 'hit-id', text: hit.id }),
    el('span', { class: 'hit-score', 'data-bits': String(hit.score) }, `${t('seqBits')}: ${bitScore(hit.score)}`));
  const body = el('div', { class: 'hit-body' }, head);
  if (a) {
    head.append(
      el('span', { class: 'hit-score', 'data-evalue': String(a.evalue) }, `${t('seqEvalue')}: ${evalueText(a.evalue)}`),
      el('span', { class: 'hit-score', 'data-identity': String(a.identity) }, `${t('seqIdentity')}: ${percent(a.identity)}`),
      el('span', { class: 'hit-score' }, `${t('seqCoverage')}: ${percent(a.query_coverage)} / ${percent(a.subject_coverage)}`),
      el('span', { class: 'hit-score' }, `${t('seqStrand')}: ${a.strand}`));
  }
  body.append(fieldList(hit.fields));
  if (a) {
    body.append(el('p', { class: 'help', text: t('seqRange', {
      qs: a.query_start + 1, qe: a.query_end, ss: a.subject_start + 1, se: a.subject_end,
    }) }));
    if (a.query_aligned) {
      body.append(el('pre', {
        class: 'alignment', tabindex: '0', role: 'region',
        'aria-label': t('seqAlignmentLabel', { id: hit.id }),
      }, alignmentText(a)));
    }
  }
  return el('li', { class: 'hit', 'data-id': hit.id }, body);
}

const bitScore = (value) => (value === null || value === undefined ? '—' : Number(value).toFixed(1));

/** `node.replaceChildren` without the absent children (the DOM would write them as "null"). */
const fill = (node, ...children) => node.replaceChildren(...children.filter((c) => c !== null && c !== undefined && c !== false));

export default { id: 'sequences', title: 'sequencesTitle', render };
