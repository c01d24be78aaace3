// UI text in English and Japanese. The locale comes from the `lang` cookie
// (set by the switch in the header), else from Accept-Language.

export const LOCALES = ['en', 'ja'] as const;
export type Locale = (typeof LOCALES)[number];

const en = {
  title: 'Mail Worker',
  tagline: 'Bulk test mails through BullMQ queues',
  servedBy: 'Served by pod {pod}, version {version}',
  language: 'Language',
  recipients: 'Recipients',
  recipientsCount: '{count} stored',
  name: 'Name',
  email: 'Email',
  add: 'Add recipient',
  importCsv: 'Import CSV',
  csvFile: 'CSV file (header row with name and email)',
  upload: 'Import',
  uploading: 'Uploading… {percent}%',
  processing: 'Storing rows…',
  search: 'Search',
  searchPlaceholder: 'name or email',
  created: 'Added',
  actions: 'Actions',
  delete: 'Delete',
  deleteLabel: 'Delete {email}',
  noRecipients: 'No recipients yet. Add one, or import a CSV file.',
  previous: 'Previous',
  next: 'Next',
  pageOf: 'Page {page} of {pages}',
  bulkSend: 'Bulk send',
  bulkSendHelp: 'Sends test mails to randomly chosen recipients through the queue.',
  customCount: 'Custom count',
  failureRate: 'Simulated failure rate (0 to 1)',
  send: 'Send {count}',
  sendCustom: 'Send',
  bulkSendOff: 'Bulk sending is switched off by the feature flag bulk_send_feature.',
  runs: 'Send runs',
  noRuns: 'No send runs yet.',
  run: 'Run #{id}',
  status: 'Status',
  progress: 'Progress',
  sent: 'Sent',
  failed: 'Failed',
  retried: 'Retried',
  retriedHint: 'attempts that failed and were tried again',
  total: 'Total',
  enqueued: 'Enqueued',
  queue: 'Queue',
  createdAt: 'Started',
  finishedAt: 'Finished',
  resume: 'Resume enqueue',
  details: 'Details',
  failures: 'Failures',
  noFailures: 'No failed deliveries.',
  attempts: 'Attempts',
  reason: 'Reason',
  'status.queued': 'queued',
  'status.sending': 'sending',
  'status.completed': 'completed',
  'status.completed_with_failures': 'completed with failures',
  links: 'Tools',
  queuesLink: 'Queues (bull-board)',
  apiLink: 'API',
  mailLink: 'Mail catcher',
  unleashLink: 'Unleash',
  flags: 'Feature flags',
  flagBulkSend: 'bulk_send_feature',
  flagStrategy: 'send_strategy',
  on: 'on',
  off: 'off',
  source: 'source: {source}',
  flagsWarning: 'Flags: {warning}',
  notice: 'Notice',
  'notice.added': 'Recipient added.',
  'notice.deleted': 'Recipient deleted.',
  'notice.started': 'Send run #{id} started.',
  'notice.resumed': 'Send run #{id} resumed.',
  'notice.cleared': 'Mail catcher cleared.',
  imported: 'Imported {imported}, skipped {duplicates} duplicates, {invalid} invalid rows.',
  invalidRows: 'Invalid rows',
  line: 'Line',
  error: 'Something went wrong',
  back: 'Back to the dashboard',
  caughtMail: 'Caught mail',
  received: '{count} received (the newest {kept} kept)',
  clear: 'Clear all',
  noMail: 'No mail caught yet.',
  subject: 'Subject',
  to: 'To',
  from: 'From',
  receivedAt: 'Received',
  notFound: 'Not found',
  versions: 'Versions',
  versionsHelp:
    'Which version of the web answers: the last 100 answers, polled five times a second. During a canary the share follows the weights.',
  versionsNoScript: 'This page needs JavaScript; /api/version answers one poll.',
  versionsShare: 'Share of the last 100 answers',
  version: 'Version',
  share: 'Share',
  pods: 'Pods',
};

type Key = keyof typeof en;

const ja: Record<Key, string> = {
  title: 'メールワーカー',
  tagline: 'BullMQ キュー経由でテストメールを一斉送信',
  servedBy: 'ポッド {pod}・バージョン {version} が応答',
  language: '言語',
  recipients: '宛先',
  recipientsCount: '{count} 件',
  name: '名前',
  email: 'メールアドレス',
  add: '宛先を追加',
  importCsv: 'CSV インポート',
  csvFile: 'CSV ファイル（name と email のヘッダー行）',
  upload: 'インポート',
  uploading: 'アップロード中… {percent}%',
  processing: '保存中…',
  search: '検索',
  searchPlaceholder: '名前またはメールアドレス',
  created: '追加日時',
  actions: '操作',
  delete: '削除',
  deleteLabel: '{email} を削除',
  noRecipients: '宛先はまだありません。追加するか CSV をインポートしてください。',
  previous: '前へ',
  next: '次へ',
  pageOf: '{page} / {pages} ページ',
  bulkSend: '一斉送信',
  bulkSendHelp: 'ランダムに選んだ宛先へキュー経由でテストメールを送ります。',
  customCount: '件数を指定',
  failureRate: '疑似失敗率（0〜1）',
  send: '{count} 件送信',
  sendCustom: '送信',
  bulkSendOff: 'フィーチャーフラグ bulk_send_feature により一斉送信は停止中です。',
  runs: '送信ラン',
  noRuns: '送信ランはまだありません。',
  run: 'ラン #{id}',
  status: '状態',
  progress: '進捗',
  sent: '送信済み',
  failed: '失敗',
  retried: '再試行',
  retriedHint: '失敗して再び試された試行の数',
  total: '合計',
  enqueued: 'キュー投入済み',
  queue: 'キュー',
  createdAt: '開始',
  finishedAt: '完了',
  resume: 'キュー投入を再開',
  details: '詳細',
  failures: '失敗一覧',
  noFailures: '失敗した配信はありません。',
  attempts: '試行回数',
  reason: '理由',
  'status.queued': '待機中',
  'status.sending': '送信中',
  'status.completed': '完了',
  'status.completed_with_failures': '完了（失敗あり）',
  links: 'ツール',
  queuesLink: 'キュー（bull-board）',
  apiLink: 'API',
  mailLink: 'メールキャッチャー',
  unleashLink: 'Unleash',
  flags: 'フィーチャーフラグ',
  flagBulkSend: 'bulk_send_feature',
  flagStrategy: 'send_strategy',
  on: 'オン',
  off: 'オフ',
  source: '取得元: {source}',
  flagsWarning: 'フラグ: {warning}',
  notice: 'お知らせ',
  'notice.added': '宛先を追加しました。',
  'notice.deleted': '宛先を削除しました。',
  'notice.started': '送信ラン #{id} を開始しました。',
  'notice.resumed': '送信ラン #{id} を再開しました。',
  'notice.cleared': 'メールキャッチャーを空にしました。',
  imported: '{imported} 件を取り込み、重複 {duplicates} 件と不正な行 {invalid} 件をスキップしました。',
  invalidRows: '不正な行',
  line: '行',
  error: 'エラーが発生しました',
  back: 'ダッシュボードへ戻る',
  caughtMail: '受信メール',
  received: '{count} 件受信（新しい {kept} 件を保持）',
  clear: 'すべて削除',
  noMail: 'まだメールはありません。',
  subject: '件名',
  to: '宛先',
  from: '差出人',
  receivedAt: '受信日時',
  notFound: '見つかりません',
  versions: 'バージョン',
  versionsHelp: 'どのバージョンの web が応答しているか（直近 100 件、毎秒 5 回取得）。カナリア中はウェイトに従って割合が変わります。',
  versionsNoScript: 'このページには JavaScript が必要です。/api/version は 1 回分の応答を返します。',
  versionsShare: '直近 100 件の応答の割合',
  version: 'バージョン',
  share: '割合',
  pods: 'ポッド',
};

const dictionaries: Record<Locale, Record<Key, string>> = { en, ja };

export type Translate = (key: string, values?: Record<string, string | number>) => string;

type Fill = (values?: Record<string, string | number>) => string;

/**
 * A text made ready to fill once: split at its {placeholders}, so a page's
 * hundred or more calls only join strings. Texts without placeholders are
 * answered as they are.
 */
function filler(text: string): Fill {
  const parts = text.split(/\{(\w+)\}/); // literal, name, literal, name, …, literal
  if (parts.length === 1) return () => text;
  return (values = {}) => parts.map((part, i) => (i % 2 === 0 ? part : String(values[part] ?? `{${part}}`))).join('');
}

// One translator per language, made once.
const translators = Object.fromEntries(
  LOCALES.map((locale) => {
    const fills = new Map<string, Fill>();
    for (const [key, text] of Object.entries({ ...en, ...dictionaries[locale] })) fills.set(key, filler(text));
    return [locale, (key: string, values?: Record<string, string | number>) => (fills.get(key) ?? filler(key))(values)];
  }),
) as Record<Locale, Translate>;

export function translator(locale: Locale): Translate {
  return translators[locale];
}

export function isLocale(value: unknown): value is Locale {
  return (LOCALES as readonly unknown[]).includes(value);
}

/** The cookie's choice, else the first supported language of Accept-Language. */
/** The language the `lang` cookie chose, else the one negotiated from Accept-Language, else English. */
export function pickLocale(cookie: string | undefined, negotiated: string | false | undefined): Locale {
  if (isLocale(cookie)) return cookie;
  return isLocale(negotiated) ? negotiated : 'en';
}
