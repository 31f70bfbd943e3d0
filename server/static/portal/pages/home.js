/* The start page: what can be searched here, with the collections the server holds. */

import { addStrings, api, el, number, section, showError, t } from '../core.js';

addStrings({
  en: {
    homeTitle: 'Home',
    homeHeading: 'What already exists that looks like this?',
    homeLead: 'Search patents, trademarks, industrial designs, chemical structures and biological '
      + 'sequences by similarity, file an application and follow its status.',
    homeCollections: 'Collections on this server',
    homeEmpty: 'This server holds no collections yet.',
    homeCount: '{n} documents',
    cardPatents: 'Patents: a passage or a whole document',
    cardTrademarks: 'Trademarks: words by spelling, sound and meaning; images',
    cardDesigns: 'Industrial designs: 3D models',
    cardChemistry: 'Chemistry: similarity, substructure, formula',
    cardSequences: 'Sequences: proteins, DNA, RNA',
    cardOnewindow: 'One window: several collections at once',
  },
  ru: {
    homeTitle: 'Главная',
    homeHeading: 'Что уже существует из похожего?',
    homeLead: 'Поиск по сходству среди патентов, товарных знаков, промышленных образцов, '
      + 'химических структур и биологических последовательностей; подача заявки и отслеживание '
      + 'её статуса.',
    homeCollections: 'Коллекции на этом сервере',
    homeEmpty: 'На сервере пока нет коллекций.',
    homeCount: 'документов: {n}',
    cardPatents: 'Патенты: фрагмент или документ целиком',
    cardTrademarks: 'Товарные знаки: написание, звучание, смысл; изображения',
    cardDesigns: 'Промышленные образцы: 3D-модели',
    cardChemistry: 'Химия: сходство, подструктура, брутто-формула',
    cardSequences: 'Последовательности: белки, ДНК, РНК',
    cardOnewindow: 'Единое окно: несколько коллекций сразу',
  },
});

const CARDS = [
  ['patents', 'cardPatents'], ['trademarks', 'cardTrademarks'], ['designs', 'cardDesigns'],
  ['chemistry', 'cardChemistry'], ['sequences', 'cardSequences'], ['onewindow', 'cardOnewindow'],
];

async function render(view) {
  const collections = el('ul', { id: 'home-collections', class: 'plain' });
  view.replaceChildren(section('homeHeading',
    el('p', { class: 'lead', text: t('homeLead') }),
    el('ul', { class: 'cards' }, CARDS.map(([id, key]) => el('li', {},
      el('a', { href: `#/${id}`, text: t(key) })))),
    el('h2', { text: t('homeCollections') }),
    collections));
  try {
    const answer = await api('/v1/collections');
    if (!answer.collections.length) collections.append(el('li', { text: t('homeEmpty') }));
    for (const c of answer.collections) {
      collections.append(el('li', { 'data-collection': c.name },
        el('strong', { text: c.name }), ` · ${c.modality} · `, t('homeCount', { n: number(c.count) })));
    }
  } catch (err) {
    showError(null, err);
  }
}

export default { id: 'home', title: 'homeTitle', render };
