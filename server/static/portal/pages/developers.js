/* For developers: the OpenAPI explorer (/docs, served from this server), the gRPC proto, and
 * copy-paste examples (curl, the Python SDK over HTTP and gRPC, the CLI) filled with this
 * server's address and one of its real collections, so that they work as pasted. */

import {
  addStrings, api, collectionsOf, el, section, showError, t,
} from '../core.js';

addStrings({
  en: {
    developersTitle: 'For developers',
    devLead: 'Everything this portal shows comes from the public HTTP API; the same search is '
      + 'available over gRPC, from the Python SDK and from the command line.',
    devExplorer: 'API explorer',
    devExplorerText: 'The OpenAPI description of every route, with "Try it out", served by this '
      + 'server (nothing is loaded from a CDN).',
    devOpenExplorer: 'Open the API explorer',
    devOpenapi: 'OpenAPI document (JSON)',
    devInstall: 'Install the SDK and the CLI',
    devInstallText: 'The SDK (the ipsim.clients package) and the ipsim command come with the server\'s '
      + 'Python distribution: in a checkout of the ipsim repository run',
    devKeyNote: 'When the server uses API keys, set IPSIM_API_KEY: the SDK and the CLI send it; '
      + 'for curl add -H "Authorization: Bearer $IPSIM_API_KEY".',
    devExamples: 'Examples for this server',
    devExamplesText: 'Filled with this server\'s address ({origin}) and its collection "{collection}".',
    devCurl: 'curl (HTTP API)',
    devPython: 'Python SDK (HTTP)',
    devGrpc: 'Python SDK (gRPC)',
    devGrpcNote: 'The gRPC address is the server\'s --grpc setting (default port 50051), not the web port.',
    devCli: 'Command line',
    devCopy: 'Copy',
    devCopyLabel: 'Copy the example: {name}',
    devCopied: 'Copied.',
    devCopyFailed: 'Could not copy: select the text and copy it by hand.',
    devProto: 'gRPC contract (proto)',
    devProtoText: 'The service definition ipsim.v1; generate a client in any language with protoc.',
    devDownload: 'Download search.proto',
  },
  ru: {
    developersTitle: 'Разработчикам',
    devLead: 'Всё, что показывает портал, получено через открытый HTTP API; тот же поиск доступен '
      + 'по gRPC, из Python SDK и из командной строки.',
    devExplorer: 'Обозреватель API',
    devExplorerText: 'Описание OpenAPI всех методов с кнопкой «Try it out»; страницу отдаёт этот '
      + 'сервер (ничего не загружается из CDN).',
    devOpenExplorer: 'Открыть обозреватель API',
    devOpenapi: 'Документ OpenAPI (JSON)',
    devInstall: 'Установка SDK и утилиты командной строки',
    devInstallText: 'SDK (пакет ipsim.clients) и команда ipsim входят в Python-дистрибутив сервера: '
      + 'в копии репозитория ipsim выполните',
    devKeyNote: 'Если сервер требует API-ключи, задайте переменную IPSIM_API_KEY: SDK и утилита '
      + 'передадут её сами; для curl добавьте -H "Authorization: Bearer $IPSIM_API_KEY".',
    devExamples: 'Примеры для этого сервера',
    devExamplesText: 'Подставлены адрес этого сервера ({origin}) и его коллекция «{collection}».',
    devCurl: 'curl (HTTP API)',
    devPython: 'Python SDK (HTTP)',
    devGrpc: 'Python SDK (gRPC)',
    devGrpcNote: 'Адрес gRPC задаётся параметром сервера --grpc (по умолчанию порт 50051), это не '
      + 'веб-порт.',
    devCli: 'Командная строка',
    devCopy: 'Копировать',
    devCopyLabel: 'Скопировать пример: {name}',
    devCopied: 'Скопировано.',
    devCopyFailed: 'Не удалось скопировать: выделите текст и скопируйте вручную.',
    devProto: 'Контракт gRPC (proto)',
    devProtoText: 'Описание сервиса ipsim.v1; клиент на любом языке генерируется утилитой protoc.',
    devDownload: 'Скачать search.proto',
  },
});

const QUERY = 'battery cooling plate';

/** The examples, as text, for `origin` and a text collection `name`. */
export function examples(origin, name) {
  const host = location.hostname.includes(':') ? `[${location.hostname}]` : location.hostname;
  const body = JSON.stringify({ query: { text: QUERY }, k: 5 });
  return [
    ['curl', 'devCurl', `curl -s -X POST '${origin}/v1/collections/${name}/search' \\\n`
      + `  -H 'Content-Type: application/json' \\\n  -d '${body}'`],
    ['python', 'devPython', [
      'from ipsim.clients import Client',
      '',
      `with Client(${JSON.stringify(origin)}) as client:`,
      `    answer = client.search(${JSON.stringify(name)}, {"text": ${JSON.stringify(QUERY)}}, k=5)`,
      '    for hit in answer["hits"]:',
      '        print(hit["id"], round(hit["score"], 3))',
      '    print(answer["total"], "documents match")',
    ].join('\n')],
    ['grpc', 'devGrpc', [
      'from ipsim.clients import GrpcClient',
      '',
      `with GrpcClient(${JSON.stringify(`${host}:50051`)}) as client:`,
      `    answer = client.search(${JSON.stringify(name)}, {"text": ${JSON.stringify(QUERY)}}, k=5)`,
      '    for hit in answer["hits"]:',
      '        print(hit["id"], round(hit["score"], 3))',
    ].join('\n')],
    ['cli', 'devCli', `ipsim --url ${origin} search ${name} --text "${QUERY}" -k 5`],
  ];
}

async function copy(text, note) {
  try {
    await navigator.clipboard.writeText(text);
    note.textContent = t('devCopied');
  } catch (_) {
    note.textContent = t('devCopyFailed');
  }
}

function example(id, titleKey, text) {
  const note = el('span', { class: 'dev-copy-note', role: 'status', 'aria-live': 'polite' });
  return el('div', { class: 'dev-example', 'data-example': id },
    el('div', { class: 'dev-example-head' },
      el('h3', { id: `dev-${id}-title`, text: t(titleKey) }),
      el('button', {
        type: 'button', class: 'dev-copy', 'data-copy': id,
        'aria-label': t('devCopyLabel', { name: t(titleKey) }),
        onclick: () => copy(text, note),
      }, t('devCopy')),
      note),
    el('pre', { id: `dev-example-${id}`, tabindex: '0', 'aria-labelledby': `dev-${id}-title` },
      el('code', { text })));
}

async function render(view) {
  const origin = location.origin;
  const exampleBox = el('div', { id: 'dev-examples', 'aria-live': 'polite' });
  const proto = el('pre', { id: 'dev-proto', class: 'dev-proto', tabindex: '0', 'aria-label': 'search.proto' });
  const install = 'python -m pip install .';
  view.replaceChildren(section('developersTitle',
    el('p', { class: 'lead', text: t('devLead') }),
    el('h2', { text: t('devExplorer') }),
    el('p', { text: t('devExplorerText') }),
    el('p', { class: 'dev-links' },
      el('a', { id: 'dev-docs-link', href: '/docs', text: t('devOpenExplorer') }),
      el('a', { href: '/openapi.json', text: t('devOpenapi') })),
    el('h2', { text: t('devInstall') }),
    el('p', { text: t('devInstallText') }),
    example('install', 'devInstall', install),
    el('p', { class: 'help', text: t('devKeyNote') }),
    el('h2', { text: t('devExamples') }),
    exampleBox,
    el('h2', { text: t('devProto') }),
    el('p', { text: t('devProtoText') }),
    el('p', {}, el('a', {
      id: 'dev-proto-download', href: '/v1/proto/search.proto', download: 'search.proto', text: t('devDownload'),
    })),
    proto));
  // the install block reuses the example layout; its heading would repeat the h2
  view.querySelector('[data-example="install"] h3').classList.add('visually-hidden');
  try {
    const names = await collectionsOf('text', ['patents']);
    const name = names[0] || 'patents';
    exampleBox.replaceChildren(
      el('p', { text: t('devExamplesText', { origin, collection: name }) }),
      ...examples(origin, name).map(([id, key, text]) => example(id, key, text)),
      el('p', { class: 'help', text: t('devGrpcNote') }),
    );
    proto.textContent = await api('/v1/proto/search.proto', { as: 'text' });
  } catch (err) {
    showError(null, err);
  }
}

export default { id: 'developers', title: 'developersTitle', render };
